// RFC 9432 catalog zones: see catalog_zone.h.
//
// One pass over the records sorts each into the version property, a member
// node, a member's property or something ignored; the member set is checked
// as a whole afterwards (one member PTR per node, unique zones). Each rule is
// its own small function returning the refusal, empty when the rule holds.
#include "common/catalog_zone.h"

#include <algorithm>
#include <cstdio>
#include <map>
#include <set>
#include <sstream>

#include "common/dns_wire.h"
#include "common/name_path.h"

namespace acmezone {
namespace {

// What the records said about one member node (<id>.zones.CATALOG).
struct Node {
    std::vector<DnsName> targets;  // PTRs at the node itself
    std::vector<std::string> groups;
    std::vector<DnsName> coos;
};

struct Reading {
    const DnsName& catalog;
    DnsName version_owner;
    DnsName zones;
    DnsName ext;
    std::vector<std::string> versions;
    std::map<std::string, Node> nodes;  // by unique id
    CatalogParse out;
};

// The PTR's target, or a refusal naming the record.
std::optional<DnsName> ptr_target(const ldns_rr* rr, const std::string& owner, std::string* error) {
    std::string printed;
    std::optional<DnsName> target;
    if (ldns_rr_rd_count(rr) == 1) {
        target = from_ldns_dname(ldns_rr_rdf(rr, 0), &printed);
    }
    if (!target || target->is_root()) {
        *error = "the PTR at " + owner + " points to " + (printed.empty() ? "nothing" : printed) +
                 ", not a zone name acmezone can use";
        return std::nullopt;
    }
    return target;
}

// A record under <id>.zones.CATALOG: the member PTR or one of its properties.
std::string read_member_record(Reading& r, const ldns_rr* rr, const DnsName& owner) {
    const std::string relative = owner.relative_to(r.zones);  // "id" or "prop.id" or deeper
    const auto dot = relative.rfind('.');
    const std::string id = dot == std::string::npos ? relative : relative.substr(dot + 1);
    const std::string property = dot == std::string::npos ? "" : relative.substr(0, dot);
    const ldns_rr_type type = ldns_rr_get_type(rr);
    std::string error;
    if (property.empty()) {
        if (type == LDNS_RR_TYPE_PTR) {
            auto target = ptr_target(rr, owner.fqdn(), &error);
            if (!target) {
                return error;
            }
            r.nodes[id].targets.push_back(*target);
        }
        return {};  // other types at a member node: ignored
    }
    if (property == "group" && type == LDNS_RR_TYPE_TXT) {
        r.nodes[id].groups.push_back(txt_value(rr));
    } else if (property == "coo" && type == LDNS_RR_TYPE_PTR) {
        auto target = ptr_target(rr, owner.fqdn(), &error);
        if (!target) {
            return error;
        }
        r.nodes[id].coos.push_back(*target);
    }
    return {};  // unknown properties are ignored (RFC 9432 section 3)
}

// One record of the transfer; the refusal, empty when the record is fine.
std::string read_record(Reading& r, const ldns_rr* rr) {
    std::string printed;
    const auto owner = from_ldns_dname(ldns_rr_owner(rr), &printed);
    if (!owner) {
        return "the record owned by " + printed + " is not a name acmezone reads";
    }
    if (!owner->is_at_or_below(r.catalog)) {
        return "the record at " + owner->fqdn() + " lies outside the catalog " + r.catalog.fqdn();
    }
    const ldns_rr_type type = ldns_rr_get_type(rr);
    if (*owner == r.catalog && type == LDNS_RR_TYPE_SOA && ldns_rr_rd_count(rr) == 7) {
        r.out.serial = ldns_rdf2native_int32(ldns_rr_rdf(rr, 2));
        r.out.refresh = ldns_rdf2native_int32(ldns_rr_rdf(rr, 3));
        return {};
    }
    if (*owner == r.version_owner) {
        if (type == LDNS_RR_TYPE_TXT) {
            r.versions.push_back(txt_value(rr));
        }
        return {};
    }
    if (owner->is_below(r.zones)) {
        return read_member_record(r, rr, *owner);
    }
    if (type == LDNS_RR_TYPE_PTR && !owner->is_at_or_below(r.ext)) {
        return "the PTR at " + owner->fqdn() + " is outside " + r.zones.fqdn() +
               ": member zones are listed as <unique-id>." + r.zones.fqdn();
    }
    return {};  // apex NS, custom properties under ext., anything else: ignored
}

std::string check_version(const Reading& r) {
    if (r.versions.empty()) {
        return "no version property: expected TXT \"2\" at " + r.version_owner.fqdn();
    }
    if (r.versions.size() > 1) {
        return std::to_string(r.versions.size()) + " TXT records at " + r.version_owner.fqdn() +
               ": expected exactly one, \"2\"";
    }
    if (r.versions.front() != "2") {
        std::string shown;
        for (unsigned char c : r.versions.front()) {
            if (c < 0x20 || c >= 0x7f) {
                char buf[8];
                std::snprintf(buf, sizeof buf, "\\%03u", static_cast<unsigned>(c));
                shown += buf;
            } else {
                shown += static_cast<char>(c);
            }
        }
        return "unsupported catalog version \"" + shown + "\" at " + r.version_owner.fqdn() +
               " (acmezone reads version \"2\", RFC 9432)";
    }
    return {};
}

// Every node names one zone, with at most one coo; no zone is listed twice.
std::string check_members(Reading& r) {
    std::map<DnsName, std::string> ids_by_zone;
    for (auto& [id, node] : r.nodes) {
        const std::string where = id + "." + r.zones.fqdn();
        if (node.targets.empty()) {
            continue;  // properties without a member PTR: nothing to follow
        }
        if (node.targets.size() > 1) {
            return std::to_string(node.targets.size()) + " PTR records at " + where +
                   ": a member node holds exactly one";
        }
        if (node.coos.size() > 1) {
            return std::to_string(node.coos.size()) + " coo PTR records at coo." + where +
                   ": a member has at most one";
        }
        const DnsName& zone = node.targets.front();
        const auto [it, fresh] = ids_by_zone.emplace(zone, id);
        if (!fresh) {
            return "the zone " + zone.fqdn() + " is listed twice, at " + it->second + "." +
                   r.zones.fqdn() + " and at " + where + ": member zone names must be unique";
        }
        CatalogMember m;
        m.zone = zone;
        m.id = id;
        m.groups = node.groups;
        std::sort(m.groups.begin(), m.groups.end());
        m.groups.erase(std::unique(m.groups.begin(), m.groups.end()), m.groups.end());
        if (!node.coos.empty()) {
            m.coo = node.coos.front();
        }
        r.out.members.push_back(std::move(m));
    }
    std::sort(r.out.members.begin(), r.out.members.end(),
              [](const CatalogMember& a, const CatalogMember& b) { return a.zone < b.zone; });
    return {};
}

CatalogParse refuse(const DnsName& catalog, const std::string& why) {
    CatalogParse p;
    p.error = "catalog " + catalog.text() + ": " + why;
    return p;
}

}  // namespace

CatalogParse parse_catalog(const DnsName& catalog, std::span<const ldns_rr* const> records) {
    Reading r{
        catalog, catalog.child("version"), catalog.child("zones"), catalog.child("ext"), {}, {},
        {}};
    for (const ldns_rr* rr : records) {
        if (rr == nullptr) {
            continue;
        }
        if (std::string why = read_record(r, rr); !why.empty()) {
            return refuse(catalog, why);
        }
    }
    if (std::string why = check_version(r); !why.empty()) {
        return refuse(catalog, why);
    }
    if (std::string why = check_members(r); !why.empty()) {
        return refuse(catalog, why);
    }
    r.out.ok = true;
    return std::move(r.out);
}

std::vector<CatalogMember> members_in_group(const std::vector<CatalogMember>& members,
                                            const std::string& group) {
    std::vector<CatalogMember> out;
    for (const CatalogMember& m : members) {
        if (std::binary_search(m.groups.begin(), m.groups.end(), group)) {
            out.push_back(m);
        }
    }
    return out;
}

namespace {

// Group values may hold any octet: '%', TAB, new lines and non-printables
// become %XX (common/name_path.h decodes them).
std::string escape_field(const std::string& text) {
    std::string out;
    for (unsigned char c : text) {
        if (c == '%' || c <= 0x20 || c >= 0x7f) {
            char buf[4];
            std::snprintf(buf, sizeof buf, "%%%02x", static_cast<unsigned>(c));
            out += buf;
        } else {
            out += static_cast<char>(c);
        }
    }
    return out;
}

}  // namespace

std::string format_members(const std::vector<CatalogMember>& members) {
    std::string out;
    for (const CatalogMember& m : members) {
        out += m.zone.text() + '\t' + escape_field(m.id) + '\t' +
               (m.coo ? m.coo->text() : std::string("-"));
        for (const std::string& g : m.groups) {
            out += '\t' + escape_field(g);
        }
        out += '\n';
    }
    return out;
}

std::optional<std::vector<CatalogMember>> parse_members(std::string_view text, std::string* error) {
    std::vector<CatalogMember> out;
    std::size_t line_no = 0;
    auto fail = [&](const std::string& why) -> std::optional<std::vector<CatalogMember>> {
        if (error != nullptr) {
            *error = "line " + std::to_string(line_no) + ": " + why;
        }
        return std::nullopt;
    };
    while (!text.empty()) {
        ++line_no;
        const auto nl = text.find('\n');
        if (nl == std::string_view::npos) {
            return fail("no new line at the end (a torn write?)");
        }
        std::string_view line = text.substr(0, nl);
        text.remove_prefix(nl + 1);
        std::vector<std::string_view> fields;
        for (std::size_t start = 0;;) {
            const auto tab = line.find('\t', start);
            fields.push_back(line.substr(start, tab == std::string_view::npos ? tab : tab - start));
            if (tab == std::string_view::npos) {
                break;
            }
            start = tab + 1;
        }
        if (fields.size() < 3) {
            return fail("expected zone, id and coo separated by TABs");
        }
        CatalogMember m;
        std::string why;
        auto zone = DnsName::try_parse(fields[0], &why);
        if (!zone || zone->is_root()) {
            return fail("bad zone: " + (why.empty() ? std::string("the root") : why));
        }
        m.zone = *zone;
        auto id = percent_decode(fields[1]);
        if (!id || id->empty()) {
            return fail("bad unique id");
        }
        m.id = *id;
        if (fields[2] != "-") {
            auto coo = DnsName::try_parse(fields[2], &why);
            if (!coo) {
                return fail("bad coo: " + why);
            }
            m.coo = *coo;
        }
        for (std::size_t i = 3; i < fields.size(); ++i) {
            auto g = percent_decode(fields[i]);
            if (!g) {
                return fail("bad group");
            }
            m.groups.push_back(*g);
        }
        out.push_back(std::move(m));
    }
    return out;
}

std::optional<CatalogLine> parse_catalog_line(std::string_view text, std::string* error) {
    std::istringstream words{std::string(text)};
    std::string zone, server, key_word, key, extra;
    words >> zone >> server >> key_word >> key >> extra;
    if (zone.empty() || !extra.empty() || (!key_word.empty() && key_word != "key") ||
        (key_word == "key" && key.empty())) {
        *error = "\"" + std::string(text) + "\": expected \"CATALOG [SERVER[:PORT] [key KEY]]\"";
        return std::nullopt;
    }
    std::string why;
    auto name = DnsName::try_parse(zone, &why);
    if (!name || name->is_root()) {
        *error = "invalid catalog \"" + zone + "\": " + (name ? "the root" : why);
        return std::nullopt;
    }
    auto endpoint = Endpoint::try_parse(server.empty() ? "127.0.0.1" : server, 53, &why);
    if (!endpoint) {
        *error = "invalid server \"" + server + "\": " + why;
        return std::nullopt;
    }
    CatalogLine line{*name, *endpoint, std::nullopt};
    if (!key.empty()) {
        auto key_name = DnsName::try_parse(key, &why);
        if (!key_name) {
            *error = "invalid key name \"" + key + "\": " + why;
            return std::nullopt;
        }
        line.key = *key_name;
    }
    return line;
}

}  // namespace acmezone
