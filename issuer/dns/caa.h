// Whether CAA records (RFC 8659) let a CA issue {Z, *.Z}.
//
// The relevant record set: CAA is asked at Z through the resolver (which
// follows CNAMEs); when Z has none, at its parent, and so on up to (not
// including) the root; the first non-empty set is the relevant one, for Z
// and for *.Z alike (§3: a wildcard's search starts at its base name). A
// resolver that refuses a name (an authoritative server used as resolver, as
// in tests) ends the climb there, with a note; when it refuses Z itself,
// nothing could be checked (`unchecked`), and the verdict is `unknown`.
//
// Deciding, for each name:
//   - Z: the `issue` properties; *.Z: the `issuewild` properties when there is
//     at least one, else the `issue` ones. No such property: any CA may issue.
//   - A property allows the CA when its issuer domain name (the value up to
//     the first ';', white space trimmed) equals one of the CA's identities
//     (case-insensitive). An empty domain (`0 issue ";"`) allows no CA.
//   - A property with the critical flag (128) and a tag acmezone does not
//     know forbids issuance outright (§4.1).
// The CA's identities are the directory's meta.caaIdentities, or the
// configured `[acme] caa-identity` values. With none known, properties that
// name a CA cannot be matched: that is reported as `unknown` (a warning for
// the operator, not a reason to skip the order), except when they allow no
// CA at all, which is `forbidden` whatever the identities.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "common/dns_name.h"
#include "common/endpoint.h"
#include "issuer/dns/ldns_glue.h"

namespace acmezone::issuer {

struct CaaRecord {
    std::uint8_t flags = 0;
    std::string tag;    // lower-cased
    std::string value;  // as received

    std::string text() const;  // `0 issue "letsencrypt.org"`
};

struct CaaSet {
    DnsName owner;  // where the relevant set was found (meaningless when empty)
    std::vector<CaaRecord> records;
    std::string note;        // why the climb stopped early, if it did
    bool unchecked = false;  // the resolver refused CAA at the zone itself
};

struct CaaVerdict {
    enum class Kind { allowed, forbidden, unknown };
    Kind kind = Kind::allowed;
    std::string detail;  // why, in the operator's words
};

// The CAA records of a CAA answer's answer section (after the CNAME chain it
// may hold first), in the order answered; a record ldns did not split into
// flags, tag and value is skipped. Pure: no I/O, whatever the answer holds.
std::vector<CaaRecord> caa_records_in_answer(const ldns_pkt* reply);

// The issuer domain name of an issue/issuewild value: "letsencrypt.org" for
// "letsencrypt.org; validationmethods=dns-01", "" for ";".
std::string caa_issuer_domain(const std::string& value);

// The verdict for `zone` (wildcard: for *.zone) given the relevant set.
CaaVerdict caa_decide(const CaaSet& set, const DnsName& zone, bool wildcard,
                      const std::vector<std::string>& identities);

// The relevant set for `zone` (see above); throws DnsError naming the
// resolver and the question when a lookup fails (anything but NOERROR or
// NXDOMAIN, or no answer).
CaaSet find_relevant_caa(const DnsName& zone, const Endpoint& resolver,
                         std::chrono::milliseconds timeout);

}  // namespace acmezone::issuer
