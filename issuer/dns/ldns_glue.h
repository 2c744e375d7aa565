// The small seam between acmezone's own types and ldns, for the issuer's DNS
// code (challenge_dns, dns_exchange, tsig_signer, authoritative_servers).
//
// Every ldns object the issuer creates lives in one of the owning handles
// of common/ldns_ptr.h (std::unique_ptr with the matching ldns free function), so that no
// error path needs a naked *_free. Names cross the seam as text: DnsName's
// canonical form plus a trailing dot is what ldns parses, and what ldns
// prints (absolute, lower-case as received) parses back into a DnsName.
// ldns may escape odd octets ("\032"); DnsName refuses escapes, and such a
// name is reported, never guessed at.
//
// Nothing here holds state: every function is safe to call from any thread.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/dns_name.h"
#include "common/dns_wire.h"
#include "common/ldns_ptr.h"

namespace acmezone::issuer {

// Names and TXT strings cross the seam in common/dns_wire.h (the plugin's
// catalog transfer uses them too).
using acmezone::from_ldns_dname;
using acmezone::to_ldns_dname;
using acmezone::txt_value;

// "NOERROR", "NXDOMAIN", "REFUSED", ...; "RCODE 23" for a code ldns does not know.
std::string rcode_name(ldns_pkt_rcode rcode);
// "TXT", "CNAME", ...
std::string rr_type_name(ldns_rr_type type);

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
