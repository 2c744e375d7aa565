// What a server's answer holds, parsed and checked before anything is
// installed (issue 16: verify before installing).
//
// The answers are those of issuer/serve/zone_answers.h:
//     GET /v1/zones          {"zones": [{"zone", "version", "not_after"}...]}
//     GET /v1/zones/<zone>   {"zone", "version", "written", "not_after",
//                             "default_key_type",
//                             "keys": {"<key type>": {"cert", "chain",
//                                      "fullchain", "privkey"}...}}
// parse_zone_set() and parse_zone_listing() read untrusted bytes: anything
// malformed (not JSON, a missing or mistyped field, an unknown key type, a
// version that is not a decimal number, a zone that is not a DNS name) is an
// AnswerError saying what; they never touch a file. check_zone_set() then
// refuses (AnswerError naming the key type and the cause) unless, for every
// key type:
//   - the private key parses and is of that type, and the certificate's key
//     is its public half (certs/cert_check.h);
//   - the certificate's DNS names are exactly the zone and *.zone;
//   - it is inside its validity period now;
//   - the chain verifies (to `trust` when given, else to the chain's last
//     certificate);
//   - fullchain is cert then chain.
// The answer must also name the zone asked for. Private keys are held only
// in the ZoneSet (wiped when it goes) and never appear in a message.
#pragma once

#include <chrono>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "common/dns_name.h"
#include "issuer/certs/cert_key.h"

namespace acmezone::issuer {

class AnswerError : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

struct KeySetFiles {
    KeyType type = KeyType::ecdsa_p256;
    std::string cert;
    std::string chain;
    std::string fullchain;
    std::string privkey;
};

struct ZoneSet {
    ZoneSet() = default;
    ~ZoneSet();  // wipes the private keys
    ZoneSet(ZoneSet&&) = default;
    ZoneSet& operator=(ZoneSet&&) = default;
    ZoneSet(const ZoneSet&) = delete;
    ZoneSet& operator=(const ZoneSet&) = delete;

    DnsName zone;
    unsigned long version = 0;
    std::chrono::system_clock::time_point written;
    std::vector<KeySetFiles> keys;  // at least one; keys.front() is the default type
    std::chrono::system_clock::time_point not_after;  // filled by check_zone_set
};

struct ZoneListing {
    DnsName zone;
    unsigned long version = 0;
};

// The largest version number accepted (the store's .v-N names stay short).
inline constexpr unsigned long kMaxVersion = 999999999999UL;

// Parses "123" (decimal, no sign, no leading zero, at most kMaxVersion).
std::optional<unsigned long> parse_version(std::string_view text);

ZoneSet parse_zone_set(std::string_view body);
std::vector<ZoneListing> parse_zone_listing(std::string_view body);

// Checks `set` as said above; fills not_after (the earliest of its
// certificates'). `trust_file`: optional PEM file of roots.
void check_zone_set(ZoneSet& set, const DnsName& asked,
                    const std::optional<std::string>& trust_file);

}  // namespace acmezone::issuer
