// Names and TXT strings between acmezone's types and ldns; see dns_wire.h.
#include "common/dns_wire.h"

#include <sys/random.h>

#include <array>
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
    // From the kernel's random source, 64 IDs a getrandom() call (a thread's
    // own; a pass made ten of these calls a zone). Each ID is used once.
    thread_local std::array<std::uint16_t, 64> ids{};
    thread_local std::size_t next = ids.size();
    if (next == ids.size()) {
        int attempt = 0;
        while (::getrandom(ids.data(), sizeof ids, 0) != static_cast<ssize_t>(sizeof ids)) {
            if (++attempt == 8) {
                throw std::system_error(errno, std::generic_category(), "getrandom");
            }
        }
        next = 0;
    }
    return ids[next++];
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

namespace {

constexpr std::size_t kHeaderSize = 12;
constexpr std::uint16_t kTypeOpt = 41;
constexpr std::uint16_t kTypeTsig = 250;

std::uint16_t get16(std::span<const std::uint8_t> w, std::size_t pos) {
    return static_cast<std::uint16_t>((w[pos] << 8) | w[pos + 1]);
}

// Moves `pos` past the name there; false when the message ends inside it. A
// compression pointer ends the name (its target is ldns's to check).
bool skip_name(std::span<const std::uint8_t> w, std::size_t& pos) {
    while (pos < w.size()) {
        const std::uint8_t len = w[pos];
        if ((len & 0xc0) != 0) {
            pos += 2;
            return pos <= w.size();
        }
        pos += 1 + std::size_t{len};
        if (len == 0) {
            return true;
        }
    }
    return false;
}

// Why the additional section is refused, or empty. A message that ends early
// is left to ldns, which says so in its own words.
std::string misplaced_records(std::span<const std::uint8_t> w) {
    if (w.size() < kHeaderSize) {
        return {};
    }
    const std::size_t questions = get16(w, 4);
    const std::size_t before_additional = std::size_t{get16(w, 6)} + get16(w, 8);
    const std::size_t records = before_additional + get16(w, 10);
    std::size_t pos = kHeaderSize;
    for (std::size_t i = 0; i < questions; ++i) {
        if (!skip_name(w, pos) || (pos += 4) > w.size()) {
            return {};
        }
    }
    std::size_t opts = 0;
    for (std::size_t i = 0; i < records; ++i) {
        if (!skip_name(w, pos) || pos + 10 > w.size()) {
            return {};
        }
        const std::uint16_t type = get16(w, pos);
        pos += 10 + std::size_t{get16(w, pos + 8)};
        if (i < before_additional) {
            continue;
        }
        if (type == kTypeOpt && ++opts > 1) {
            return "more than one OPT record";
        }
        if (type == kTypeTsig && i + 1 != records) {
            return "a TSIG record that is not the last record";
        }
    }
    return {};
}

}  // namespace

LdnsPkt parse_message(std::span<const std::uint8_t> wire, std::string* why) {
    const std::string refused = misplaced_records(wire);
    if (!refused.empty()) {
        if (why != nullptr) {
            *why = refused;
        }
        return nullptr;
    }
    ldns_pkt* raw = nullptr;
    const ldns_status status = ldns_wire2pkt(&raw, wire.data(), wire.size());
    LdnsPkt pkt(raw);
    if (status != LDNS_STATUS_OK || !pkt) {
        if (why != nullptr) {
            *why = ldns_get_errorstr_by_id(status);
        }
        return nullptr;
    }
    return pkt;
}

}  // namespace acmezone
