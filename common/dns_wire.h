// Names, TXT strings, message IDs and wire forms between acmezone's types and
// ldns, for both programs (the issuer's DNS code, the catalog transfer that
// plugin and issuer share).
//
// Names cross as text: DnsName's canonical form plus a trailing dot is what
// ldns parses, and what ldns prints (absolute, lower-case as received) parses
// back into a DnsName. ldns may escape odd octets ("\032"); DnsName refuses
// escapes, and such a name is reported, never guessed at. No state: any
// thread may call these.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "common/dns_name.h"
#include "common/ldns_ptr.h"

namespace acmezone {

// An owned ldns domain name for `name`; throws std::runtime_error when ldns
// refuses it (it does not, for any valid DnsName).
LdnsRdf to_ldns_dname(const DnsName& name);
// The DnsName an ldns DNAME rdf holds; nullopt when it is not a DNAME or
// holds something DnsName refuses (escaped octets). `printed` gets ldns's
// text for error messages when non-null.
std::optional<DnsName> from_ldns_dname(const ldns_rdf* rdf, std::string* printed = nullptr);
// The strings of a TXT record joined into one (as CAs read a challenge TXT).
std::string txt_value(const ldns_rr* rr);
// A fresh random message ID (getrandom).
std::uint16_t random_message_id();
// The message's wire form; throws std::runtime_error when ldns cannot render it.
std::vector<std::uint8_t> to_wire(const ldns_pkt* packet);

// A DNS message from its wire form: every program's one way in, never
// ldns_wire2pkt directly. Before ldns parses, the records are walked, and a
// message is refused that holds a TSIG record that is not the last record of
// the additional section, or more than one OPT record (RFC 8945 5.1 and RFC
// 6891 6.1.1 make each a FORMERR). ldns 1.8 keeps the last TSIG record of
// several and loses the memory of the others: one answer to the issuer, or
// one transfer message to the catalog follower, leaked ~500 bytes. Returns
// null when the message is refused or ldns cannot parse it, with why in
// `why` when non-null.
LdnsPkt parse_message(std::span<const std::uint8_t> wire, std::string* why = nullptr);

}  // namespace acmezone
