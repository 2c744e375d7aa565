// The process-wide core of the plugin: the configuration, the claims, the
// record store, the control socket and the purge timer, shared by every DLZ
// instance that names the same configuration file.
//
// Why shared: named creates one DLZ instance per view, and `rndc reload`
// creates the new instances before it destroys the old ones. Each instance
// having its own store and socket would split the records between views and
// fail to bind the socket on reload. So instances hold a CoreRef; the core
// is built by the first, found again (by the configuration file's canonical
// path) by the others, and stopped when the last reference goes.
//
// A changed configuration file is NOT re-read while a core for it lives: the
// core keeps the settings it started with and logs a warning on the reload
// that found the file changed. Restart named to apply plugin.conf changes.
//
// Catalog members (catalog_follower.h) are claimed from the saved member
// sets before the control socket opens; the follower's thread starts last.
// A `catalog` line added to plugin.conf, like any change, needs a restart.
//
// Thread safety: acquire/release are serialized by one registry mutex (held
// while a core is built or torn down, so a new core never races an old one
// for the socket or the state directory). The accessors are safe from any
// thread; the store has its own rules (challenge_store.h).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "plugin/catalog_follower.h"
#include "plugin/challenge_store.h"
#include "plugin/plugin_config.h"
#include "plugin/zone_claims.h"

namespace acmezone::plugin {

class Core;

// A counted reference to the core for one configuration file.
class CoreRef {
  public:
    // Finds or builds the core for `config_path`. Throws ConfigError for a
    // bad configuration, std::runtime_error/std::system_error when the state
    // directory or a control socket cannot be set up.
    static CoreRef acquire(const std::string& config_path);

    CoreRef() = default;
    ~CoreRef();
    CoreRef(CoreRef&& other) noexcept;
    CoreRef& operator=(CoreRef&& other) noexcept;
    CoreRef(const CoreRef&) = delete;
    CoreRef& operator=(const CoreRef&) = delete;

    Core& operator*() const { return *core_; }
    Core* operator->() const { return core_; }
    explicit operator bool() const { return core_ != nullptr; }

  private:
    explicit CoreRef(Core* core) : core_(core) {}
    void reset();
    Core* core_ = nullptr;
};

class Core {
  public:
    const PluginConfig& config() const { return config_; }
    const ZoneClaims& claims() const { return claims_; }
    // The followed catalogs (catalog_follower.h); null without catalog lines.
    CatalogFollower* catalogs() { return catalogs_.get(); }
    ChallengeStore& store() { return store_; }
    const std::string& config_path() const { return path_; }
    // How many instances share this core (for logs and tests).
    std::size_t references() const;
    // Where the control socket listens (a configured port 0 resolved).
    std::vector<Endpoint> control_endpoints() const;

    Core(std::string path, std::string config_text, PluginConfig config);
    ~Core();
    Core(const Core&) = delete;
    Core& operator=(const Core&) = delete;

  private:
    friend class CoreRef;
    struct Runtime;  // control server and purge thread
    // Deletes the values at the names of zones that left a catalog.
    void drop_values_of(const DnsName& catalog, const std::vector<DnsName>& zones);

    std::string path_;
    std::string config_text_;  // to notice a changed file on reload
    std::size_t refs_ = 0;     // guarded by the registry mutex
    PluginConfig config_;
    ZoneClaims claims_;
    ChallengeStore store_;
    std::unique_ptr<CatalogFollower> catalogs_;
    std::unique_ptr<Runtime> runtime_;
};

}  // namespace acmezone::plugin
