// See fetcher.h.
#include "issuer/fetch/fetcher.h"

#include <fcntl.h>
#include <sys/file.h>

#include <algorithm>
#include <cerrno>
#include <condition_variable>
#include <set>
#include <sstream>
#include <system_error>
#include <thread>

#include "common/file_io.h"
#include "common/interrupt.h"
#include "common/lock_guarded.h"
#include "common/log.h"
#include "common/name_path.h"
#include "common/unique_fd.h"
#include "common/utc_time.h"
#include "issuer/fetch/fetch_http.h"
#include "issuer/fetch/fetch_state.h"
#include "issuer/fetch/fetch_store.h"
#include "issuer/fetch/zone_set.h"
#include "issuer/outputs/hooks.h"

namespace acmezone::issuer {
namespace fs = std::filesystem;
namespace {

using std::chrono::seconds;
using Clock = std::chrono::steady_clock;

// After a change, how long a watch waits for other zones' changes before it
// runs the hook once for all of them.
constexpr auto kSettle = std::chrono::milliseconds(300);
// A poll that came back sooner than this without a change waits this long.
constexpr auto kMinPollGap = std::chrono::seconds(1);
// At most this much of a server's error answer goes into a message.
constexpr std::size_t kShownErrorMax = 120;

enum class Outcome { unchanged, installed, failed };

std::string now_utc() {
    return format_utc(std::chrono::time_point_cast<seconds>(std::chrono::system_clock::now()));
}

// Sleeps `d` in small steps; false when a stop signal came.
bool sleep_unless_stopped(Clock::duration d) {
    const auto until = Clock::now() + d;
    while (Clock::now() < until) {
        if (stop_requested()) {
            return false;
        }
        std::this_thread::sleep_for(
            std::min<Clock::duration>(std::chrono::milliseconds(100), until - Clock::now()));
    }
    return !stop_requested();
}

// The "error" of a JSON error answer, printable and short; "" when none.
std::string server_error_text(const std::string& body) {
    const auto key = body.find("\"error\":\"");
    if (key == std::string::npos) {
        return "";
    }
    std::string text = body.substr(key + 9, kShownErrorMax);
    text = text.substr(0, text.find('"'));
    for (char& c : text) {
        if (c < 0x20 || c > 0x7e) {
            c = '?';
        }
    }
    return text;
}

// flock() on TARGET/.fetch.lock for the whole run.
class TargetLock {
  public:
    explicit TargetLock(const fs::path& target) {
        ensure_directory(target, 0755);
        const fs::path path = target / ".fetch.lock";
        fd_ = UniqueFd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600));
        if (fd_.get() < 0) {
            throw std::system_error(errno, std::generic_category(), "opening " + path.string());
        }
        held_ = ::flock(fd_.get(), LOCK_EX | LOCK_NB) == 0;
    }
    bool held() const { return held_; }

  private:
    UniqueFd fd_;
    bool held_ = false;
};

class Fetcher {
  public:
    Fetcher(const FetchConfig& config, const FetchOptions& options)
        : config_(config),
          options_(options),
          store_(config.target, options.mirror ? std::nullopt : config.key_gid),
          state_(read_fetch_state(config.target)) {}

    int run();
    int watch();

  private:
    std::vector<DnsName> zones(FetchHttp& http);
    Outcome fetch_zone(FetchHttp& http, const DnsName& zone, std::optional<seconds> wait);
    // The answer of one server: installed/unchanged, or a cause (thrown).
    Outcome ask(FetchHttp& http, const std::string& server, const DnsName& zone,
                std::optional<seconds> wait);
    void record(const DnsName& zone, const std::string& server, const std::string& error);
    bool run_deploy_hook(const std::set<DnsName>& changed);
    void watch_zone(const DnsName& zone);

    const FetchConfig& config_;
    const FetchOptions& options_;
    FetchStore store_;
    LockGuarded<FetchState> state_;
    // --watch: the zones installed since the hook last ran.
    LockGuarded<std::set<DnsName>> changed_;
    std::condition_variable changed_cv_;
};

// An install failure: not a server's fault, so no other server is asked.
class InstallError : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

