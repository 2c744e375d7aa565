// DNS names in their canonical text form.
//
// A DnsName holds a validated, absolute domain name as lower-case ASCII text
// without the trailing dot ("example.com"); the root is the empty string.
// Comparison is therefore case-insensitive by construction. Labels are 1..63
// octets, the whole name at most 255 octets in wire form. Labels hold letters,
// digits, '-', '_' and '/', so "_acme-challenge" is valid; "*" is valid as the
// whole leftmost label only. Escapes ("\." and "\DDD"), white space and
// master-file specials are refused: no name acmezone handles needs them, and
// names end up in master-file text handed to named. The empty string is
// refused; the root is written ".".
#pragma once

#include <compare>
#include <cstddef>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace acmezone {

class DnsName {
  public:
    DnsName() = default;  // the root

    // Parses "Example.COM." or "example.com"; throws std::invalid_argument
    // with a message naming the name and what is wrong with it.
    static DnsName parse(std::string_view text);
    // The same, without exceptions: nullopt and *error set on failure.
    static std::optional<DnsName> try_parse(std::string_view text, std::string* error = nullptr);

    const std::string& text() const { return text_; }  // "example.com", "" for the root
    std::string fqdn() const;                          // "example.com.", "." for the root
    bool is_root() const { return text_.empty(); }
    std::size_t label_count() const;
    std::vector<std::string_view> labels() const;  // left to right
    std::size_t wire_length() const;               // octets in uncompressed wire form

    // True when *this is `ancestor` or lies below it.
    bool is_at_or_below(const DnsName& ancestor) const;
    // True when *this lies strictly below `ancestor`.
    bool is_below(const DnsName& ancestor) const;
    // The name one label up; nullopt for the root.
    std::optional<DnsName> parent() const;
    // `label` prepended: DnsName::parse("example.com").child("_acme-challenge").
    // Throws std::invalid_argument when the result is not a valid name.
    DnsName child(std::string_view label) const;
    // The labels of *this below `origin`: "www" for www.example.com relative
    // to example.com, "@" when equal. Throws std::invalid_argument unless
    // is_at_or_below(origin).
    std::string relative_to(const DnsName& origin) const;

    friend bool operator==(const DnsName&, const DnsName&) = default;
    friend std::strong_ordering operator<=>(const DnsName& a, const DnsName& b) {
        return a.text_ <=> b.text_;
    }

  private:
    explicit DnsName(std::string canonical) : text_(std::move(canonical)) {}
    std::string text_;
};

}  // namespace acmezone

template <>
struct std::hash<acmezone::DnsName> {
    std::size_t operator()(const acmezone::DnsName& n) const noexcept {
        return std::hash<std::string>{}(n.text());
    }
};
