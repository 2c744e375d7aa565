// Conversions between acmezone's types and ldns; see ldns_glue.h.
#include "issuer/dns/ldns_glue.h"

#include <cstdio>
#include <stdexcept>

namespace acmezone::issuer {

std::string rcode_name(ldns_pkt_rcode rcode) {
    const ldns_lookup_table* entry = ldns_lookup_by_id(ldns_rcodes, static_cast<int>(rcode));
    if (entry != nullptr && entry->name != nullptr) {
        return entry->name;
    }
    return "RCODE " + std::to_string(static_cast<int>(rcode));
}

std::string rr_type_name(ldns_rr_type type) {
    std::unique_ptr<char, LdnsMallocFree> text(ldns_rr_type2str(type));
    return text ? std::string(text.get()) : "TYPE" + std::to_string(static_cast<int>(type));
}

LdnsRr make_txt_rr(const DnsName& owner, const std::string& value, ldns_rr_class klass,
                   std::uint32_t ttl) {
    if (value.size() > 255) {
        throw std::invalid_argument("TXT value of " + std::to_string(value.size()) +
                                    " octets is longer than the 255 one string holds");
    }
    LdnsRr rr(ldns_rr_new());
    if (!rr) {
        throw std::bad_alloc();
    }
    ldns_rr_set_owner(rr.get(), to_ldns_dname(owner).release());
    ldns_rr_set_type(rr.get(), LDNS_RR_TYPE_TXT);
    ldns_rr_set_class(rr.get(), klass);
    ldns_rr_set_ttl(rr.get(), ttl);
    std::vector<std::uint8_t> data;
    data.reserve(value.size() + 1);
    data.push_back(static_cast<std::uint8_t>(value.size()));
    data.insert(data.end(), value.begin(), value.end());
    ldns_rdf* rdf = ldns_rdf_new_frm_data(LDNS_RDF_TYPE_STR, data.size(), data.data());
    if (rdf == nullptr || !ldns_rr_push_rdf(rr.get(), rdf)) {
        ldns_rdf_deep_free(rdf);
        throw std::bad_alloc();
    }
    return rr;
}

std::vector<const ldns_rr*> rrs_of_type(const ldns_rr_list* list, ldns_rr_type type) {
    std::vector<const ldns_rr*> out;
    if (list == nullptr) {
        return out;
    }
    for (std::size_t i = 0; i < ldns_rr_list_rr_count(list); ++i) {
        const ldns_rr* rr = ldns_rr_list_rr(list, i);
        if (ldns_rr_get_type(rr) == type) {
            out.push_back(rr);
        }
    }
    return out;
}

std::string quoted(const std::string& value) {
    std::string out = "\"";
    for (unsigned char c : value) {
        if (c == '"' || c == '\\') {
            out += '\\';
            out += static_cast<char>(c);
        } else if (c < 0x20 || c >= 0x7f) {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\%03u", static_cast<unsigned>(c));
            out += buf;
        } else {
            out += static_cast<char>(c);
        }
    }
    out += '"';
    return out;
}

}  // namespace acmezone::issuer
