// See runner.h.
#include "issuer/pass/runner.h"

#include <unistd.h>

#include <algorithm>
#include <optional>

#include "common/error.h"
#include "common/interrupt.h"
#include "common/log.h"
#include "common/name_path.h"
#include "common/utc_time.h"
#include "issuer/dns/challenge_dns.h"
#include "issuer/outputs/pass_outputs.h"
#include "issuer/pass/pass_env.h"
#include "issuer/pass/schedule.h"
#include "issuer/pass/standby.h"
#include "issuer/pass/state_lock.h"

namespace acmezone::issuer {
namespace fs = std::filesystem;
using std::chrono::system_clock;

namespace {

std::chrono::seconds seconds_until(SysTime from, SysTime to) {
    return std::chrono::duration_cast<std::chrono::seconds>(to - from);
}

std::optional<StateLock> take_lock(const IssuerConfig& c) {
    std::string holder;
    auto lock = StateLock::try_acquire(c.state_dir, &holder);
    if (!lock) {
        log_error("another acmezone-issuer (", holder, ") holds ",
                  StateLock::path(c.state_dir).string(), ": nothing done (exit ", kExitBusy,
                  "); its pass will do what is due");
    }
    return lock;
}

// Every zone with a state file, configured or not any more.
std::vector<DnsName> zones_with_state(const fs::path& state_dir) {
    std::vector<DnsName> zones;
    const fs::path dir = state_dir / "zones";
    std::error_code ec;
    if (!fs::is_directory(dir, ec)) {
        return zones;
    }
    for (const auto& entry : fs::directory_iterator(dir, ec)) {
        const fs::path p = entry.path();
        if (p.extension() != ".json") {
            continue;
        }
        if (auto zone = name_of_path_component(p.stem().string())) {  // name_path.h
            zones.push_back(*zone);
        }
    }
    return zones;
}

// The control sockets an interrupted order wrote: as recorded, else (none
// readable) the configured ones.
DnsSettings recorded_controls(const IssuerConfig& config, const InFlightOrder& o,
                              const std::string& what) {
    DnsSettings ds = config.dns;
    ds.controls.clear();
    for (const std::string& c : o.controls) {
        std::string error;
        if (auto ep = Endpoint::try_parse(c, 0, &error)) {
            ds.controls.push_back(*ep);
        } else {
            log_warning(what, ": control socket \"", c, "\" in its record: ", error);
        }
    }
    if (ds.controls.empty()) {
        ds.controls = config.dns.controls;
    }
    return ds;
}

}  // namespace

Runner::Runner(IssuerConfig config) : config_(std::move(config)) {}

void Runner::recover_interrupted_orders() {
    const ZoneStateStore states(config_.state_dir);
    for (const DnsName& zone : zones_with_state(config_.state_dir)) {
        if (!states.may_record_order(zone)) {
            continue;
        }
        ZoneState s = states.load(zone);
        if (s.order) {
            const LeftOrder left = remove_left_values(zone, *s.order, "");
            if (left == LeftOrder::removed) {
                s.resume_order = s.order->order_url;
                s.resume_key_type = s.order->key_type;
            }
            if (left != LeftOrder::still_published) {
                s.order.reset();
                save_zone_state(states, zone, s);
            }
        }
        // A standby order is not resumed (the live set's order would be
        // resumed with the wrong CA); the next standby attempt orders anew.
        if (s.standby.order &&
            remove_left_values(zone, *s.standby.order, "standby ") != LeftOrder::still_published) {
            s.standby.order.reset();
            save_zone_state(states, zone, s);
        }
    }
}

// Removes the values of an order a dead process left.
Runner::LeftOrder Runner::remove_left_values(const DnsName& zone, const InFlightOrder& o,
                                             const std::string& kind) const {
    const std::string what = zone.text() + ": an interrupted run left " + kind + "order " +
                             (o.order_url.empty() ? "(unknown)" : o.order_url) +
                             (o.started ? " of " + format_utc(*o.started) : std::string());
    auto owner = DnsName::try_parse(o.owner);
    if (!owner || o.values.empty()) {
        log_warning(what, " without values to remove; forgotten");
        return LeftOrder::forgotten;
    }
    try {
        ChallengeDns(recorded_controls(config_, o, what)).unpublish(*owner, o.values);
        log_info(what, ": removed its ", o.values.size(), " value(s) at ", owner->text());
        return LeftOrder::removed;
    } catch (const std::exception& e) {
        log_error(what, ": could not remove its values at ", owner->text(), ": ", e.what(),
                  " (tried again on the next pass; the plugin drops them when their "
                  "lifetime ends)");
        return LeftOrder::still_published;
    }
}

int Runner::exit_code(const PassReport& report) const {
    return report.failed() > 0 || standby_failed_ > 0 ? kExitFailed : kExitOk;
}

Runner::DueZones Runner::due_zones(Pass& pass, SysTime now, bool quiet) {
    DueZones z;
    z.all.reserve(config_.zones.size());
    for (const DnsName& zone : config_.zones) {
        z.all.push_back(zone_status(config_, zone, now, SummaryUse::read_and_keep));
    }
    pass.refresh_renewal_info(z.all, now);
    for (const ZoneStatus& st : z.all) {
        if (st.next_attempt <= now) {
            z.due.push_back(st);
        } else if (quiet) {
            continue;
        } else if (st.next_action == "retry") {
            log_info(st.zone.text(), ": ", to_string(st.state), ", failed ", st.saved.failures,
                     " time(s); next attempt at ", format_utc(st.next_attempt), " (in ",
                     format_duration(seconds_until(now, st.next_attempt)), ")");
        } else {
            log_info(st.zone.text(), ": valid until ", format_utc(st.cert->not_after),
                     ", not due: renewal at ", format_utc(st.next_attempt), " (", st.renew_basis,
                     ")");
        }
    }
    return z;
}

PassReport Runner::run_pass(bool quiet) {
    recover_interrupted_orders();
    const auto env = real_pass_env(config_);
    Pass pass(config_, *env);
    DueZones z = due_zones(pass, system_clock::now(), quiet);
    standby_failed_ = 0;
    if (config_.standby) {  // step 7, before the pass's outputs
        pass.set_before_outputs([this] {
            if (stop_requested()) {
                return;
            }
            try {
                standby_failed_ = run_standby_step(config_, system_clock::now()).failed;
            } catch (const std::exception& e) {
                log_error("standby: ", e.what());
                standby_failed_ = 1;
            }
        });
    }
    return pass.run(std::move(z.due), std::move(z.all));
}

int Runner::run() {
    auto lock = take_lock(config_);
    if (!lock) {
        return kExitBusy;
    }
    return exit_code(run_pass(/*quiet=*/false));
}

int Runner::issue(const std::vector<std::string>& names, bool force) {
    const auto now = system_clock::now();
    const std::vector<DnsName> zones = configured_zones_named(config_, names, "issue");
    auto lock = take_lock(config_);
    if (!lock) {
        return kExitBusy;
    }
    recover_interrupted_orders();
    std::vector<ZoneStatus> all;
    std::vector<ZoneStatus> todo;
    for (const DnsName& zone : zones) {
        ZoneStatus st = zone_status(config_, zone, now, SummaryUse::read_and_keep);
        if (force || st.needs_issuing()) {
            todo.push_back(st);
        } else {
            log_info(zone.text(), ": valid until ", format_utc(st.cert->not_after),
                     ", not due (--force to issue anyway)");
        }
        all.push_back(std::move(st));
    }
    const auto env = real_pass_env(config_);
    return exit_code(Pass(config_, *env).run(std::move(todo), std::move(all)));
}

int Runner::switch_zones(const std::vector<std::string>& names, bool all) {
    if (!config_.standby) {
        throw ConfigError("switch: no [acme] standby-directory in " + config_.origin +
                          ": there are no standby sets to switch to");
    }
    const std::vector<DnsName> zones =
        all ? config_.zones : configured_zones_named(config_, names, "switch");
    auto lock = take_lock(config_);
    if (!lock) {
        return kExitBusy;
    }
    // Every zone's rename first (no request, seconds for thousands of
    // zones), then the hooks: the switch is not held up by a slow hook.
    const auto started = std::chrono::steady_clock::now();
    std::vector<DnsName> switched;
    std::size_t failed = 0;
    for (const DnsName& zone : zones) {
        try {
            log_info(zone.text(), ": switched: ", switch_zone(config_, zone));
            switched.push_back(zone);
        } catch (const std::exception& e) {
            log_error(zone.text(), ": not switched: ", e.what());
            ++failed;
        }
    }
    const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::steady_clock::now() - started);
    log_info("switch: ", switched.size(), " of ", zones.size(), " zone(s) switched in ",
             took.count(), " ms");
    std::size_t hook_failed = 0;
    const CertStore store(config_.certs_dir);
    for (const DnsName& zone : switched) {
        run_deploy_hook(config_, zone);
        if (!ZoneStateStore(config_.state_dir).load(zone).deploy_hook_error.empty()) {
            ++hook_failed;
        }
        NotifyEvent e{"switched", zone, "", std::nullopt, system_clock::now()};
        try {
            if (const auto live = store.current(zone)) {
                e.not_after = live->not_after;
            }
        } catch (const std::exception&) {
            // an unreadable certificate: no expiry to report
        }
        run_notify_hook(config_, e);
    }
    if (!switched.empty()) {
        log_info(
            "switch: each switched zone's live set is renewed from the CA it came from, "
            "and its next standby set is ordered from the CA that was live");
    }
    return failed > 0 || hook_failed > 0 ? kExitFailed : kExitOk;
}

