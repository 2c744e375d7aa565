// When each zone is next worth an attempt: pure arithmetic over times (the
// clock is always a parameter), so that it is unit-tested with any clock.
//
// Renewal time of a certificate, without ARI:
//
//     renew_at = notAfter - before - spread * zone_fraction(zone)
//
//   before   [certs] renew-before: a fraction of the lifetime ("1/3", "0.25")
//            or a fixed time ("30d", "36h"); default 1/3, so a 90-day
//            certificate at 30 days left, a 6-day one at 2. A fixed time is
//            capped at half the lifetime, so a short-lived certificate is
//            never due from its first day on.
//   spread   [certs] renew-spread, same syntax; default 1/20 (4.5 days of a
//            90-day certificate); capped at a quarter of the lifetime.
//   zone_fraction(zone) in [0, 1): a hash of the zone's name. Fixed per zone
//            (every run, a daemon and its restarts agree), different between
//            zones, so certificates issued in one batch come due spread over
//            `spread`, not as one morning batch. `before` is thus the least
//            time left when a renewal starts.
//
// ARI (RFC 9773): when the CA offers a suggestedWindow, the renewal time is a
// random time within it, picked once per window (kept in the zone's state);
// it wins over renew-before, earlier or later.
//
// Backoff: after n consecutive failures the next attempt is not before the
// last attempt + retry_delay(n) = retry-min * 2^(n-1), capped at retry-max,
// then shortened by up to a fifth at random (so failing zones do not retry in
// step); defaults 5 min and 6 h. A failing zone never delays another.
//
// A zone's next attempt is the later of the time it is wanted (now when its
// certificate is missing, expired or unusable; else renew_at) and the
// backoff's earliest retry. Within a pass, zones go most urgent first:
// missing or unusable ones, then by notAfter, earliest first.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "common/dns_name.h"
#include "common/utc_time.h"

namespace acmezone::issuer {

// A part of a certificate's lifetime: a fraction of it, or a fixed time.
struct LifetimePart {
    bool is_fraction = true;
    double fraction = 0;            // when is_fraction
    std::chrono::seconds fixed{0};  // otherwise

    // "1/3", "0.25", "0" (fractions, 0 <= f < 1), "30d", "36h", "90m" (fixed);
    // nullopt with `*error` set for anything else.
    static std::optional<LifetimePart> parse(std::string_view text, std::string* error);
    std::string text() const;
    // This part of `lifetime`, a fixed time capped at lifetime * cap.
    std::chrono::seconds of(std::chrono::seconds lifetime, double cap) const;
};

struct ScheduleSettings {
    LifetimePart renew_before{true, 1.0 / 3, std::chrono::seconds(0)};
    LifetimePart renew_spread{true, 1.0 / 20, std::chrono::seconds(0)};
    std::chrono::seconds retry_min{300};
    std::chrono::seconds retry_max{6 * 3600};
};

// The zone's fixed place in the spread, in [0, 1) (FNV-1a of its name).
double zone_fraction(const DnsName& zone);

// renew_at as above, for a certificate valid from `not_before` to `not_after`.
SysTime renewal_time(const DnsName& zone, SysTime not_before, SysTime not_after,
                     const ScheduleSettings& s);

// The backoff after `failures` (>= 1) consecutive failures; `jitter` in
// [0, 1) (0: the full delay, towards 1: a fifth shorter).
std::chrono::seconds retry_delay(unsigned failures, double jitter, const ScheduleSettings& s);

// A time within an ARI window [start, end], `u` in [0, 1); `start` when the
// window is empty or inverted.
SysTime pick_in_window(SysTime start, SysTime end, double u);

// A uniformly random number in [0, 1) (for jitter and ARI picks).
double random_unit();

}  // namespace acmezone::issuer
