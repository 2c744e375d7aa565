// The CA one pass talks to: the first ([acme] directory) or, as
// ca_failover.h decides, the fallback; with its own account key, HTTPS
// client, AcmeClient (account ready) and rate budget (rate_budget.h). It is
// the one place a pass asks anything of "the CA": orders (acme()), the
// budget, the CAA identities its pre-order checks match (caa_identities()),
// and the renewal information (ARI) of the certificates it issued.
//
//   first CA answers (directory + account)      -> the first CA
//   first CA fails, no fallback configured      -> unavailable (the first's error)
//   first CA fails, failing < fallback-after    -> unavailable, saying when the
//                                                  fallback will be used
//   first CA fails, failing >= fallback-after   -> the fallback, logged as a warning:
//     "CA <first> failing since <T> (<error>); using the fallback CA <second>"
//   the fallback fails too                      -> unavailable, naming both
// ("unavailable": unavailable() says why, and acme() must not be used; the
// runner fails each zone with it.)
//
// Each CA has its own account key: account.key for the first,
// account-fallback.key for the fallback, account-standby.key for the standby
// CA (created 0600 on first use). The standby CA ([acme] standby-directory,
// pass/standby.h) has a session of its own (open_standby_ca_session), never
// the failover's.
//
// `check` opens a session only to look (open_ca_session_to_look): the CA the
// last pass used (the fallback while the first is failing), its directory
// read for the CAA identities; no account is made and nothing recorded.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "issuer/acme/account_key.h"
#include "issuer/acme/acme_client.h"
#include "issuer/acme/http_client.h"
#include "issuer/ca/rate_budget.h"
#include "issuer/cli/issuer_config.h"

namespace acmezone::issuer {

// An interface, so that a unit test can drive a pass against a fake CA.
// Thread-safe: a pass's worker threads share one session.
class CaSession {
  public:
    virtual ~CaSession() = default;

    // The CA's directory URL (when unavailable: the first CA's).
    virtual const std::string& directory() const = 0;
    virtual bool fallback() const = 0;
    // Non-empty: no CA can be used, and why.
    virtual const std::string& unavailable() const = 0;
    bool available() const { return unavailable().empty(); }

    // The ACME client, account ready; only while available(), and not for a
    // session opened to look (std::logic_error).
    virtual AcmeClient& acme() = 0;
    // The CA's rate budget; nullptr when the session is only looking.
    virtual RateBudget* budget() = 0;
    // The identities its CAA records must allow: for the first CA, [acme]
    // caa-identity when given; else the CA's directory's meta.caaIdentities,
    // read once per session (empty, with a warning logged, when the directory
    // cannot be read or lists none).
    virtual std::vector<std::string> caa_identities() = 0;
    // Whether the CA's directory has "renewalInfo" (ARI, ari.h); throws when
    // the directory cannot be read.
    virtual bool offers_renewal_info() = 0;
    virtual AcmeClient::RenewalInfoReply renewal_info(const std::string& cert_id) = 0;
    virtual HttpStats http_stats() const = 0;
};

// Which of the configured CAs.
enum class CaRole { first, fallback, standby };

// Which CA renews a zone's live set and which orders its standby set
// (pass/standby.h), from the directory of the CA that issued the live set
// (ZoneState::ca, "" unknown):
//   the standby CA's directory (the zone was switched)
//                          -> live: standby; standby: first
//   anything else          -> live: first;   standby: standby
// "first" is the first CA, or the fallback as ca_failover.h decides: the
// failover is about the first CA only, so a switched zone's live set never
// falls over (switch it back), while its standby set, ordered from the first
// CA, may come from the fallback. A recorded CA that is no longer configured
// (not directory, fallback- or standby-directory) is renewed from the first
// CA, and `note` says so for the log. Without standby-directory, the standby
// role is unused.
struct ZoneCaRoles {
    CaRole live = CaRole::first;
    CaRole standby = CaRole::standby;
    std::string note;  // "" unless live_ca is not a configured CA
};
ZoneCaRoles zone_ca_roles(const IssuerConfig& config, const std::string& live_ca);
// The directory a role's session asks first: [acme] directory,
// fallback-directory or standby-directory ("" when that one is not configured).
const std::string& role_directory(const IssuerConfig& config, CaRole role);

// The HTTPS and ACME settings [acme] gives for the first CA (or another: its
// directory, ca-file and EAB key), the one place every command that talks to
// a CA takes them from. `role` must be configured.
// acme_settings throws what loading the EAB key file throws.
HttpSettings http_settings(const IssuerConfig& config, CaRole role = CaRole::first);
AcmeSettings acme_settings(const IssuerConfig& config, CaRole role = CaRole::first);

// For a pass. Never null. Throws only what creating the first CA's account
// key throws.
std::unique_ptr<CaSession> open_ca_session(const IssuerConfig& config);
// For check: never null, never throws; no account key is made.
std::unique_ptr<CaSession> open_ca_session_to_look(const IssuerConfig& config);
// The standby CA's, for the standby step of a pass (config.standby must be
// set). Never null: when the CA does not answer, unavailable() says
// "standby CA <url>: <error>". Throws only what creating its account key throws.
std::unique_ptr<CaSession> open_standby_ca_session(const IssuerConfig& config);
// The session of `role`: open_ca_session for first, open_standby_ca_session
// for standby (fallback: std::logic_error; the first's session falls over).
std::unique_ptr<CaSession> open_ca_session_for(const IssuerConfig& config, CaRole role);

}  // namespace acmezone::issuer
