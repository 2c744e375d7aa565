// Finding the zone of a name, its NS set and their addresses through the
// resolver; see authoritative_servers.h.
#include "issuer/dns/authoritative_servers.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <cstring>

#include "common/log.h"
#include "issuer/dns/challenge_dns.h"
#include "issuer/dns/dns_exchange.h"
#include "issuer/dns/ldns_glue.h"

namespace acmezone::issuer {
namespace {

DnsReply ask(const Endpoint& resolver, const DnsName& name, ldns_rr_type type,
             std::chrono::milliseconds timeout) {
    try {
        return query(resolver, name, type, /*recursion_desired=*/true, timeout);
    } catch (const ExchangeError& e) {
        throw DnsError("resolver " + std::string(e.what()) + " (asked " + rr_type_name(type) + " " +
                       name.fqdn() + ")");
    }
}

// The owner of the first SOA in `list` when it is `name` or above it.
std::optional<DnsName> soa_owner_at_or_above(const ldns_rr_list* list, const DnsName& name) {
    for (const ldns_rr* rr : rrs_of_type(list, LDNS_RR_TYPE_SOA)) {
        std::optional<DnsName> owner = from_ldns_dname(ldns_rr_owner(rr));
        if (owner && name.is_at_or_below(*owner)) {
            return owner;
        }
    }
    return std::nullopt;
}

std::optional<Endpoint> endpoint_of(const ldns_rr* rr, std::uint16_t port) {
    const ldns_rdf* rdf = ldns_rr_rdf(rr, 0);
    if (rdf == nullptr) {
        return std::nullopt;
    }
    if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_A && ldns_rdf_size(rdf) == 4) {
        sockaddr_in sin{};
        sin.sin_family = AF_INET;
        sin.sin_port = htons(port);
        std::memcpy(&sin.sin_addr, ldns_rdf_data(rdf), 4);
        return Endpoint::from_sockaddr(reinterpret_cast<const sockaddr*>(&sin), sizeof sin);
    }
    if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_AAAA && ldns_rdf_size(rdf) == 16) {
        sockaddr_in6 sin6{};
        sin6.sin6_family = AF_INET6;
        sin6.sin6_port = htons(port);
        std::memcpy(&sin6.sin6_addr, ldns_rdf_data(rdf), 16);
        return Endpoint::from_sockaddr(reinterpret_cast<const sockaddr*>(&sin6), sizeof sin6);
    }
    return std::nullopt;
}

}  // namespace

std::optional<DnsName> zone_in_soa_answer(const ldns_pkt* reply, const DnsName& name) {
    if (auto zone = soa_owner_at_or_above(ldns_pkt_answer(reply), name)) {
        return zone;
    }
    return soa_owner_at_or_above(ldns_pkt_authority(reply), name);
}

std::vector<DnsName> ns_names_in_answer(const ldns_pkt* reply, const DnsName& zone) {
    std::vector<DnsName> out;
    for (const ldns_rr* rr : rrs_of_type(ldns_pkt_answer(reply), LDNS_RR_TYPE_NS)) {
        std::optional<DnsName> rr_owner = from_ldns_dname(ldns_rr_owner(rr));
        std::string printed;
        std::optional<DnsName> target = from_ldns_dname(ldns_rr_rdf(rr, 0), &printed);
        if (!rr_owner || *rr_owner != zone) {
            continue;
        }
        if (!target) {
            log_warning("zone ", zone.fqdn(), ": skipping NS ", printed,
                        ", a name acmezone cannot handle");
            continue;
        }
        if (std::find(out.begin(), out.end(), *target) == out.end()) {
            out.push_back(*target);
        }
    }
    return out;
}

std::vector<Endpoint> addresses_in_answer(const ldns_pkt* reply, ldns_rr_type type,
                                          std::uint16_t port) {
    std::vector<Endpoint> out;
    for (const ldns_rr* rr : rrs_of_type(ldns_pkt_answer(reply), type)) {
        if (std::optional<Endpoint> ep = endpoint_of(rr, port)) {
            out.push_back(*ep);
        }
    }
    return out;
}

DnsName find_zone(const DnsName& owner, const Endpoint& resolver,
                  std::chrono::milliseconds timeout) {
    std::optional<DnsName> name = owner;
    // One SOA query per label at most: bounded by the name's label count.
    for (std::size_t step = 0; name && step <= owner.label_count(); ++step) {
        DnsReply reply = ask(resolver, *name, LDNS_RR_TYPE_SOA, timeout);
        ldns_pkt_rcode rcode = ldns_pkt_get_rcode(reply.packet.get());
        if (rcode != LDNS_RCODE_NOERROR && rcode != LDNS_RCODE_NXDOMAIN) {
            throw DnsError("resolver " + resolver.to_string() + " answered " + rcode_name(rcode) +
                           " to SOA " + name->fqdn() + " (looking for the zone of " + owner.fqdn() +
                           ")");
        }
        if (auto zone = zone_in_soa_answer(reply.packet.get(), *name)) {
            return *zone;
        }
        name = name->parent();
    }
    throw DnsError("resolver " + resolver.to_string() + " knows no zone holding " + owner.fqdn() +
                   " (no SOA record at or above it)");
}

AuthoritativeServers find_authoritative_servers(const DnsName& owner, const Endpoint& resolver,
                                                std::chrono::milliseconds timeout,
                                                std::uint16_t port) {
    AuthoritativeServers out;
    out.zone = find_zone(owner, resolver, timeout);
    DnsReply ns_reply = ask(resolver, out.zone, LDNS_RR_TYPE_NS, timeout);
    out.ns_names = ns_names_in_answer(ns_reply.packet.get(), out.zone);
    if (out.ns_names.empty()) {
        throw DnsError("resolver " + resolver.to_string() + " answered " +
                       rcode_name(ldns_pkt_get_rcode(ns_reply.packet.get())) +
                       " without NS records to NS " + out.zone.fqdn() + " (the zone holding " +
                       owner.fqdn() + ")");
    }
    for (const DnsName& ns : out.ns_names) {
        std::size_t before = out.servers.size();
        for (ldns_rr_type type : {LDNS_RR_TYPE_A, LDNS_RR_TYPE_AAAA}) {
            DnsReply reply = ask(resolver, ns, type, timeout);
            for (const Endpoint& ep : addresses_in_answer(reply.packet.get(), type, port)) {
                if (std::find(out.servers.begin(), out.servers.end(), ep) == out.servers.end()) {
                    out.servers.push_back(ep);
                }
            }
        }
        if (out.servers.size() == before) {
            log_warning("zone ", out.zone.fqdn(), ": NS ", ns.fqdn(),
                        " has no A or AAAA record at resolver ", resolver.to_string(),
                        "; not checking it");
        }
    }
    if (out.servers.empty()) {
        std::string names;
        for (const DnsName& ns : out.ns_names) {
            names += (names.empty() ? "" : ", ") + ns.fqdn();
        }
        throw DnsError("none of the NS names of zone " + out.zone.fqdn() + " (" + names +
                       ") has an address at resolver " + resolver.to_string());
    }
    return out;
}

}  // namespace acmezone::issuer
