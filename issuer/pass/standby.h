// The standby set: with [acme] standby-directory, every zone also holds a
// certificate set from that second CA, stored beside the live set in the
// same version layout (certs/cert_store.h: the `standby` link), so that
// `switch` can make it live with one rename when the live CA is distrusted,
// revokes in bulk or is down, without asking any CA.
//
// After each pass (run and the daemon's; `issue` does not), the standby
// step looks at every configured zone that has a live set:
//   wanted   now when the zone has no standby set, or it lacks a configured
//            key type, or does not parse, or it is the set that was live
//            until a switch (StandbyState::switched_at); else at its renewal time: the
//            earliest notAfter of the set less [acme] standby-renew-before
//            (default [certs] renew-before) and the zone's spread, as
//            schedule.h computes for the live set; or, with [certs] ari on
//            and a window (ARI) for every certificate of the set from the CA
//            that issued it, the earliest time picked in those windows;
//   attempted when wanted and its own backoff (StandbyState in zone_state.h,
//            apart from the live set's) has passed.
// Each attempt is a full issuance (issuance.h) with the session of the CA the
// zone's standby set comes from (ca/ca_session.h zone_ca_roles): the standby
// CA's own (its account key account-standby.key, EAB, rate budget), or, for a
// zone switched to the standby CA, the first CA's (which may fall over to the
// fallback as ca_failover.h says); the same publisher and the checks before
// ordering against that CA's CAA identities; every configured key type, for the zone's
// next key with [certs] next-key = yes (the next key stays the next key), else
// a fresh key. It is stored with store_standby(): `current`, the names
// servers read, the deploy hook and the served set do not change. The
// order in flight is recorded (StandbyState::order) before its values are
// published, and a crash's values are removed by the next pass's recovery.
// Renewal information: before choosing, with [certs] ari on, the step asks
// the CA that issued each zone's standby set (StandbyState::ca: the standby
// CA, or after a switch the first CA; a set from any other CA, such as the
// fallback, is left to standby-renew-before) for the windows of its
// certificates whose answer is stale (none, from another CA, or past its
// Retry-After), with the live set's code (pass.h refresh_ari_entries), and
// keeps them in StandbyState::ari, cleared when a new standby set is stored
// or by a switch. A CA without renewalInfo is asked again in a day; a
// failing request (the CA unreachable, an error answer) is logged and asked
// again in an hour, and never fails the step: standby-renew-before decides
// meanwhile. The log's "standby set due by its ARI window" or "... by its
// renew-before" and status --json's standby.renew_basis say which decided.
// A failure is logged with the zone and backs off as the live set would
// (retry-min doubling to retry-max); the CA unreachable fails every zone due
// from it with why.
//
// `switch ZONE... | --all` (runner.h) makes the standby set live, asking no
// CA: switch_zone() below, then the deploy hook. The set that was live
// becomes the standby set, so the zone still has one, from the CA that was
// live, until the next pass orders a new one from that CA (a CA distrusted or
// revoking in bulk may have revoked the old set). The zone's state records the live set's CA, and
// the roles follow it (zone_ca_roles): a switched zone's live set is renewed from the standby CA
// (its session: account-standby.key, EAB, rate budget) and its next standby
// set is ordered from the first CA; switching it back restores the roles.
// The configuration stays as it is.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "common/dns_name.h"
#include "common/utc_time.h"
#include "issuer/certs/cert_store.h"
#include "issuer/cli/issuer_config.h"
#include "issuer/pass/zone_state.h"

namespace acmezone::issuer {

// One zone's standby set as status and the step see it.
struct StandbyView {
    bool present = false;               // a complete standby set of every configured type
    std::string problem;                // why not present: "missing", "no rsa-2048", ...
    std::optional<SysTime> not_after;   // the set's earliest, when there is one
    std::vector<KeyType> types;         // of the stored set
    std::string ca;                     // the CA that issued it (zone state), "" unknown
    SysTime wanted_at{};                // now when !present, else its renewal time
    std::string renew_basis;            // "renew-before" or "ARI window" (when present)
    std::vector<std::string> cert_ids;  // ARI certIDs of the stored set's ("" none or ari off)
};

// Never throws: a standby set that cannot be read is "not present" with why.
StandbyView standby_view(const IssuerConfig& config, const CertStore& store, const DnsName& zone,
                         const ZoneState& saved, SysTime now);

struct StandbyReport {
    std::size_t attempted = 0;
    std::size_t issued = 0;
    std::size_t failed = 0;
};

// The step after a pass (the caller holds the state lock); nothing when
// config.standby is not set.
StandbyReport run_standby_step(const IssuerConfig& config, SysTime now);

// One zone's switch (the caller holds the state lock): the store's one
// rename (CertStore::switch_to_standby), then the zone's state (the live and
// standby CAs swapped, the renewal windows and the summary of the old live
// set dropped, the standby backoff reset, the standby set marked to be
// replaced) and, with next-key = yes, a new
// next key of each type whose next key is now live. Returns what it did, for
// the log; throws std::runtime_error naming the zone when it has no standby
// set (nothing changed).
std::string switch_zone(const IssuerConfig& config, const DnsName& zone);

}  // namespace acmezone::issuer
