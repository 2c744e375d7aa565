// Base64 (RFC 4648 §4, padded) and base64url (§5, unpadded, as ACME uses it).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace acmezone {

std::string base64_encode(std::span<const std::uint8_t> data);
// Ignores ASCII white space; nullopt on any other invalid character or bad padding.
std::optional<std::vector<std::uint8_t>> base64_decode(std::string_view text);

std::string base64url_encode(std::span<const std::uint8_t> data);
std::string base64url_encode(std::string_view data);
// Accepts unpadded input only (as RFC 8555 requires); nullopt on invalid input.
std::optional<std::vector<std::uint8_t>> base64url_decode(std::string_view text);

}  // namespace acmezone
