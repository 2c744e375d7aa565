// libFuzzer target: parse_catalog (common/catalog_zone.h), the RFC 9432
// reader both the plugin and the issuer run on a transferred catalog.
//
// The input is one DNS message as an AXFR answer carries it; its answer
// section is read as the catalog catalog.example's records. Normal outcomes:
// ldns refusing the message, a refusal (ok false, a non-empty message), or a
// member set. A member set is then checked as its users rely on it: every
// member a non-root zone, sorted, no zone twice, its groups sorted, and the
// state file's text (format_members) reads back to the same set
// (parse_members): a round-trip property, not only "does not crash".
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <span>
#include <vector>

#include "common/catalog_zone.h"
#include "common/dns_wire.h"
#include "common/ldns_ptr.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static const bool kTrace = std::getenv("ACMEZONE_FUZZ_TRACE") != nullptr;
    static const acmezone::DnsName kCatalog = acmezone::DnsName::parse("catalog.example");
    const acmezone::LdnsPkt pkt = acmezone::parse_message({data, size});
    if (!pkt) {
        return 0;
    }
    const ldns_rr_list* answer = ldns_pkt_answer(pkt.get());
    std::vector<const ldns_rr*> records;
    for (std::size_t i = 0; i < ldns_rr_list_rr_count(answer); ++i) {
        records.push_back(ldns_rr_list_rr(answer, i));
    }
    const acmezone::CatalogParse p = acmezone::parse_catalog(kCatalog, records);
    if (!p.ok) {
        if (p.error.empty()) {
            std::abort();  // every refusal says why
        }
        if (kTrace) {
            std::fprintf(stderr, "refused: %s\n", p.error.c_str());
        }
        return 0;
    }
    for (std::size_t i = 0; i < p.members.size(); ++i) {
        const auto& m = p.members[i];
        if (m.zone.is_root() || m.id.empty() || (i > 0 && !(p.members[i - 1].zone < m.zone))) {
            std::abort();  // sorted, unique, usable zones
        }
        for (std::size_t g = 1; g < m.groups.size(); ++g) {
            if (!(m.groups[g - 1] < m.groups[g])) {
                std::abort();
            }
        }
    }
    std::string error;
    const auto back = acmezone::parse_members(acmezone::format_members(p.members), &error);
    if (!back || *back != p.members) {
        std::fprintf(stderr, "member set does not round-trip: %s\n", error.c_str());
        std::abort();
    }
    if (kTrace) {
        std::fprintf(stderr, "members: %zu\n", p.members.size());
    }
    return 0;
}
