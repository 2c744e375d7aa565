// Names and TXT strings between acmezone's types and ldns; see dns_wire.h.
#include "common/dns_wire.h"

#include <sys/random.h>

#include <cerrno>
#include <memory>
#include <stdexcept>
#include <system_error>

namespace acmezone {

LdnsRdf to_ldns_dname(const DnsName& name) {
    LdnsRdf rdf(ldns_dname_new_frm_str(name.fqdn().c_str()));
    if (!rdf) {
        throw std::runtime_error("ldns cannot represent the name " + name.fqdn());
    }
    return rdf;
}

std::optional<DnsName> from_ldns_dname(const ldns_rdf* rdf, std::string* printed) {
    if (rdf == nullptr || ldns_rdf_get_type(rdf) != LDNS_RDF_TYPE_DNAME) {
        if (printed != nullptr) {
            *printed = "(no name)";
        }
        return std::nullopt;
    }
    std::unique_ptr<char, LdnsMallocFree> text(ldns_rdf2str(rdf));
    if (!text) {
        if (printed != nullptr) {
            *printed = "(unprintable name)";
        }
        return std::nullopt;
    }
    if (printed != nullptr) {
        *printed = text.get();
    }
    return DnsName::try_parse(text.get());
}

std::string txt_value(const ldns_rr* rr) {
    std::string joined;
    for (std::size_t i = 0; i < ldns_rr_rd_count(rr); ++i) {
        const ldns_rdf* rdf = ldns_rr_rdf(rr, i);
        if (ldns_rdf_get_type(rdf) != LDNS_RDF_TYPE_STR || ldns_rdf_size(rdf) == 0) {
            continue;
        }
        const std::uint8_t* data = ldns_rdf_data(rdf);
        std::size_t len = data[0];
        if (len + 1 > ldns_rdf_size(rdf)) {
            len = ldns_rdf_size(rdf) - 1;
        }
        joined.append(reinterpret_cast<const char*>(data + 1), len);
    }
    return joined;
}

std::uint16_t random_message_id() {
    std::uint16_t id = 0;
    for (int attempt = 0; attempt < 8; ++attempt) {
        if (::getrandom(&id, sizeof id, 0) == static_cast<ssize_t>(sizeof id)) {
            return id;
        }
    }
    throw std::system_error(errno, std::generic_category(), "getrandom");
}

std::vector<std::uint8_t> to_wire(const ldns_pkt* packet) {
    std::uint8_t* raw = nullptr;
    std::size_t size = 0;
    ldns_status status = ldns_pkt2wire(&raw, packet, &size);
    std::unique_ptr<std::uint8_t, LdnsMallocFree> owned(raw);
    if (status != LDNS_STATUS_OK || !owned) {
        throw std::runtime_error(std::string("cannot render a DNS message: ") +
                                 ldns_get_errorstr_by_id(status));
    }
    return std::vector<std::uint8_t>(owned.get(), owned.get() + size);
}

}  // namespace acmezone
