// See name_path.h.
#include "common/name_path.h"

#include <stdexcept>

namespace acmezone {
namespace {

constexpr char kHex[] = "0123456789abcdef";

bool kept(char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.';
}

int hex_value(char c) {
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

}  // namespace

std::string path_component(const DnsName& name) {
    if (name.is_root()) {
        throw std::invalid_argument("the root zone has no file name");
    }
    std::string out;
    out.reserve(name.text().size());
    for (char c : name.text()) {
        if (kept(c)) {
            out += c;
        } else {
            auto uc = static_cast<unsigned char>(c);
            out += '%';
            out += kHex[uc >> 4];
            out += kHex[uc & 0xf];
        }
    }
    return out;
}

std::optional<std::string> percent_decode(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] != '%') {
            out += text[i];
            continue;
        }
        if (i + 2 >= text.size()) {
            return std::nullopt;
        }
        const int hi = hex_value(text[i + 1]);
        const int lo = hex_value(text[i + 2]);
        if (hi < 0 || lo < 0) {
            return std::nullopt;
        }
        out += static_cast<char>(hi * 16 + lo);
        i += 2;
    }
    return out;
}

std::optional<DnsName> name_of_path_component(std::string_view component) {
    const auto text = percent_decode(component);
    if (!text) {
        return std::nullopt;
    }
    auto name = DnsName::try_parse(*text);
    // Upper-case hex decodes too, but is not canonical: the round trip refuses it.
    if (!name || name->is_root() || path_component(*name) != component) {
        return std::nullopt;
    }
    return name;
}

}  // namespace acmezone
