// Base64 and base64url, written out rather than borrowed.
//
// Design note. Both the plugin (TSIG secrets in BIND key files) and the
// issuer (JWS, key authorizations) need these, and neither OpenSSL's EVP
// encoder (line breaks, no url alphabet) nor ldns (no url alphabet) fits both.
// base64_decode is as lenient as BIND is with key files: white space anywhere
// is ignored and unused low bits of the last group are not checked; anything
// else (wrong alphabet, length not a multiple of four, '=' other than one or
// two at the very end) is invalid. base64url_decode takes the unpadded form
// only, as RFC 8555 §6.1 requires, and refuses white space and '='.
#include "common/base64.h"

#include <array>

namespace acmezone {
namespace {

constexpr char kStd[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
constexpr char kUrl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

std::string encode(std::span<const std::uint8_t> data, const char* alphabet, bool pad) {
    std::string out;
    out.reserve((data.size() + 2) / 3 * 4);
    std::size_t i = 0;
    for (; i + 3 <= data.size(); i += 3) {
        std::uint32_t v = (std::uint32_t{data[i]} << 16) | (std::uint32_t{data[i + 1]} << 8) |
                          std::uint32_t{data[i + 2]};
        out += alphabet[(v >> 18) & 63];
        out += alphabet[(v >> 12) & 63];
        out += alphabet[(v >> 6) & 63];
        out += alphabet[v & 63];
    }
    std::size_t rest = data.size() - i;
    if (rest == 1) {
        std::uint32_t v = std::uint32_t{data[i]} << 16;
        out += alphabet[(v >> 18) & 63];
        out += alphabet[(v >> 12) & 63];
        if (pad) {
            out += "==";
        }
    } else if (rest == 2) {
        std::uint32_t v = (std::uint32_t{data[i]} << 16) | (std::uint32_t{data[i + 1]} << 8);
        out += alphabet[(v >> 18) & 63];
        out += alphabet[(v >> 12) & 63];
        out += alphabet[(v >> 6) & 63];
        if (pad) {
            out += '=';
        }
    }
    return out;
}

using Table = std::array<std::int8_t, 256>;

constexpr Table make_table(const char* alphabet) {
    Table t{};
    for (auto& e : t) {
        e = -1;
    }
    for (int i = 0; i < 64; ++i) {
        t[static_cast<unsigned char>(alphabet[i])] = static_cast<std::int8_t>(i);
    }
    return t;
}

constexpr Table kStdTable = make_table(kStd);
constexpr Table kUrlTable = make_table(kUrl);

// Decodes symbols (no padding, no white space); nullopt on a bad symbol or a
// length that no byte string encodes to (4n+1).
std::optional<std::vector<std::uint8_t>> decode_symbols(std::string_view s, const Table& table) {
    if (s.size() % 4 == 1) {
        return std::nullopt;
    }
    std::vector<std::uint8_t> out;
    out.reserve(s.size() * 3 / 4);
    std::uint32_t acc = 0;
    int bits = 0;
    for (char c : s) {
        std::int8_t v = table[static_cast<unsigned char>(c)];
        if (v < 0) {
            return std::nullopt;
        }
        acc = (acc << 6) | static_cast<std::uint32_t>(v);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out.push_back(static_cast<std::uint8_t>((acc >> bits) & 0xff));
        }
    }
    return out;
}

bool is_space(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

}  // namespace

std::string base64_encode(std::span<const std::uint8_t> data) {
    return encode(data, kStd, true);
}

std::optional<std::vector<std::uint8_t>> base64_decode(std::string_view text) {
    std::string s;
    s.reserve(text.size());
    for (char c : text) {
        if (!is_space(c)) {
            s += c;
        }
    }
    if (s.size() % 4 != 0) {
        return std::nullopt;
    }
    std::size_t pad = 0;
    while (!s.empty() && s.back() == '=' && pad < 3) {
        s.pop_back();
        ++pad;
    }
    if (pad > 2) {
        return std::nullopt;
    }
    // With the padding gone, the symbols must be 4n, 4n+2 (two '=') or 4n+3 (one '=').
    if ((pad == 0 && s.size() % 4 != 0) || (pad == 1 && s.size() % 4 != 3) ||
        (pad == 2 && s.size() % 4 != 2)) {
        return std::nullopt;
    }
    return decode_symbols(s, kStdTable);
}

std::string base64url_encode(std::span<const std::uint8_t> data) {
    return encode(data, kUrl, false);
}

std::string base64url_encode(std::string_view data) {
    return encode(std::span(reinterpret_cast<const std::uint8_t*>(data.data()), data.size()), kUrl,
                  false);
}

std::optional<std::vector<std::uint8_t>> base64url_decode(std::string_view text) {
    return decode_symbols(text, kUrlTable);
}

}  // namespace acmezone
