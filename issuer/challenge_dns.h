// The issuer's DNS side of DNS-01: where a challenge value must go, writing
// it through the plugin's control socket(s), and waiting until every
// authoritative server serves it.
//
// Thread-safe: one ChallengeDns serves all zones in flight.
// Errors are thrown as DnsError with a message in the operator's words:
//   "control socket 127.0.0.1:5353 answered REFUSED for
//    _acme-challenge.example.com (key acme-key not granted there)"
//   "_acme-challenge.example.com: 127.0.0.1:5300 does not serve value
//    \"abc...\" after 30 s (answered NXDOMAIN)"
#pragma once

#include <chrono>
#include <stdexcept>
#include <string>
#include <vector>

#include "common/dns_name.h"
#include "common/endpoint.h"
#include "common/tsig_keyring.h"

namespace acmezone::issuer {

class DnsError : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

struct DnsSettings {
    std::vector<Endpoint> controls;                 // every control socket gets every UPDATE
    TsigKey key;                                    // signs the UPDATEs
    Endpoint resolver;                              // follows CNAMEs, finds the NS set
    std::vector<Endpoint> check_servers;            // if set: checked instead of the zone's NS
    std::chrono::milliseconds timeout{3000};        // one DNS exchange
    std::chrono::seconds propagation_timeout{120};  // wait_until_served
    std::chrono::milliseconds propagation_interval{100};  // between polls
};

class ChallengeDns {
  public:
    explicit ChallengeDns(DnsSettings settings);

    // `_acme-challenge.<zone>`, following CNAME chains (loops and chains
    // longer than 8 are errors) to the name the values must be written at.
    DnsName challenge_name(const DnsName& zone) const;

    // One UPDATE per control socket adding all `values` (TXT, one string each)
    // at `owner`; throws DnsError when any socket does not answer NOERROR.
    void publish(const DnsName& owner, const std::vector<std::string>& values) const;

    // Deletes exactly these values at `owner` from every control socket. Tries
    // every socket even when one fails; throws DnsError listing the failures.
    void unpublish(const DnsName& owner, const std::vector<std::string>& values) const;

    // Returns when every authoritative server of the zone holding `owner`
    // (its NS set's addresses, or check_servers) answers TXT at `owner` with
    // every one of `values`; polls every propagation_interval; throws DnsError
    // naming the first server still lacking a value at the deadline.
    void wait_until_served(const DnsName& owner, const std::vector<std::string>& values) const;

  private:
    DnsSettings settings_;
};

}  // namespace acmezone::issuer
