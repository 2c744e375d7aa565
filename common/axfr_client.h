// A zone transfer (AXFR, RFC 5936) over TCP from one server, optionally
// TSIG-signed (common/tsig_signer.h): how the plugin and the issuer read a
// catalog zone (catalog_zone.h); and the SOA query that tells the plugin
// whether a refresh needs one.
//
// transfer_zone() sends one AXFR query and reads answer messages until the
// zone's SOA comes a second time. Every message must carry the query's ID,
// QR, NOERROR and, when a key is given, a TSIG that verifies (the first
// against the request's MAC, each next one against the previous MAC). The
// whole transfer ends by one deadline; at most kMaxAxfrOctets are read.
//
// Failures throw AxfrError, whose what() names the zone, the server and what
// happened, e.g.
//   "AXFR of catalog.example from 127.0.0.1:5300: the server answered REFUSED"
//   "AXFR of catalog.example from 127.0.0.1:5300: no answer within 5 s"
// Each call opens and closes its own connection: any thread may call it.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "common/dns_name.h"
#include "common/endpoint.h"
#include "common/ldns_ptr.h"
#include "common/tsig_keyring.h"

namespace acmezone {

inline constexpr std::size_t kMaxAxfrOctets = 64u << 20;

class AxfrError : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

// The zone's records in the order received (SOA first and last). `key`:
// sign with it and require signed answers; null: unsigned.
std::vector<LdnsRr> transfer_zone(const Endpoint& server, const DnsName& zone, const TsigKey* key,
                                  std::chrono::milliseconds timeout);

// The serial of the zone's SOA as `server` answers it now: one SOA query
// over TCP, signed and checked as transfer_zone's (what a refresh compares
// before it transfers). Throws AxfrError, its what() beginning "SOA query
// for ZONE to SERVER: ", also when the answer holds no SOA of the zone.
std::uint32_t query_soa_serial(const Endpoint& server, const DnsName& zone, const TsigKey* key,
                               std::chrono::milliseconds timeout);

}  // namespace acmezone