std::vector<DnsName> Fetcher::zones(FetchHttp& http) {
    std::vector<DnsName> out = config_.zones;
    if (!options_.mirror) {
        return out;
    }
    std::vector<std::string> causes;
    for (const std::string& server : config_.servers) {
        try {
            FetchResponse r = http.get(server + "/v1/zones", "", config_.timeout);
            if (r.status != 200) {
                throw AnswerError("HTTP status " + std::to_string(r.status));
            }
            for (const ZoneListing& z : parse_zone_listing(r.body)) {
                if (std::find(out.begin(), out.end(), z.zone) == out.end()) {
                    out.push_back(z.zone);
                }
            }
            log_info("mirror: ", server, " lists ", out.size() - config_.zones.size(),
                     " zone(s) for this host");
            return out;
        } catch (const std::exception& e) {
            causes.push_back(server + ": " + e.what());
        }
    }
    std::string all;
    for (const std::string& c : causes) {
        all += (all.empty() ? "" : "; ") + c;
    }
    throw FetchHttpError("mirror: no server listed the zones: " + all);
}

Outcome Fetcher::ask(FetchHttp& http, const std::string& server, const DnsName& zone,
                     std::optional<seconds> wait) {
    const auto installed = store_.installed_version(zone);
    const std::string have = installed ? "\"" + std::to_string(*installed) + "\"" : "";
    std::string url = server + "/v1/zones/" + path_component(zone);
    seconds timeout = config_.timeout;
    if (wait && installed) {
        url += "?wait=" + std::to_string(wait->count());
        timeout += *wait;
    }
    FetchResponse r = http.get(url, have, timeout);
    if (r.status == 304) {
        if (!installed || r.etag != have) {
            throw AnswerError("304 for a version this host does not have (ETag " +
                              r.etag.substr(0, 40) + ")");
        }
        return Outcome::unchanged;
    }
    if (r.status == 404) {
        throw AnswerError("no such zone, or this host may not fetch it (404)");
    }
    if (r.status != 200) {
        const std::string why = server_error_text(r.body);
        throw AnswerError("HTTP status " + std::to_string(r.status) +
                          (why.empty() ? "" : ": " + why));
    }
    ZoneSet set = parse_zone_set(r.body);
    if (r.etag != "\"" + std::to_string(set.version) + "\"") {
        throw AnswerError("the ETag " + r.etag.substr(0, 40) + " is not the answer's version " +
                          std::to_string(set.version));
    }
    check_zone_set(set, zone,
                   config_.trust ? std::optional(config_.trust->string()) : std::nullopt);
    if (installed && set.version == *installed) {
        return Outcome::unchanged;
    }
    if (installed && set.version < *installed && !options_.force) {
        throw AnswerError("version " + std::to_string(set.version) +
                          " is older than the installed " + std::to_string(*installed) +
                          " (a downgrade: --force installs it)");
    }
    try {
        store_.install(set);
    } catch (const std::exception& e) {
        throw InstallError(std::string("version ") + std::to_string(set.version) +
                           " not installed: " + e.what());
    }
    log_info(zone.text(), ": installed version ", set.version, " from ", server, " (not after ",
             format_utc(set.not_after), ", previous ",
             installed ? std::to_string(*installed) : std::string("none"), ")");
    return Outcome::installed;
}

Outcome Fetcher::fetch_zone(FetchHttp& http, const DnsName& zone, std::optional<seconds> wait) {
    std::string causes;
    for (const std::string& server : config_.servers) {
        try {
            const Outcome o = ask(http, server, zone, wait);
            record(zone, server, "");
            return o;
        } catch (const InstallError& e) {
            causes = server + ": " + e.what();
            break;
        } catch (const AnswerError& e) {
            causes += (causes.empty() ? "" : "; ") + server + ": refused: " + e.what();
        } catch (const std::exception& e) {
            if (stop_requested()) {
                return Outcome::unchanged;
            }
            causes += (causes.empty() ? "" : "; ") + server + ": " + e.what();
        }
    }
    log_error(zone.text(), ": not fetched: ", causes);
    record(zone, "", causes);
    return Outcome::failed;
}

void Fetcher::record(const DnsName& zone, const std::string& server, const std::string& error) {
    auto state = state_.lock();
    ZoneFetchRecord& r = (*state)[zone.text()];
    r.last_fetch = now_utc();
    r.last_error = error;
    if (error.empty()) {
        r.last_success = r.last_fetch;
        r.server = server;
    }
    try {
        write_fetch_state(config_.target, *state);
    } catch (const std::exception& e) {
        log_warning("fetch state not written: ", e.what());
    }
}

