// Times as the issuer writes them in state files and status: ISO 8601 UTC to
// the second, "2026-11-25T14:47:04Z".
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace acmezone {

using SysTime = std::chrono::system_clock::time_point;

std::string format_utc(std::chrono::system_clock::time_point t);

// Parses exactly "YYYY-MM-DDTHH:MM:SSZ" (fractions of a second, as RFC 3339
// allows and CAs send, are accepted and dropped); nullopt for anything else.
std::optional<std::chrono::system_clock::time_point> parse_utc(std::string_view text);

// "3 h 20 min", "45 s", "2 d 4 h": a duration for a log line.
std::string format_duration(std::chrono::seconds d);

}  // namespace acmezone
