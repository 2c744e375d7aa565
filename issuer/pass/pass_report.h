// What one pass did: every configured zone as it stood before the pass, and
// how each zone attempted in it ended. Read by outputs/ (notify hooks,
// metrics) and by the exit code; defined apart from runner.h so that
// outputs/ can include it without including the runner that calls them.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "common/dns_name.h"
#include "issuer/certs/cert_check.h"
#include "issuer/pass/schedule.h"
#include "issuer/pass/zone_status.h"

namespace acmezone::issuer {

// How one zone's part of a pass ended.
struct ZoneOutcome {
    enum class Result { issued, failed, deferred, interrupted, not_started };
    DnsName zone;
    Result result = Result::not_started;
    std::string message;           // the error, the deferral's reason
    std::optional<CertInfo> cert;  // the new certificate, when issued
};

struct PassReport {
    SysTime started;
    SysTime finished;
    std::vector<ZoneStatus> considered;  // every configured zone, before the pass
    std::vector<ZoneOutcome> outcomes;   // the zones attempted, in order
    // Outcomes that count as failed: failed, interrupted, not started.
    std::size_t failed() const;
};

}  // namespace acmezone::issuer