bool Fetcher::run_deploy_hook(const std::set<DnsName>& changed) {
    if (!config_.deploy_hook || changed.empty()) {
        return true;
    }
    std::string names;
    for (const DnsName& z : changed) {
        names += (names.empty() ? "" : " ") + z.text();
    }
    HookEnv env{{"ACMEZONE_FETCH_ZONES", names},
                {"ACMEZONE_FETCH_TARGET", config_.target.string()}};
    if (changed.size() == 1) {
        const DnsName& zone = *changed.begin();
        std::vector<KeyType> types;
        for (const auto& e : fs::directory_iterator(store_.zone_dir(zone) / "current")) {
            if (auto t = key_type_from_name(e.path().filename().string()); t && e.is_directory()) {
                types.push_back(*t);
            }
        }
        const HookEnv one = deploy_hook_env(zone, store_.zone_dir(zone), types);
        env.insert(env.end(), one.begin(), one.end());
    }
    const HookResult result =
        run_hook(*config_.deploy_hook, env, "",
                 std::chrono::duration_cast<std::chrono::milliseconds>(config_.hook_timeout));
    std::istringstream lines(result.output);
    for (std::string line; std::getline(lines, line);) {
        log_info("deploy-hook: ", line);
    }
    if (!result.ok) {
        log_error("deploy-hook for ", names, ": ", result.describe());
        return false;
    }
    log_info("deploy-hook ran for ", names);
    return true;
}

int Fetcher::run() {
    FetchHttp http(config_);
    std::vector<DnsName> list;
    try {
        list = zones(http);
    } catch (const std::exception& e) {
        log_error(e.what());
        return kFetchFailed;
    }
    if (list.empty()) {
        log_warning("no zone to fetch",
                    options_.mirror ? " (no server lists any for this host)" : "");
    }
    if (options_.watch) {
        std::vector<std::thread> threads;
        for (const DnsName& zone : list) {
            threads.emplace_back([this, zone] { watch_zone(zone); });
        }
        const int status = watch();
        for (std::thread& t : threads) {
            t.join();
        }
        return status;
    }
    bool failed = false;
    std::set<DnsName> changed;
    for (const DnsName& zone : list) {
        switch (fetch_zone(http, zone, std::nullopt)) {
            case Outcome::installed:
                changed.insert(zone);
                break;
            case Outcome::failed:
                failed = true;
                break;
            case Outcome::unchanged:
                break;
        }
    }
    if (!run_deploy_hook(changed)) {
        failed = true;
    }
    return failed ? kFetchFailed : kFetchOk;
}

void Fetcher::watch_zone(const DnsName& zone) {
    FetchHttp http(config_);
    Clock::duration backoff = seconds(1);
    while (!stop_requested()) {
        const auto started = Clock::now();
        const Outcome o = fetch_zone(http, zone, config_.wait);
        if (o == Outcome::failed) {
            log_info(zone.text(), ": next try in ",
                     std::chrono::duration_cast<seconds>(backoff).count(), " s");
            sleep_unless_stopped(backoff);
            backoff = std::min<Clock::duration>(backoff * 2, config_.retry_max);
            continue;
        }
        backoff = seconds(1);
        if (o == Outcome::installed) {
            changed_.lock()->insert(zone);
            changed_cv_.notify_one();
        } else if (Clock::now() - started < kMinPollGap) {
            sleep_unless_stopped(kMinPollGap);
        }
    }
}

int Fetcher::watch() {
    log_info("watching ", config_.servers.size(), " server(s), long polls of ",
             config_.wait.count(), " s");
    bool hook_failed = false;
    while (!stop_requested()) {
        {
            auto changed = changed_.lock();
            changed_cv_.wait_for(changed.unique_lock(), std::chrono::milliseconds(200),
                                 [&] { return !changed->empty(); });
            if (changed->empty()) {
                continue;
            }
        }
        sleep_unless_stopped(kSettle);
        std::set<DnsName> batch;
        batch.swap(*changed_.lock());
        hook_failed = !run_deploy_hook(batch);
    }
    log_info("watch: stopped");
    return hook_failed ? kFetchFailed : kFetchOk;
}

}  // namespace

int run_fetch(const FetchConfig& config, const FetchOptions& options) {
    TargetLock lock(config.target);
    if (!lock.held()) {
        log_error("another acmezone-fetch holds ", (config.target / ".fetch.lock").string(),
                  ": nothing done");
        return kFetchLocked;
    }
    Fetcher fetcher(config, options);
    return fetcher.run();
}

}  // namespace acmezone::issuer
