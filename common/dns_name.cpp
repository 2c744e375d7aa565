// DnsName: parsing and the tree relations between names.
//
// Design note. A name is kept as one lower-case string without the trailing
// dot, so equality, ordering and hashing are plain string operations and a
// DnsName can key hash tables on the plugin's hot path (dlz_findzonedb) with
// no further normalisation. Validation happens once, in try_parse(), which
// every constructor path goes through (child() re-parses its result), so a
// DnsName in hand is always valid:
//   - labels are 1..63 octets; an empty label ("a..b", ".a", leading dot) is
//     refused; the whole name is at most 255 octets in wire form (each label
//     plus its length octet, plus the root's zero octet);
//   - characters are letters, digits, '-', '_' and '/' (RFC 2317 names); '*'
//     only as the whole leftmost label (the wildcard); everything else,
//     including escapes, white space and master-file specials (" ; ( ) @ $),
//     is refused, because names reach master-file text handed to named and
//     no name acmezone handles needs them.
// The empty string is refused (".": the root) so that an empty config value
// never silently means "the whole DNS".
#include "common/dns_name.h"

#include <algorithm>

namespace acmezone {
namespace {

constexpr std::size_t kMaxLabel = 63;
constexpr std::size_t kMaxWire = 255;

bool is_name_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_' || c == '/';
}

std::string quoted(std::string_view s) {
    std::string out = "\"";
    for (char c : s) {
        auto uc = static_cast<unsigned char>(c);
        if (uc < 0x20 || uc >= 0x7f) {
            static const char* hex = "0123456789abcdef";
            out += "\\x";
            out += hex[uc >> 4];
            out += hex[uc & 0xf];
        } else {
            out += c;
        }
    }
    out += '"';
    return out;
}

std::string describe_char(char c) {
    auto uc = static_cast<unsigned char>(c);
    if (uc <= 0x20 || uc >= 0x7f) {
        static const char* hex = "0123456789abcdef";
        return std::string("byte 0x") + hex[uc >> 4] + hex[uc & 0xf];
    }
    return std::string("'") + c + "'";
}

// Checks one label; returns an empty string when fine, else what is wrong.
std::string check_label(std::string_view label, bool leftmost) {
    if (label.empty()) {
        return "empty label";
    }
    if (label.size() > kMaxLabel) {
        return "label " + quoted(label.substr(0, 20)) + "... is " + std::to_string(label.size()) +
               " octets long (at most 63)";
    }
    if (label == "*") {
        if (!leftmost) {
            return "'*' (wildcard) is only allowed as the leftmost label";
        }
        return {};
    }
    for (char c : label) {
        if (c == '\\') {
            return "escapes ('\\') are not supported";
        }
        if (c == '*') {
            return "'*' must be a label of its own (\"*.example.com\")";
        }
        if (!is_name_char(c)) {
            return "invalid character " + describe_char(c) + " in label " + quoted(label) +
                   " (allowed: letters, digits, '-', '_', '/')";
        }
    }
    return {};
}

}  // namespace

std::optional<DnsName> DnsName::try_parse(std::string_view text, std::string* error) {
    auto fail = [&](const std::string& why) -> std::optional<DnsName> {
        if (error != nullptr) {
            *error = "invalid DNS name " + quoted(text) + ": " + why;
        }
        return std::nullopt;
    };
    if (text.empty()) {
        return fail("empty (write \".\" for the root)");
    }
    if (text == ".") {
        return DnsName();
    }
    std::string_view body = text;
    if (body.back() == '.') {
        body.remove_suffix(1);
    }
    std::string canonical;
    canonical.reserve(body.size());
    std::size_t wire = 1;  // the root label's zero octet
    std::size_t start = 0;
    bool leftmost = true;
    while (true) {
        std::size_t dot = body.find('.', start);
        std::string_view label = body.substr(
            start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
        std::string why = check_label(label, leftmost);
        if (!why.empty()) {
            if (label.empty()) {
                why += " (\"a..b\", a leading dot or a lone trailing dot)";
            }
            return fail(why);
        }
        wire += 1 + label.size();
        leftmost = false;
        if (dot == std::string_view::npos) {
            break;
        }
        start = dot + 1;
    }
    if (wire > kMaxWire) {
        return fail("name is " + std::to_string(wire) + " octets long in wire form (at most 255)");
    }
    for (char c : body) {
        canonical += (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
    }
    return DnsName(std::move(canonical));
}

DnsName DnsName::parse(std::string_view text) {
    std::string error;
    auto name = try_parse(text, &error);
    if (!name) {
        throw std::invalid_argument(error);
    }
    return std::move(*name);
}

std::string DnsName::fqdn() const {
    return text_ + ".";
}

std::size_t DnsName::label_count() const {
    if (text_.empty()) {
        return 0;
    }
    return static_cast<std::size_t>(std::count(text_.begin(), text_.end(), '.')) + 1;
}

std::vector<std::string_view> DnsName::labels() const {
    std::vector<std::string_view> out;
    if (text_.empty()) {
        return out;
    }
    std::string_view rest = text_;
    while (true) {
        std::size_t dot = rest.find('.');
        if (dot == std::string_view::npos) {
            out.push_back(rest);
            break;
        }
        out.push_back(rest.substr(0, dot));
        rest.remove_prefix(dot + 1);
    }
    return out;
}

std::size_t DnsName::wire_length() const {
    // Each '.' stands for one length octet; plus the first label's length octet
    // and the root's zero octet.
    return text_.empty() ? 1 : text_.size() + 2;
}

bool DnsName::is_at_or_below(const DnsName& ancestor) const {
    if (ancestor.text_.empty()) {
        return true;
    }
    if (text_.size() == ancestor.text_.size()) {
        return text_ == ancestor.text_;
    }
    return text_.size() > ancestor.text_.size() && text_.ends_with(ancestor.text_) &&
           text_[text_.size() - ancestor.text_.size() - 1] == '.';
}

bool DnsName::is_below(const DnsName& ancestor) const {
    return *this != ancestor && is_at_or_below(ancestor);
}

std::optional<DnsName> DnsName::parent() const {
    if (text_.empty()) {
        return std::nullopt;
    }
    std::size_t dot = text_.find('.');
    if (dot == std::string::npos) {
        return DnsName();
    }
    return DnsName(text_.substr(dot + 1));
}

DnsName DnsName::child(std::string_view label) const {
    std::string why = check_label(label, true);
    if (!why.empty()) {
        throw std::invalid_argument("cannot prepend " + quoted(label) + " to " + quoted(fqdn()) +
                                    ": " + why);
    }
    std::string text(label);
    if (!text_.empty()) {
        text += '.';
        text += text_;
    }
    if (text_.starts_with("*.") || text_ == "*") {
        throw std::invalid_argument("cannot prepend " + quoted(label) + " to " + quoted(fqdn()) +
                                    ": '*' (wildcard) is only allowed as the leftmost label");
    }
    return parse(text);
}

std::string DnsName::relative_to(const DnsName& origin) const {
    if (!is_at_or_below(origin)) {
        throw std::invalid_argument("DNS name " + quoted(fqdn()) + " is not at or below " +
                                    quoted(origin.fqdn()));
    }
    if (text_.size() == origin.text_.size()) {
        return "@";
    }
    if (origin.text_.empty()) {
        return text_;
    }
    return text_.substr(0, text_.size() - origin.text_.size() - 1);
}

}  // namespace acmezone
