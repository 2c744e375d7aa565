// See caa.h.
//
// ldns holds a CAA record as three rdfs: flags (INT8), tag (TAG: a length
// octet, then the tag) and value (LONG_STR: the rest of the RDATA).
#include "issuer/dns/caa.h"

#include <algorithm>
#include <cctype>

#include "issuer/dns/challenge_dns.h"
#include "issuer/dns/dns_exchange.h"
#include "issuer/dns/ldns_glue.h"

namespace acmezone::issuer {
namespace {

std::string lower(std::string s) {
    for (char& c : s) {
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    return s;
}

std::string trim(const std::string& s) {
    auto first = s.find_first_not_of(" \t");
    if (first == std::string::npos) {
        return "";
    }
    auto last = s.find_last_not_of(" \t");
    return s.substr(first, last - first + 1);
}

bool known_tag(const std::string& tag) {
    return tag == "issue" || tag == "issuewild" || tag == "iodef" || tag == "issuemail" ||
           tag == "issuevmc" || tag == "contactemail" || tag == "contactphone";
}

std::string identities_text(const std::vector<std::string>& identities) {
    std::string out;
    for (const std::string& id : identities) {
        out += (out.empty() ? "" : ", ") + id;
    }
    return out;
}

std::optional<CaaRecord> record_of(const ldns_rr* rr) {
    if (ldns_rr_rd_count(rr) != 3) {
        return std::nullopt;
    }
    const ldns_rdf* flags = ldns_rr_rdf(rr, 0);
    const ldns_rdf* tag = ldns_rr_rdf(rr, 1);
    const ldns_rdf* value = ldns_rr_rdf(rr, 2);
    if (ldns_rdf_size(flags) != 1 || ldns_rdf_size(tag) < 1) {
        return std::nullopt;
    }
    CaaRecord r;
    r.flags = ldns_rdf_data(flags)[0];
    const auto* t = reinterpret_cast<const char*>(ldns_rdf_data(tag));
    std::size_t tag_size = ldns_rdf_size(tag);
    if (static_cast<unsigned char>(t[0]) + 1u == tag_size) {
        r.tag = lower(std::string(t + 1, tag_size - 1));
    } else {
        r.tag = lower(std::string(t, tag_size));
    }
    r.value =
        std::string(reinterpret_cast<const char*>(ldns_rdf_data(value)), ldns_rdf_size(value));
    return r;
}

}  // namespace

std::string CaaRecord::text() const {
    return std::to_string(flags) + " " + tag + " " + quoted(value);
}

std::vector<CaaRecord> caa_records_in_answer(const ldns_pkt* reply) {
    std::vector<CaaRecord> out;
    for (const ldns_rr* rr : rrs_of_type(ldns_pkt_answer(reply), LDNS_RR_TYPE_CAA)) {
        if (auto r = record_of(rr)) {
            out.push_back(std::move(*r));
        }
    }
    return out;
}

std::string caa_issuer_domain(const std::string& value) {
    return lower(trim(value.substr(0, value.find(';'))));
}

CaaVerdict caa_decide(const CaaSet& set, const DnsName& zone, bool wildcard,
                      const std::vector<std::string>& identities) {
    const std::string who = wildcard ? "*." + zone.text() : zone.text();
    if (set.records.empty() && set.unchecked) {
        return {CaaVerdict::Kind::unknown, set.note};
    }
    if (set.records.empty()) {
        return {CaaVerdict::Kind::allowed,
                "no CAA records at or above " + zone.text() +
                    (set.note.empty() ? std::string() : " (" + set.note + ")")};
    }
    const std::string where = "CAA at " + set.owner.text();
    for (const CaaRecord& r : set.records) {
        if ((r.flags & 0x80) != 0 && !known_tag(r.tag)) {
            return {CaaVerdict::Kind::forbidden,
                    where + " has a critical property acmezone does not know (" + r.text() +
                        "), which forbids every CA"};
        }
    }
    std::vector<const CaaRecord*> props;
    if (wildcard) {
        for (const CaaRecord& r : set.records) {
            if (r.tag == "issuewild") {
                props.push_back(&r);
            }
        }
    }
    const char* tag = "issuewild";
    if (props.empty()) {
        tag = "issue";
        for (const CaaRecord& r : set.records) {
            if (r.tag == "issue") {
                props.push_back(&r);
            }
        }
    }
    if (props.empty()) {
        return {CaaVerdict::Kind::allowed, where + " has no issue" +
                                               std::string(wildcard ? "/issuewild" : "") +
                                               " property: any CA may issue for " + who};
    }
    std::vector<std::string> named;  // the CAs the properties allow
    for (const CaaRecord* r : props) {
        std::string domain = caa_issuer_domain(r->value);
        if (!domain.empty()) {
            named.push_back(domain);
        }
    }
    std::string props_text;
    for (const CaaRecord* r : props) {
        props_text += (props_text.empty() ? "" : ", ") + r->text();
    }
    if (named.empty()) {
        return {CaaVerdict::Kind::forbidden,
                where + " allows no CA to issue for " + who + " (" + props_text + ")"};
    }
    if (identities.empty()) {
        return {CaaVerdict::Kind::unknown,
                where + " allows only " + identities_text(named) + " to issue for " + who +
                    ", and the CA's own CAA identity is unknown (its directory lists no "
                    "caaIdentities)"};
    }
    for (const std::string& id : identities) {
        if (std::find(named.begin(), named.end(), lower(id)) != named.end()) {
            return {CaaVerdict::Kind::allowed,
                    where + " allows " + lower(id) + " (" + tag + ") to issue for " + who};
        }
    }
    return {CaaVerdict::Kind::forbidden, where + " allows only " + identities_text(named) +
                                             " to issue for " + who + ", not this CA (" +
                                             identities_text(identities) + ")"};
}

CaaSet find_relevant_caa(const DnsName& zone, const Endpoint& resolver,
                         std::chrono::milliseconds timeout) {
    std::optional<DnsName> name = zone;
    // One query per label at most: bounded by the name's label count.
    while (name && !name->is_root()) {
        DnsReply reply;
        try {
            reply = query(resolver, *name, LDNS_RR_TYPE_CAA, /*recursion_desired=*/true, timeout);
        } catch (const ExchangeError& e) {
            throw DnsError("resolver " + std::string(e.what()) + " (asked CAA " + name->fqdn() +
                           ")");
        }
        ldns_pkt_rcode rcode = ldns_pkt_get_rcode(reply.packet.get());
        if (rcode == LDNS_RCODE_REFUSED) {
            // An authoritative-only server as resolver: it knows nothing there.
            return CaaSet{zone,
                          {},
                          "resolver " + resolver.to_string() + " refused CAA " + name->fqdn() +
                              ", so " + name->text() + (*name == zone ? "" : " and above") +
                              " could not be checked",
                          *name == zone};
        }
        if (rcode != LDNS_RCODE_NOERROR && rcode != LDNS_RCODE_NXDOMAIN) {
            throw DnsError("resolver " + resolver.to_string() + " answered " + rcode_name(rcode) +
                           " to CAA " + name->fqdn());
        }
        CaaSet set;
        set.owner = *name;
        // The answer may hold a CNAME chain first: the CAA records at its end
        // are the name's (RFC 8659 §3 follows aliases as resolution does).
        set.records = caa_records_in_answer(reply.packet.get());
        if (!set.records.empty()) {
            return set;
        }
        name = name->parent();
    }
    return CaaSet{zone, {}, "", false};
}

}  // namespace acmezone::issuer
