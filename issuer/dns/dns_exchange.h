// One DNS exchange: a message out to one server, its answer back.
//
// UDP first; when the answer comes back truncated (TC), the same message again
// over TCP. The whole exchange, TCP retry included, ends by one deadline
// (`timeout` from the call). Over UDP the message is sent again at a third and
// at two thirds of the timeout, so one lost datagram costs a fraction of it;
// resending is harmless for what the issuer sends (queries, and UPDATEs that
// add or delete exact values). An answer counts only when it comes from the
// server asked (connected socket), carries the message's ID and QR, and asks
// the same question (or none, as a FORMERR may); anything else is ignored.
//
// No resolver library, no retries across servers, no caching: the caller
// decides which server to ask. Each call opens and closes its own socket, so
// calls from many threads at once are fine.
//
// Failures throw ExchangeError; its what() names the server and what
// happened, without the server's role, which the caller prefixes:
//   "127.0.0.1:5353 did not answer within 3 s"
//   "127.0.0.1:5353 refused the query (nothing listens on UDP port 5353)"
#pragma once

#include <chrono>
#include <cstdint>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "common/dns_name.h"
#include "common/endpoint.h"
#include "issuer/dns/ldns_glue.h"

namespace acmezone::issuer {

class ExchangeError : public std::runtime_error {
  public:
    enum class Kind {
        timeout,    // no answer by the deadline
        refused,    // ICMP port unreachable / TCP RST: nothing listens there
        network,    // any other socket error, or the TCP stream broke off
        malformed,  // an answer ldns could not parse
    };
    ExchangeError(Kind kind, const std::string& what) : std::runtime_error(what), kind_(kind) {}
    Kind kind() const { return kind_; }

  private:
    Kind kind_;
};

struct DnsReply {
    LdnsPkt packet;                  // parsed; never null
    std::vector<std::uint8_t> wire;  // as received, for TSIG verification
    bool over_tcp = false;
};

// Sends `message` (wire form, with its ID set) to `server`; see above.
DnsReply exchange(const Endpoint& server, std::span<const std::uint8_t> message,
                  std::chrono::milliseconds timeout);

// A plain query for `name`/`type` (class IN) with a random ID, exchanged.
// `recursion_desired` sets RD: on for a resolver, off for an authoritative server.
DnsReply query(const Endpoint& server, const DnsName& name, ldns_rr_type type,
               bool recursion_desired, std::chrono::milliseconds timeout);

// Message IDs and wire forms: common/dns_wire.h.
using acmezone::random_message_id;
using acmezone::to_wire;

// "3 s", "1.5 s", "250 ms": a duration as operators read it.
std::string describe_duration(std::chrono::milliseconds duration);

}  // namespace acmezone::issuer
