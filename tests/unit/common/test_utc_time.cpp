// utc_time: the one conversion of outside times to SysTime clamps to
// 1970..2200 (system_clock's nanoseconds end in 2262), whatever the input says.
#include "common/utc_time.h"

#include <gtest/gtest.h>

#include <limits>

namespace acmezone {
namespace {

const SysTime kLatest = SysTime(std::chrono::seconds(kLatestUnixSeconds));

TEST(UtcTimeClamp, UnixSecondsAreClampedTo1970Until2200) {
    EXPECT_EQ(format_utc(kLatest), "2200-01-01T00:00:00Z");
    EXPECT_EQ(from_unix_seconds(1'800'000'000), SysTime(std::chrono::seconds(1'800'000'000)));
    EXPECT_EQ(from_unix_seconds(std::numeric_limits<std::int64_t>::max()), kLatest);
    EXPECT_EQ(from_unix_seconds(kLatestUnixSeconds + 1), kLatest);
    EXPECT_EQ(from_unix_seconds(std::numeric_limits<std::int64_t>::min()), SysTime{});
    EXPECT_EQ(from_unix_seconds(-1), SysTime{});
    EXPECT_EQ(to_unix_seconds(from_unix_seconds(1'800'000'000)), 1'800'000'000);
    EXPECT_EQ(to_unix_seconds(from_unix_seconds(std::numeric_limits<std::int64_t>::max())),
              kLatestUnixSeconds);
}

TEST(UtcTimeClamp, FarFutureTextIsClampedNotOverflowed) {
    // 9999-12-31 is 253402300799 s: in nanoseconds that overflows 64 bits
    // (UBSan: signed integer overflow in std::chrono) without the clamp.
    EXPECT_EQ(parse_utc("9999-12-31T23:59:59Z"), kLatest);
    EXPECT_EQ(parse_utc("2262-04-12T00:00:00Z"), kLatest);
    EXPECT_EQ(parse_utc("2199-12-31T23:59:59Z"), kLatest - std::chrono::seconds(1));
    // Differences and a margin on top stay representable.
    const SysTime far = *parse_utc("9999-12-31T23:59:59Z");
    EXPECT_EQ(far - *parse_utc("1970-01-01T00:00:00Z"), std::chrono::seconds(kLatestUnixSeconds));
    EXPECT_EQ(format_utc(far + std::chrono::hours(24 * 365 * 50)), "2249-12-20T00:00:00Z");
}

}  // namespace
}  // namespace acmezone
