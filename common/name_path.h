// A DNS name as one file-name component, and back.
//
// DnsName allows '/' in labels (RFC 2317 classless reverse zones such as
// "0/25.2.0.192.in-addr.arpa" are valid DNS), and '*' as a whole leftmost
// label; std::filesystem's operator/ would read '/' as a separator, and a
// leading '/' would drop the base directory altogether. Every place that
// turns a zone name into a path (the issuer's state files, the certificate
// store, its hooks' file names) goes through path_component(), which returns
// exactly one safe component:
//   - letters, digits, '-', '_' and '.' are kept (a DnsName is lower-case);
//   - every other octet, so '/' and '*', becomes "%" and two lower-case hex
//     digits: "0/25.2.0.192.in-addr.arpa" -> "0%2f25.2.0.192.in-addr.arpa".
// '%' is never in a DnsName, so the encoding is unambiguous and reversible
// (name_of_path_component). The result is never empty, ".", ".." or
// starts with '.' (a DnsName has no empty label), and holds no '/' or NUL.
// Names without '/' or '*' map to themselves: existing stores keep their
// layout.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "common/dns_name.h"

namespace acmezone {

// The component for `name`; throws std::invalid_argument for the root (it has
// no file of its own).
std::string path_component(const DnsName& name);

// The name whose path_component() is exactly `component`; nullopt for anything
// else (a stray file, a non-canonical encoding such as "%2F" or "%61").
std::optional<DnsName> name_of_path_component(std::string_view component);

// `text` with each "%" and two hex digits (either case) replaced by that
// octet, once (a "%2541" gives "%41"); nullopt for a '%' not followed by two
// hex digits. The result may hold any octet, NUL included: parse it
// (DnsName::try_parse) before use.
std::optional<std::string> percent_decode(std::string_view text);

}  // namespace acmezone