void Runner::reload_config(bool hup) {
    try {
        IssuerConfig fresh = IssuerConfig::load(config_.origin);
        if (hup) {
            log_info("daemon: SIGHUP: configuration re-read from ", config_.origin, ", ",
                     fresh.zones.size(), " zone(s)");
        }
        config_ = std::move(fresh);
        set_stop_grace(config_.stop_grace);
    } catch (const std::exception& e) {
        log_error("daemon: ", e.what(), "; keeping the configuration loaded before");
    }
}

std::chrono::seconds Runner::next_sleep(std::chrono::seconds sleep) {
    const auto now = system_clock::now();
    std::optional<ZoneStatus> earliest;
    for (const DnsName& zone : config_.zones) {
        ZoneStatus st = zone_status(config_, zone, now);
        for (const ZoneStatus::Certificate& c : st.certs) {
            const AriState* a = c.cert_id.empty() ? nullptr : st.saved.ari_for(c.cert_id);
            if (config_.ari && a && a->next_poll && *a->next_poll < st.next_attempt) {
                st.next_attempt = *a->next_poll;  // only to wake up
                st.next_action = "renewal information";
            }
        }
        if (!earliest || st.next_attempt < earliest->next_attempt) {
            earliest = std::move(st);
        }
    }
    if (earliest) {
        sleep = std::clamp(seconds_until(now, earliest->next_attempt) + std::chrono::seconds(1),
                           std::chrono::seconds(1), sleep);
    }
    log_info("daemon: next pass at ", format_utc(now + sleep), " (in ", format_duration(sleep), ")",
             earliest && earliest->next_attempt <= now + sleep
                 ? "; " + earliest->zone.text() + ": " + earliest->next_action
                 : std::string());
    return sleep;
}

