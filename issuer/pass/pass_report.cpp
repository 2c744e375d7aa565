// See pass_report.h.
#include "issuer/pass/pass_report.h"

#include <algorithm>

namespace acmezone::issuer {

std::size_t PassReport::failed() const {
    return static_cast<std::size_t>(
        std::count_if(outcomes.begin(), outcomes.end(), [](const ZoneOutcome& o) {
            return o.result == ZoneOutcome::Result::failed ||
                   o.result == ZoneOutcome::Result::interrupted ||
                   o.result == ZoneOutcome::Result::not_started;
        }));
}

}  // namespace acmezone::issuer
