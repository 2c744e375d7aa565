// What the control socket's messages mean: one DNS message in (as octets,
// with its peer), its answer out (as octets). No sockets here: the transport
// (control_transport.h) moves the octets, this decides what to answer.
//
// One message (handle()): TSIG check (tsig_verifier.h; an exact
//   retransmission of a signed request answered in the last fudge window
//   gets the very answer sent then, and changes nothing; a copy that arrives
//   while the first is still being answered gets none) → parse (ldns) →
//   QUERY   SOA IN for a claimed apex: the SOA, AA. For a name inside a
//           claimed zone: NOERROR, AA, the apex SOA in the authority section
//           (nsupdate and certbot take the zone from it). Anything else:
//           REFUSED. A signed query gets a signed answer; unsigned is fine.
//   UPDATE  must be signed (unsigned: REFUSED). decode_update
//           (update_message.h) → every name granted to the key
//           (grant_table.h), else REFUSED naming key and name in the log →
//           prerequisites decided by the decoder → ChallengeStore::
//           apply_async, whose callback runs only once the change is durable
//           and published, so the answer (sent from it) is read-your-writes.
//           Then NOTIFY of the changed apexes is queued (notifier.h), never
//           awaited.
//   NOTIFY  for a followed catalog zone from its server's address: handed to
//           the CatalogFollower (catalog_follower.h), which transfers it at
//           once; answered NOERROR, AA. For any other zone, or from any other
//           address: REFUSED, logged. Signed or not.
//   other   NOTIMP.
// Answers to signed requests are signed with the request's key, error
// answers as RFC 8945 §5.3 says. A message that is itself an answer (QR) or
// shorter than a header gets no answer. UDP answers over kMaxUdpAnswer
// octets are truncated to header + question with TC.
//
// Logging. Every refusal is logged with the peer, and for signed messages
// the key (never its secret); warnings about unauthenticated messages go
// through the shared WarningLimiter.
//
// Threads: handle() from any thread, concurrently. The store, the notifier
// and the warning budget are borrowed and must outlive the handler and
// every reply it still owes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "common/endpoint.h"
#include "common/ldns_ptr.h"
#include "plugin/catalog_follower.h"
#include "plugin/challenge_store.h"
#include "plugin/grant_table.h"
#include "plugin/notifier.h"
#include "plugin/plugin_config.h"
#include "plugin/tsig_verifier.h"
#include "plugin/update_message.h"
#include "plugin/warning_limiter.h"
#include "plugin/zone_claims.h"

namespace acmezone::plugin {

class ControlHandler {
  public:
    static constexpr std::size_t kMaxUdpAnswer = 512;

    enum class Protocol { udp, tcp };
    // Gets the answer to one message (empty: none), exactly once: before
    // handle() returns, or, for an UPDATE that changes the store, later on
    // the store's committer thread once the change is durable.
    using Reply = std::function<void(std::vector<std::uint8_t>)>;

    ControlHandler(const PluginConfig& config, const ZoneClaims& claims, ChallengeStore& store,
                   Notifier& notifier, WarningLimiter& warnings,
                   CatalogFollower* catalogs = nullptr);
    ControlHandler(const ControlHandler&) = delete;
    ControlHandler& operator=(const ControlHandler&) = delete;

    // Returns true when the message was signed with a key of the keyring
    // and its signature verified (not a retransmission): what lets a TCP
    // connection live on (control_transport.h).
    bool handle(std::span<const std::uint8_t> wire, const Endpoint& peer, Protocol protocol,
                Reply reply);

  private:
    // The answer to a message whose TSIG was checked (throws on internal
    // errors); nullopt when the store will answer it through `reply`.
    std::optional<std::vector<std::uint8_t>> respond(std::span<const std::uint8_t> wire,
                                                     const Endpoint& peer, bool tcp,
                                                     const TsigOutcome& tsig, std::uint64_t now,
                                                     const Reply& reply);
    // The answer to a parsed request by its opcode; null when the store
    // answers later.
    LdnsPkt answer_request(const std::shared_ptr<const ldns_pkt>& request, const Endpoint& peer,
                           bool tcp, const TsigOutcome& tsig, const Reply& reply);
    // Remembers `out` for retransmissions of the request, then sends it.
    void finish(const TsigOutcome& tsig, std::vector<std::uint8_t> out, const Reply& reply);
    // The wire form of `answer` to `request`: truncated over UDP when too
    // big, signed when the request was.
    std::vector<std::uint8_t> render(const ldns_pkt* request, const ldns_pkt* answer, bool tcp,
                                     const TsigOutcome& tsig, std::uint64_t now);
    LdnsPkt answer_query(const ldns_pkt* q, const Endpoint& peer);
    LdnsPkt answer_notify(const ldns_pkt* q, const Endpoint& peer);
    // Null when the store answers later (see handle()).
    LdnsPkt answer_update(const std::shared_ptr<const ldns_pkt>& q, const TsigOutcome& tsig,
                          const Endpoint& peer, bool tcp, const Reply& reply);
    // The answer sent from the store's callback once it has decided.
    void answer_decided_update(const std::shared_ptr<const ldns_pkt>& q,
                               const std::shared_ptr<const UpdateRequest>& r,
                               const TsigOutcome& tsig, bool tcp, const std::string& who,
                               const UpdateResult& result, const Reply& reply);
    // The answer once the store has decided: logs it and queues the NOTIFYs.
    LdnsPkt settle_update(const ldns_pkt* q, const std::string& who, const UpdateRequest& r,
                          const UpdateResult& result);
    void push_soa(ldns_pkt* answer, const DnsName& apex, ldns_pkt_section section);

    const PluginConfig& config_;
    const ZoneClaims& claims_;
    ChallengeStore& store_;
    Notifier& notifier_;
    WarningLimiter& warnings_;
    CatalogFollower* catalogs_;
    GrantTable grants_;
    TsigVerifier verifier_;
};

}  // namespace acmezone::plugin
