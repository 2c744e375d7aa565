// See staging.h.
#include "issuer/serve/staging.h"

namespace acmezone::issuer {

std::chrono::system_clock::time_point staged_until(const StagedVersion& current,
                                                   std::chrono::seconds stage_for) {
    return current.written + stage_for;
}

unsigned long version_to_serve(const StagedVersion& current,
                               const std::optional<unsigned long>& previous,
                               std::chrono::seconds stage_for,
                               std::chrono::system_clock::time_point now) {
    if (!previous || stage_for.count() == 0 || now >= staged_until(current, stage_for)) {
        return current.number;
    }
    return *previous;
}

}  // namespace acmezone::issuer
