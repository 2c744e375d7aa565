// staging: a new version is served only stage_for after it was written; the
// first at once; with stage_for 0 always the newest.
#include <gtest/gtest.h>

#include "issuer/serve/staging.h"

using namespace acmezone::issuer;
using namespace std::chrono_literals;

namespace {
const auto kT0 = std::chrono::system_clock::time_point(std::chrono::seconds(1'800'000'000));
}

TEST(Staging, WithoutStagingTheNewestIsServed) {
    EXPECT_EQ(version_to_serve({3, kT0}, 2ul, 0s, kT0), 3u);
}

TEST(Staging, ANewVersionWaitsItsTime) {
    EXPECT_EQ(version_to_serve({3, kT0}, 2ul, 3600s, kT0), 2u);
    EXPECT_EQ(version_to_serve({3, kT0}, 2ul, 3600s, kT0 + 3599s), 2u);
    EXPECT_EQ(version_to_serve({3, kT0}, 2ul, 3600s, kT0 + 3600s), 3u);
    EXPECT_EQ(version_to_serve({3, kT0}, 2ul, 3600s, kT0 + 86400s), 3u);
    EXPECT_EQ(staged_until({3, kT0}, 3600s), kT0 + 3600s);
}

TEST(Staging, TheFirstVersionIsServedAtOnce) {
    EXPECT_EQ(version_to_serve({1, kT0}, std::nullopt, 3600s, kT0), 1u);
}

TEST(Staging, AVersionWrittenInTheFutureWaitsToo) {
    // A clock stepped back: still staged, not served early.
    EXPECT_EQ(version_to_serve({3, kT0 + 60s}, 2ul, 10s, kT0), 2u);
}
