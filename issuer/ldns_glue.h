// The small seam between acmezone's own types and ldns, for the issuer's DNS
// code (challenge_dns, dns_exchange, tsig_signer, authoritative_servers).
//
// Every ldns object the issuer creates lives in one of the owning handles
// below (std::unique_ptr with the matching ldns free function), so that no
// error path needs a naked *_free. Names cross the seam as text: DnsName's
// canonical form plus a trailing dot is what ldns parses, and what ldns
// prints (absolute, lower-case as received) parses back into a DnsName.
// ldns may escape odd octets ("\032"); DnsName refuses escapes, and such a
// name is reported, never guessed at.
//
// Nothing here holds state: every function is safe to call from any thread.
#pragma once

// ldns/common.h #defines bool, true and false unless stdbool.h came first.
#include <stdbool.h>
// clang-format off
#include <ldns/ldns.h>
// clang-format on

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/dns_name.h"

namespace acmezone::issuer {

struct LdnsPktFree {
    void operator()(ldns_pkt* p) const { ldns_pkt_free(p); }
};
struct LdnsRdfFree {
    void operator()(ldns_rdf* r) const { ldns_rdf_deep_free(r); }
};
struct LdnsRrFree {
    void operator()(ldns_rr* r) const { ldns_rr_free(r); }
};
struct LdnsRrListFree {
    void operator()(ldns_rr_list* l) const { ldns_rr_list_deep_free(l); }
};
struct LdnsMallocFree {  // wire buffers and strings ldns allocates with malloc
    void operator()(void* p) const { LDNS_FREE(p); }
};

using LdnsPkt = std::unique_ptr<ldns_pkt, LdnsPktFree>;
using LdnsRdf = std::unique_ptr<ldns_rdf, LdnsRdfFree>;
using LdnsRr = std::unique_ptr<ldns_rr, LdnsRrFree>;
using LdnsRrList = std::unique_ptr<ldns_rr_list, LdnsRrListFree>;

// An owned ldns domain name for `name`; throws std::runtime_error when ldns
// refuses it (it does not, for any valid DnsName).
LdnsRdf to_ldns_dname(const DnsName& name);
// The DnsName an ldns DNAME rdf holds; nullopt when it is not a DNAME or
// holds something DnsName refuses (escaped octets). `printed` gets ldns's
// text for error messages when non-null.
std::optional<DnsName> from_ldns_dname(const ldns_rdf* rdf, std::string* printed = nullptr);

// "NOERROR", "NXDOMAIN", "REFUSED", ...; "RCODE 23" for a code ldns does not know.
std::string rcode_name(ldns_pkt_rcode rcode);
// "TXT", "CNAME", ...
std::string rr_type_name(ldns_rr_type type);

// The strings of a TXT record joined into one (as CAs read a challenge TXT).
std::string txt_value(const ldns_rr* rr);
// A TXT RR `owner` `ttl` `klass` with one character-string `value`; throws
// std::invalid_argument when `value` is longer than the 255 octets a
// character-string holds.
LdnsRr make_txt_rr(const DnsName& owner, const std::string& value, ldns_rr_class klass,
                   std::uint32_t ttl);

// The RRs of `list` with type `type` (borrowed pointers into `list`).
std::vector<const ldns_rr*> rrs_of_type(const ldns_rr_list* list, ldns_rr_type type);

// `value` quoted for a message: "\"abc\"" (control characters escaped).
std::string quoted(const std::string& value);

}  // namespace acmezone::issuer
