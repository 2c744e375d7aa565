// RFC 2136 UPDATE messages: decoding a request into the store's terms, and
// encoding the control socket's answers.
//
// Decoding (decode_update), on a message ldns_wire2pkt parsed (the zone is
// ldns's question section, prerequisites its answer section, updates its
// authority section). The first problem found decides the RCODE:
//   zone count != 1, zone type not SOA, zone class not IN       FORMERR
//   zone neither a claimed apex nor above one                   NOTAUTH
//   a prerequisite or update TTL/class/RDATA combination that   FORMERR
//     RFC 2136 §2.4/§2.5/§3.4.1.3 forbids, a meta type (ANY in
//     the wrong place, AXFR, IXFR, MAILA, MAILB, OPT, TSIG)
//   a name outside the zone section                             NOTZONE
//   an update name in no claimed zone, or below a one-name       REFUSED
//     _acme-challenge zone (only challenge-zones have names below the apex)
//   an update of a type other than TXT                          REFUSED
//   a TXT value over kMaxTxtOctets of RDATA                     REFUSED
// Updates map to Change: class IN TXT → add (TTL ignored: the served TTL is
// the config's), class NONE TXT → delete_value, class ANY TXT →
// delete_txt, class ANY ANY → delete_name.
// Prerequisites map to the store's Prerequisite (TXT), except those on other
// types, decided here: at a claimed apex the SOA and NS exist (so "name in
// use" holds there and "name not in use" fails), elsewhere nothing but TXT
// exists. Value-dependent prerequisites (class IN) on types other than TXT
// answer NXRRSET. Those decided here end in `failed_prerequisite`, which the
// caller answers only after the grant check (a key learns nothing outside
// its scope).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "common/dns_name.h"
#include "common/dns_rcode.h"
#include "common/dns_wire.h"
#include "common/ldns_ptr.h"
#include "plugin/challenge_store.h"
#include "plugin/zone_claims.h"

namespace acmezone::plugin {

// Largest TXT RDATA accepted (ACME values are 44 octets).
inline constexpr std::size_t kMaxTxtOctets = 1024;

struct UpdateRequest {
    DnsName zone;
    std::vector<Prerequisite> prerequisites;
    std::vector<Change> changes;
    std::vector<DnsName> names;  // every owner name, prerequisites and updates, each once
    std::uint8_t failed_prerequisite = kRcodeNoError;  // decided here (see above)
    std::string failed_detail;
};

struct DecodeResult {
    std::uint8_t rcode = kRcodeNoError;  // not NOERROR: answer with it, `request` is partial
    std::string detail;                  // why, for the log
    UpdateRequest request;
};

DecodeResult decode_update(const ldns_pkt* update, const ZoneClaims& claims);

// "NOERROR", "NOTAUTH", ... ("RCODE42" for others).
std::string rcode_name(std::uint8_t rcode);

// The answer to a parsed request: same ID and opcode, QR set, the question
// (zone) section copied, `rcode`, no other records. `aa` sets the AA bit.
LdnsPkt make_answer(const ldns_pkt* request, std::uint8_t rcode, bool aa = false);

// A header-only answer to a request that could not be parsed: ID and opcode
// from its first octets, QR set, all counts 0. Empty when the request is
// shorter than a header or is itself an answer.
std::vector<std::uint8_t> header_only_answer(std::span<const std::uint8_t> request,
                                             std::uint8_t rcode);

// Wire forms (to_wire) and parsing (parse_message): common/dns_wire.h.

}  // namespace acmezone::plugin
