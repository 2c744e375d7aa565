// DNS RCODE values (RFC 1035, RFC 2136) as the plugin's store, decoder and
// control socket pass them around.
#pragma once

#include <cstdint>

namespace acmezone {

inline constexpr std::uint8_t kRcodeNoError = 0;
inline constexpr std::uint8_t kRcodeFormErr = 1;
inline constexpr std::uint8_t kRcodeServFail = 2;
inline constexpr std::uint8_t kRcodeNxDomain = 3;
inline constexpr std::uint8_t kRcodeNotImp = 4;
inline constexpr std::uint8_t kRcodeRefused = 5;
inline constexpr std::uint8_t kRcodeYxDomain = 6;
inline constexpr std::uint8_t kRcodeYxRrset = 7;
inline constexpr std::uint8_t kRcodeNxRrset = 8;
inline constexpr std::uint8_t kRcodeNotAuth = 9;
inline constexpr std::uint8_t kRcodeNotZone = 10;

}  // namespace acmezone
