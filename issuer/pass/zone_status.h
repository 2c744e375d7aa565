// One zone as status shows it and a pass decides on it: its current
// certificate(s), their state and renewal time (ARI window or
// renew-before), and the zone's next attempt, computed from the certificate
// store, the zone's state file (zone_state.h) and the configuration.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/dns_name.h"
#include "issuer/certs/cert_check.h"
#include "issuer/certs/cert_key.h"
#include "issuer/cli/issuer_config.h"
#include "issuer/pass/schedule.h"
#include "issuer/pass/zone_state.h"

namespace acmezone::issuer {

// The zone's certificate: valid, due for renewal, expired, missing, or
// invalid (names that do not match, a store that cannot be read).
enum class CertState { valid, due, expired, missing, invalid };
std::string_view to_string(CertState s);  // "valid", "due", ...

struct ZoneStatus {
    DnsName zone;
    std::optional<CertInfo> cert;
    CertState state = CertState::missing;
    std::string problem;     // why "invalid"
    ZoneState saved;         // <state-dir>/zones/<zone>.json
    CurrentSummary current;  // the current certificates, as read now (cert_summary.h)
    // Each current certificate (one per key type): its renewal time is the
    // ARI window's pick when the CA offered one for it, else renew-before;
    // the zone's renew_at is the earliest of them (most urgent wins).
    struct Certificate {
        KeyType key_type = KeyType::ecdsa_p256;
        std::string cert_id;  // ARI certID (ari.h); "" when it cannot be made
        SysTime not_after{};
        std::optional<SysTime> renew_at;
        std::string renew_basis;  // "renew-before" or "ARI window"
    };
    std::vector<Certificate> certs;
    std::optional<SysTime> renew_at;  // the certificate's renewal time (ARI or renew-before)
    std::string renew_basis;          // "renew-before" or "ARI window"
    SysTime next_attempt;             // when a pass next does something for the zone
    std::string next_action;          // "issue", "renew", "resume" or "retry"

    bool needs_issuing() const { return state != CertState::valid; }
    // The CA whose renewal windows (ARI) count for the current certificate,
    // and which is asked for them: the fallback or the standby CA (a zone
    // switched to it) when the state records it issued the certificate, else
    // the first CA (also for a certificate from a directory no longer
    // configured: the first CA is asked, as it always was).
    const std::string& issuing_ca(const IssuerConfig& config) const {
        if (!saved.ca.empty() && ((config.fallback && saved.ca == config.fallback->directory) ||
                                  (config.standby && saved.ca == config.standby->directory))) {
            return saved.ca;
        }
        return config.directory;
    }
};

// Whether zone_status may write the zone's state file: to keep the summary
// of certificates it had to read (cert_summary.h), so that the next call
// need not. Only a caller that may write the zone's state (a pass, under its
// lock, from the thread working on the zone) keeps it; `status` reads only.
enum class SummaryUse { read_only, read_and_keep };

// `zone` as it stands at `now`.
ZoneStatus zone_status(const IssuerConfig& config, const DnsName& zone, SysTime now,
                       SummaryUse use = SummaryUse::read_only);

}  // namespace acmezone::issuer
