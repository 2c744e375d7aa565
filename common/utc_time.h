// Times as the issuer writes them in state files and status: ISO 8601 UTC to
// the second, "2026-11-25T14:47:04Z".
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace acmezone {

using SysTime = std::chrono::system_clock::time_point;

// Every time the issuer reads from outside (a CA's answer, a certificate, a
// state file) becomes a SysTime here and nowhere else. system_clock counts
// nanoseconds in 64 bits (years 1677..2262), while such inputs may say 9999
// (RFC 5280's "no expiry", a CA's far-future ARI window) or any int64: they are
// clamped to 1970-01-01..2200-01-01, which also keeps the difference of any
// two of them, and a time plus a few centuries, representable.
inline constexpr std::int64_t kLatestUnixSeconds = 7258118400;  // 2200-01-01T00:00:00Z

// Seconds since 1970-01-01T00:00:00Z as a SysTime, clamped to 0..kLatestUnixSeconds.
SysTime from_unix_seconds(std::int64_t seconds);

// The inverse (whole seconds, rounded down); exact for every from_unix_seconds result.
std::int64_t to_unix_seconds(SysTime t);

std::string format_utc(std::chrono::system_clock::time_point t);

// Parses exactly "YYYY-MM-DDTHH:MM:SSZ" (fractions of a second, as RFC 3339
// allows and CAs send, are accepted and dropped), years 1970..9999, clamped as
// from_unix_seconds says; nullopt for anything else.
std::optional<std::chrono::system_clock::time_point> parse_utc(std::string_view text);

// "3 h 20 min", "45 s", "2 d 4 h": a duration for a log line.
std::string format_duration(std::chrono::seconds d);

}  // namespace acmezone
