// The control socket, assembled: see control_server.h.
#include "plugin/control_server.h"

#include "plugin/control_handler.h"
#include "plugin/control_transport.h"
#include "plugin/warning_limiter.h"

namespace acmezone::plugin {

// Declared in the order they are built; destroyed in reverse: the
// transport stops (and waits for the answers owed) before the handler goes.
struct ControlServer::Parts {
    PluginConfig config;
    const ZoneClaims& claims;  // the core's: catalog members change in it
    WarningLimiter warnings;
    ControlHandler handler;
    ControlTransport transport;

    Parts(const PluginConfig& c, const ZoneClaims& z, ChallengeStore& store, Notifier& notifier,
          CatalogFollower* catalogs)
        : config(c),
          claims(z),
          handler(config, claims, store, notifier, warnings, catalogs),
          transport(
              config.control.listen,
              TransportLimits{config.control.max_tcp_connections,
                              config.control.max_tcp_connections_per_address,
                              config.control.tcp_idle_timeout},
              [this](std::span<const std::uint8_t> message, const Endpoint& peer, bool tcp,
                     ControlTransport::Reply reply) {
                  return handler.handle(
                      message, peer,
                      tcp ? ControlHandler::Protocol::tcp : ControlHandler::Protocol::udp,
                      std::move(reply));
              },
              warnings) {}
};

ControlServer::ControlServer(const PluginConfig& config, const ZoneClaims& claims,
                             ChallengeStore& store, Notifier& notifier, CatalogFollower* catalogs)
    : parts_(std::make_unique<Parts>(config, claims, store, notifier, catalogs)) {
    parts_->transport.start();  // bound in Parts: a bind error throws before any thread runs
}

ControlServer::~ControlServer() {
    parts_->transport.stop();
}

std::vector<Endpoint> ControlServer::local_endpoints() const {
    return parts_->transport.local_endpoints();
}

}  // namespace acmezone::plugin
