// The control socket: where the issuer (and nsupdate, certbot, lego, ...)
// writes challenge values. RFC 2136 UPDATE, and the SOA queries clients send
// to find the zone, over UDP and TCP on every `listen` address of the
// plugin config; UPDATEs must be TSIG-signed with a key of the keyring and
// touch only names the key's grants allow.
//
// Parts, each its own file:
//   control_transport.h  sockets, threads, TCP framing, back-pressure,
//                        timeouts and every transport limit
//   control_handler.h    what a message means: TSIG, grants, queries,
//                        UPDATEs (handed to ChallengeStore::apply_async),
//                        rendering and signing answers
//   warning_limiter.h    the shared budget for warnings about
//                        unauthenticated messages
// ControlServer owns the transport and the handler and wires one to the
// other; it borrows the store and the Notifier, which the core owns (the
// core's purge also notifies through it).
//
// Who calls what. The core (core.h) builds one ControlServer per process
// and destroys it before the store and the notifier. The transport's
// threads (two reading UDP, one for TCP) call the handler; the handler calls
// the store, whose committer thread later sends the answer to an UPDATE that
// changed it (after the change is durable and published) and queues NOTIFYs.
//
// Limits (see the files): UDP answers over 512 octets are truncated with
// TC; at most 1024 messages unanswered before UDP reading pauses; at most
// max-tcp-connections TCP connections, each closed after tcp-idle-timeout
// idle or slow, or when it leaves over 256 KiB of answers unread.
#pragma once

#include <memory>
#include <vector>

#include "common/endpoint.h"
#include "plugin/catalog_follower.h"
#include "plugin/challenge_store.h"
#include "plugin/notifier.h"
#include "plugin/plugin_config.h"
#include "plugin/zone_claims.h"

namespace acmezone::plugin {

class ControlServer {
  public:
    // Binds every listen address (throws std::system_error naming the address
    // when one cannot be bound) and starts serving on its own threads.
    // `claims`, `store`, `notifier` and `catalogs` (NOTIFY for catalog zones;
    // null: none followed) must outlive the server.
    ControlServer(const PluginConfig& config, const ZoneClaims& claims, ChallengeStore& store,
                  Notifier& notifier, CatalogFollower* catalogs = nullptr);
    // Stops the threads, waits for the answers the store still owes, and
    // closes the sockets.
    ~ControlServer();
    ControlServer(const ControlServer&) = delete;
    ControlServer& operator=(const ControlServer&) = delete;

    // The bound addresses (useful when a listen port was 0).
    std::vector<Endpoint> local_endpoints() const;

  private:
    struct Parts;
    std::unique_ptr<Parts> parts_;
};

}  // namespace acmezone::plugin
