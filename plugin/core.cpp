// The process-wide core shared by all DLZ instances: see core.h.
#include "plugin/core.h"

#include <condition_variable>
#include <filesystem>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "common/file_io.h"
#include "common/log.h"
#include "plugin/control_server.h"
#include "plugin/notifier.h"

namespace acmezone::plugin {

namespace {

constexpr std::chrono::seconds kPurgeInterval{1};

std::mutex& registry_mutex() {
    static std::mutex mu;
    return mu;
}

std::map<std::string, Core*>& registry() {
    static std::map<std::string, Core*> cores;
    return cores;
}

StoreOptions store_options(const PluginConfig& config, const ZoneClaims& claims) {
    StoreOptions o;
    o.state_dir = config.state_dir;
    o.lifetime = config.lifetime;
    o.max_values_per_name = config.max_values_per_name;
    o.max_values = config.max_values;
    o.max_values_per_zone = config.max_values_per_zone;
    o.zone_of = [&claims](const DnsName& name) { return claims.quota_zone_of(name); };
    return o;
}

}  // namespace

namespace {

// The apexes whose content differs between two tables (for NOTIFY).
std::vector<DnsName> changed_apexes(const Snapshot& before, const Snapshot& after,
                                    const ZoneClaims& claims) {
    std::set<DnsName> apexes;
    auto note = [&](const DnsName& name) {
        if (auto apex = claims.apex_of(name)) {
            apexes.insert(*apex);
        }
    };
    Snapshot::for_each_difference(before, after, note);
    return {apexes.begin(), apexes.end()};
}

}  // namespace

struct Core::Runtime {
    // NOTIFY to the secondaries, for the control server's UPDATEs and for
    // the purge: secondaries hold copies, so when values expire they must
    // hear of it too. Built first, destroyed last.
    Notifier notifier;
    std::unique_ptr<ControlServer> control;
    std::mutex mu;
    std::condition_variable cv;
    bool stopping = false;
    std::thread purger;

    explicit Runtime(std::vector<Endpoint> notify) : notifier(std::move(notify)) {}

    void purge_loop(ChallengeStore& store, const ZoneClaims& claims) {
        std::unique_lock lock(mu);
        while (!stopping) {  // bounded by stop(): one pass per interval
            cv.wait_for(lock, kPurgeInterval, [this] { return stopping; });
            if (stopping) {
                break;
            }
            lock.unlock();
            try {
                auto before = store.snapshot();
                store.purge_expired();
                auto after = store.snapshot();
                if (after != before) {
                    notifier.notify(changed_apexes(*before, *after, claims));
                }
            } catch (const std::exception& e) {
                log_error("acmezone: purging expired values failed: ", e.what());
            }
            lock.lock();
        }
    }

    void stop() {
        {
            std::lock_guard lock(mu);
            stopping = true;
        }
        cv.notify_all();
        if (purger.joinable()) {
            purger.join();
        }
    }
};

Core::Core(std::string path, std::string config_text, PluginConfig config)
    : path_(std::move(path)),
      config_text_(std::move(config_text)),
      config_(std::move(config)),
      claims_(config_.zones, config_.challenge_zones),
      store_(store_options(config_, claims_)),
      runtime_(std::make_unique<Runtime>(config_.control.notify)) {
    if (!config_.catalogs.empty()) {
        catalogs_ = std::make_unique<CatalogFollower>(
            config_.catalogs, config_.control.keyring, config_.state_dir, claims_,
            [this](const DnsName& catalog, const std::vector<DnsName>& zones) {
                drop_values_of(catalog, zones);
            });
    }
    runtime_->control = std::make_unique<ControlServer>(config_, claims_, store_,
                                                        runtime_->notifier, catalogs_.get());
    runtime_->purger = std::thread([this] { runtime_->purge_loop(store_, claims_); });
    if (catalogs_) {
        catalogs_->start();
    }
}

Core::~Core() {
    runtime_->stop();
    runtime_->control.reset();  // holds catalogs_ for NOTIFY: goes first
    catalogs_.reset();
}

void Core::drop_values_of(const DnsName& catalog, const std::vector<DnsName>& zones) {
    std::vector<Change> changes;
    store_.snapshot()->for_each([&](const DnsName& name, const std::vector<TxtValue>&) {
        if (claims_.apex_of(name)) {
            return;  // still claimed (a zone line, another catalog)
        }
        for (const DnsName& z : zones) {
            if (name.is_below(z)) {
                changes.push_back(Change{Change::Op::delete_txt, name, {}});
                return;
            }
        }
    });
    if (changes.empty()) {
        return;
    }
    const UpdateResult r = store_.apply({}, changes);
    if (r.rcode != 0) {
        log_warning("acmezone: catalog ", catalog.text(), ": cannot delete the values of ",
                    changes.size(), " name(s) that left it: ", r.detail);
    } else {
        log_info("acmezone: catalog ", catalog.text(), ": deleted the values of ", changes.size(),
                 " name(s) under zones that left it");
    }
}

std::size_t Core::references() const {
    std::lock_guard lock(registry_mutex());
    return refs_;
}

std::vector<Endpoint> Core::control_endpoints() const {
    return runtime_->control->local_endpoints();
}

CoreRef CoreRef::acquire(const std::string& config_path) {
    std::string key = std::filesystem::weakly_canonical(config_path).string();
    std::lock_guard lock(registry_mutex());
    auto& cores = registry();
    auto it = cores.find(key);
    if (it != cores.end()) {
        Core* core = it->second;
        ++core->refs_;
        try {
            if (read_file(key) != core->config_text_) {
                log_warning("acmezone: ", key,
                            " changed, but the running core keeps the settings it started "
                            "with; restart named to apply them");
            }
        } catch (const std::exception& e) {
            log_warning("acmezone: cannot re-read ", key, ": ", e.what());
        }
        return CoreRef(core);
    }
    std::string text = read_file(key);
    PluginConfig config = PluginConfig::parse(text, key);
    auto core = std::make_unique<Core>(key, std::move(text), std::move(config));
    core->refs_ = 1;
    Core* raw = core.release();
    cores.emplace(key, raw);
    return CoreRef(raw);
}

void CoreRef::reset() {
    if (core_ == nullptr) {
        return;
    }
    std::lock_guard lock(registry_mutex());
    if (--core_->refs_ == 0) {
        registry().erase(core_->path_);
        // Torn down under the registry mutex: a new core for the same file
        // waits until the socket and the journal are released.
        std::unique_ptr<Core> dying(core_);
    }
    core_ = nullptr;
}

CoreRef::~CoreRef() {
    reset();
}

CoreRef::CoreRef(CoreRef&& other) noexcept : core_(other.core_) {
    other.core_ = nullptr;
}

CoreRef& CoreRef::operator=(CoreRef&& other) noexcept {
    if (this != &other) {
        reset();
        core_ = other.core_;
        other.core_ = nullptr;
    }
    return *this;
}

}  // namespace acmezone::plugin
