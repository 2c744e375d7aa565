// libFuzzer target: the issuer's DNS answers, as they come back from its
// resolver, the authoritative servers and the control sockets, after
// ldns_wire2pkt (dns_exchange.cpp parses every answer so), through the pure
// functions the look-ups hand them to (issuer/dns/):
//
//   zone_in_soa_answer   find_zone, the UPDATE's zone, precheck's apex;
//   ns_names_in_answer   the zone's NS set;
//   addresses_in_answer  each NS name's A and AAAA records;
//   cname_in_answer      one hop of the _acme-challenge CNAME chain;
//   txt_values_in_answer what a server serves (wait_until_served);
//   caa_records_in_answer, caa_decide   the relevant CAA set and the verdict
//                        for Z and *.Z, with and without the CA's identities;
//   rcode_name           the rcode in every error message.
//
// Input: one DNS message. Every function gets it, asked about the name of
// its question (and, as the owner's zone, that name and its parent), or
// about _acme-challenge.example.com when it has none: the functions ignore
// records of other owners, as the look-ups do.
//
// Normal outcomes: ldns refusing the message (the exchange reports "an
// answer that does not parse"); every result, including none, a CNAME
// target DnsName refuses (`unusable`, reported) and names with escapes
// (skipped). Nothing is documented to throw: anything thrown, and any
// sanitizer report, is a finding. What must hold, or the target aborts: a
// zone found is at or above the name asked; NS names and addresses come
// each at most once where the callers rely on it (NS names); addresses
// carry the port asked; an `unusable` hop has no target.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <vector>

#include "common/dns_name.h"
#include "issuer/dns/authoritative_servers.h"
#include "issuer/dns/caa.h"
#include "issuer/dns/challenge_dns.h"
#include "issuer/dns/ldns_glue.h"

namespace {

using namespace acmezone;
using namespace acmezone::issuer;

constexpr std::uint16_t kPort = 5353;

void require(bool ok) {
    if (!ok) {
        std::abort();
    }
}

// The name the answer is about: its first question's, if DnsName takes it.
DnsName asked_name(const ldns_pkt* pkt) {
    const ldns_rr_list* qs = ldns_pkt_question(pkt);
    if (qs != nullptr && ldns_rr_list_rr_count(qs) > 0) {
        if (auto name = from_ldns_dname(ldns_rr_owner(ldns_rr_list_rr(qs, 0)))) {
            return *name;
        }
    }
    return DnsName::parse("_acme-challenge.example.com");
}

void read_answer(const ldns_pkt* pkt) {
    const DnsName name = asked_name(pkt);
    (void)rcode_name(ldns_pkt_get_rcode(pkt));

    if (const std::optional<DnsName> zone = zone_in_soa_answer(pkt, name)) {
        require(name.is_at_or_below(*zone));
    }
    std::vector<DnsName> zones{name};
    if (auto parent = name.parent()) {
        zones.push_back(*parent);
    }
    for (const DnsName& zone : zones) {
        const std::vector<DnsName> ns = ns_names_in_answer(pkt, zone);
        for (std::size_t i = 0; i < ns.size(); ++i) {
            require(std::count(ns.begin(), ns.end(), ns[i]) == 1);
        }
    }
    for (ldns_rr_type type : {LDNS_RR_TYPE_A, LDNS_RR_TYPE_AAAA}) {
        for (const Endpoint& ep : addresses_in_answer(pkt, type, kPort)) {
            require(ep.to_string().ends_with(":" + std::to_string(kPort)));
        }
    }
    const CnameHop hop = cname_in_answer(pkt, name);
    require(!(hop.unusable && hop.target));
    for (const std::string& value : txt_values_in_answer(pkt, name)) {
        (void)quoted(value);
    }
    CaaSet set;
    set.owner = name;
    set.records = caa_records_in_answer(pkt);
    for (const CaaRecord& r : set.records) {
        (void)r.text();
        (void)caa_issuer_domain(r.value);
    }
    for (const std::vector<std::string>& ids :
         {std::vector<std::string>{}, std::vector<std::string>{"letsencrypt.org", "pki.goog"}}) {
        for (bool wildcard : {false, true}) {
            (void)caa_decide(set, name, wildcard, ids).detail;
        }
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static const bool kTrace = std::getenv("ACMEZONE_FUZZ_TRACE") != nullptr;
    std::string why;
    const LdnsPkt pkt = parse_message({data, size}, &why);
    if (!pkt) {
        if (kTrace) {
            std::fprintf(stderr, "not parsed: %s\n", why.c_str());
        }
        return 0;
    }
    read_answer(pkt.get());
    if (kTrace) {
        std::fprintf(stderr, "%s about %s\n", rcode_name(ldns_pkt_get_rcode(pkt.get())).c_str(),
                     asked_name(pkt.get()).text().c_str());
    }
    return 0;
}
