// [serve] stage-for: which stored version a zone's fetchers get.
//
// A new version is served only once it is `stage_for` old (its `written`
// time, cert_store.h), so an operator can catch a bad certificate before the
// fleet takes it; meanwhile the version before it is served. A zone's first
// version, or one whose predecessor is gone, is served at once: there is
// nothing else to serve. The store keeps two versions, so when a second new
// version is written inside the staging time the one served until then is
// gone, and the older of the two new ones is served (the newest still waits).
#pragma once

#include <chrono>
#include <optional>

namespace acmezone::issuer {

struct StagedVersion {
    unsigned long number = 0;
    std::chrono::system_clock::time_point written;
};

// The version to serve: `current`, or `previous` while `current` is younger
// than `stage_for` at `now`.
unsigned long version_to_serve(const StagedVersion& current,
                               const std::optional<unsigned long>& previous,
                               std::chrono::seconds stage_for,
                               std::chrono::system_clock::time_point now);

// When `current` stops being staged (its written time + stage_for).
std::chrono::system_clock::time_point staged_until(const StagedVersion& current,
                                                   std::chrono::seconds stage_for);

}  // namespace acmezone::issuer
