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
    for (int i = 0; i < 16; ++i) {
        if (kHex[i] == c) {
            return i;
        }
    }
    return -1;  // upper-case hex is not canonical
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

std::optional<DnsName> name_of_path_component(std::string_view component) {
    std::string text;
    text.reserve(component.size());
    for (std::size_t i = 0; i < component.size(); ++i) {
        if (component[i] != '%') {
            text += component[i];
            continue;
        }
        if (i + 2 >= component.size()) {
            return std::nullopt;
        }
        const int hi = hex_value(component[i + 1]);
        const int lo = hex_value(component[i + 2]);
        if (hi < 0 || lo < 0) {
            return std::nullopt;
        }
        text += static_cast<char>(hi * 16 + lo);
        i += 2;
    }
    auto name = DnsName::try_parse(text);
    if (!name || name->is_root() || path_component(*name) != component) {
        return std::nullopt;
    }
    return name;
}

}  // namespace acmezone