int Runner::daemon() {
    install_reload_handler();
    set_stop_grace(config_.stop_grace);
    log_info("daemon: started (pid ", ::getpid(), ") with ", config_.zones.size(), " zone(s) from ",
             config_.origin);
    bool first = true;
    for (;;) {  // one pass per round; ends on SIGTERM/SIGINT
        if (stop_requested()) {
            break;
        }
        const bool hup = take_reload_request();
        if (!first) {
            reload_config(hup);
        }
        first = false;
        std::chrono::seconds sleep = config_.daemon_max_sleep;
        {
            auto lock = take_lock(config_);
            if (!lock) {
                sleep = std::min(sleep, std::chrono::seconds(60));
            } else {
                try {
                    run_pass(/*quiet=*/true);
                } catch (const std::exception& e) {
                    log_error("daemon: pass failed: ", e.what());
                    sleep = std::min(sleep, config_.schedule.retry_min);
                }
            }
        }
        if (stop_requested()) {
            break;
        }
        // Until the earliest next attempt, at least 1 s (no busy loop), at
        // most max-sleep.
        sleep = next_sleep(sleep);
        wait_for_signal(std::chrono::duration_cast<std::chrono::milliseconds>(sleep));
    }
    log_info("daemon: stopped on a signal");
    return kExitOk;
}

}  // namespace acmezone::issuer
