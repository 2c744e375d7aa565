// Which servers must serve a challenge value before the CA is asked.
//
// The zone holding `owner` is found as nsupdate and certbot find it: an SOA
// query for `owner` at the resolver; the answer's SOA (answer section: owner
// is an apex) or the SOA of its negative answer (authority section) names the
// zone; with neither, the same one label up, until the root. Then the zone's
// NS set, then each NS name's A and AAAA records, all from the resolver. An NS
// name without addresses is skipped with a warning; none at all is an error.
//
// The addresses are authoritative servers, queried later with RD clear, at
// port 53 (a parameter so that tests can run servers on loopback at a free
// port). Every lookup is one exchange with `timeout`. Errors are DnsError
// naming the resolver, the question and what it answered.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <vector>

#include "common/dns_name.h"
#include "common/endpoint.h"
#include "issuer/dns/ldns_glue.h"

namespace acmezone::issuer {

struct AuthoritativeServers {
    DnsName zone;                   // the zone holding the owner
    std::vector<DnsName> ns_names;  // its NS set, in the order answered
    std::vector<Endpoint> servers;  // their addresses at `port`, without duplicates
};

// The zone holding `owner` (SOA look-up walking up, see above).
DnsName find_zone(const DnsName& owner, const Endpoint& resolver,
                  std::chrono::milliseconds timeout);

// What the look-ups above make of one answer, parsed (ldns_wire2pkt) and
// whatever it holds: pure functions, no I/O.
//
// The zone an SOA answer about `name` names: the owner of the first SOA at
// or above `name` in its answer section, else in its authority section;
// nullopt with neither (also used for a control socket's SOA answer).
std::optional<DnsName> zone_in_soa_answer(const ldns_pkt* reply, const DnsName& name);
// The NS names of `zone` in an NS answer's answer section, in the order
// answered, each once; NS records of other owners are ignored, and a target
// DnsName refuses is skipped with a warning.
std::vector<DnsName> ns_names_in_answer(const ldns_pkt* reply, const DnsName& zone);
// The addresses in an A (`type` LDNS_RR_TYPE_A) or AAAA answer's answer
// section, at `port`, in the order answered; records of the other type or
// of the wrong size are ignored.
std::vector<Endpoint> addresses_in_answer(const ldns_pkt* reply, ldns_rr_type type,
                                          std::uint16_t port);

AuthoritativeServers find_authoritative_servers(const DnsName& owner, const Endpoint& resolver,
                                                std::chrono::milliseconds timeout,
                                                std::uint16_t port = 53);

}  // namespace acmezone::issuer
