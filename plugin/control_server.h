// The control socket: RFC 2136 UPDATE over UDP and TCP, TSIG-signed, scoped
// per key by the grants; see control_server.cpp for the wire-level notes.
#pragma once

#include <memory>

#include "plugin/challenge_store.h"
#include "plugin/plugin_config.h"
#include "plugin/zone_claims.h"

namespace acmezone::plugin {

class ControlServer {
  public:
    // Binds every listen address (throws std::system_error naming the address
    // when one cannot be bound) and starts serving on its own threads.
    ControlServer(const PluginConfig& config, const ZoneClaims& claims, ChallengeStore& store);
    ~ControlServer();  // stops the threads and closes the sockets
    ControlServer(const ControlServer&) = delete;
    ControlServer& operator=(const ControlServer&) = delete;

    // The bound addresses (useful when a listen port was 0).
    std::vector<Endpoint> local_endpoints() const;

  private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace acmezone::plugin
