// RFC 9432 catalog zones: the member set a catalog's records describe.
//
// A catalog zone CATALOG lists member zones as PTR records:
//
//     version.CATALOG          TXT "2"                  the schema: only "2" is read
//     <id>.zones.CATALOG       PTR example.com.         one member; <id> is its unique id
//     group.<id>.zones.CATALOG TXT "web"                optional, repeatable
//     coo.<id>.zones.CATALOG   PTR other-catalog.net.   optional: change of ownership
//
// parse_catalog() reads the records of one AXFR (SOA first and last, as the
// transfer sends them, or in any order) and returns either the member set or
// the first reason the catalog is refused, as one specific sentence. It is a
// pure function of its input; the plugin and the issuer both use it (the
// plugin claims the members, the issuer certifies them).
//
// Refused (the message names the record at fault):
//   - no version property, more than one, or a value other than "2";
//   - a record outside CATALOG (not at or under it);
//   - a PTR neither at <id>.zones.CATALOG nor a coo property, nor under
//     ext.CATALOG (custom properties, RFC 9432 section 4.4.3);
//   - more than one PTR at one member node, or a member PTR whose target is
//     not a usable zone name (the root, escaped octets);
//   - a zone listed by two member nodes (unique member names);
//   - more than one coo PTR at a member.
// Ignored (RFC 9432 section 3: a consumer ignores what it does not support):
//   every other property and record type (SOA, NS at the apex; unknown
//   labels under a member; anything under ext.).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "common/dns_name.h"
#include "common/endpoint.h"
#include "common/ldns_ptr.h"

namespace acmezone {

struct CatalogMember {
    DnsName zone;                     // the member zone
    std::string id;                   // its unique id (the label under zones.)
    std::vector<std::string> groups;  // group property values, sorted
    std::optional<DnsName> coo;       // change-of-ownership target, when present
    friend bool operator==(const CatalogMember&, const CatalogMember&) = default;
};

struct CatalogParse {
    bool ok = false;
    std::string error;                   // when !ok: why the catalog is refused
    std::vector<CatalogMember> members;  // when ok: sorted by zone
    std::uint32_t serial = 0;            // the SOA's, when one was seen
    std::uint32_t refresh = 0;           // the SOA's REFRESH, seconds (0: no SOA seen)
};

// The member set of catalog `catalog` from the records of its transfer.
CatalogParse parse_catalog(const DnsName& catalog, std::span<const ldns_rr* const> records);

// The members of `members` with group `group` among their groups.
std::vector<CatalogMember> members_in_group(const std::vector<CatalogMember>& members,
                                            const std::string& group);

// A member set as text, one member a line: "<zone> <id> <coo or -> <group,...>";
// and back (nullopt when a line does not parse). For the state file that keeps
// a catalog's last good member set across restarts.
std::string format_members(const std::vector<CatalogMember>& members);
std::optional<std::vector<CatalogMember>> parse_members(std::string_view text,
                                                        std::string* error = nullptr);

// A catalog to follow, as both programs' configurations write it:
// "CATALOG [SERVER[:PORT] [key KEY]]" (server default 127.0.0.1, port 53).
struct CatalogLine {
    DnsName zone;
    Endpoint server;
    std::optional<DnsName> key;  // the TSIG key that signs the AXFR
};
// nullopt and *error (what is wrong, for the caller to prefix with file,
// line and key) when `text` is not such a line.
std::optional<CatalogLine> parse_catalog_line(std::string_view text, std::string* error);

}  // namespace acmezone
