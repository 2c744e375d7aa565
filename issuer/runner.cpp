// See runner.h.
#include "issuer/runner.h"

#include <json/value.h>
#include <json/writer.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <iomanip>
#include <memory>
#include <sstream>
#include <thread>

#include "common/error.h"
#include "common/file_io.h"
#include "common/log.h"
#include "issuer/account_key.h"
#include "issuer/acme_client.h"
#include "issuer/cert_store.h"
#include "issuer/challenge_dns.h"
#include "issuer/check_command.h"
#include "issuer/http_client.h"
#include "issuer/interrupt.h"
#include "issuer/issuance.h"
#include "issuer/pass_outputs.h"
#include "issuer/progress.h"
#include "issuer/state_lock.h"
#include "issuer/utc_time.h"

namespace acmezone::issuer {
namespace fs = std::filesystem;
using std::chrono::system_clock;

namespace {

double days_between(SysTime from, SysTime to) {
    return std::chrono::duration<double>(to - from).count() / 86400.0;
}

std::chrono::seconds seconds_until(SysTime from, SysTime to) {
    return std::chrono::duration_cast<std::chrono::seconds>(to - from);
}

// Sort key for "most urgent first": zones without a usable certificate, then
// by notAfter.
SysTime urgency(const ZoneStatus& st) {
    if (!st.cert || st.state == "invalid") {
        return SysTime::min();
    }
    return st.cert->not_after;
}

void save_state(const ZoneStateStore& states, const DnsName& zone, const ZoneState& s) {
    try {
        states.save(zone, s);
    } catch (const std::exception& e) {
        log_error(zone.text(), ": could not record the attempt: ", e.what());
    }
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

}  // namespace

std::size_t PassReport::failed() const {
    return static_cast<std::size_t>(
        std::count_if(outcomes.begin(), outcomes.end(), [](const ZoneOutcome& o) {
            return o.result == ZoneOutcome::Result::failed ||
                   o.result == ZoneOutcome::Result::interrupted ||
                   o.result == ZoneOutcome::Result::not_started;
        }));
}

Runner::Runner(IssuerConfig config) : config_(std::move(config)) {}

ZoneStatus Runner::zone_status(const DnsName& zone, SysTime now) const {
    ZoneStatus st;
    st.zone = zone;
    st.saved = ZoneStateStore(config_.state_dir).load(zone);
    CertStore store(config_.certs_dir);
    try {
        st.cert = store.current(zone);
        if (!st.cert) {
            st.state = "missing";
        } else {
            std::vector<std::string> want;
            for (const DnsName& n : certificate_names(zone)) {
                want.push_back(n.text());
            }
            std::sort(want.begin(), want.end());
            st.renew_at =
                renewal_time(zone, st.cert->not_before, st.cert->not_after, config_.schedule);
            st.renew_basis = "renew-before";
            if (st.saved.ari.renew_at && !st.saved.ari.cert_id.empty()) {
                st.renew_at = st.saved.ari.renew_at;
                st.renew_basis = "ARI window";
            }
            if (st.cert->dns_names != want) {
                st.state = "invalid";
                st.problem = "names do not match {" + zone.text() + ", *." + zone.text() + "}";
            } else if (now >= st.cert->not_after) {
                st.state = "expired";
            } else if (now >= *st.renew_at) {
                st.state = "due";
            } else {
                st.state = "valid";
            }
        }
    } catch (const std::exception& e) {
        st.state = "invalid";
        st.problem = e.what();
    }
    // Wanted now unless valid; never before the backoff allows.
    SysTime wanted = st.state == "valid" ? *st.renew_at : now;
    st.next_action = st.state == "missing" ? "issue" : "renew";
    if (st.saved.retry_at && *st.saved.retry_at > wanted) {
        wanted = *st.saved.retry_at;
        st.next_action = "retry";
    }
    st.next_attempt = wanted;
    return st;
}

// Hook point: called by the worker thread just before a zone is ordered
// (nothing has been asked of the CA for it in this pass yet). Checks that
// can tell an order would fail or would be refused (pre-order DNS checks,
// the CA's rate-limit budget) go here: `defer` skips the zone until a time
// without counting a failure, `fail` counts as a failed attempt (backoff).
// Called concurrently for different zones.
PreOrderVerdict Runner::before_order(const ZoneStatus& zone) {
    // Checks before ordering (precheck.h, check_command.h): a zone whose
    // challenge path is broken is not ordered and fails with the findings.
    if (auto failure = precheck_before_order(config_, zone.zone)) {
        return {PreOrderVerdict::Kind::fail, *failure, std::nullopt};
    }
    return {};
}

// Hook point: called by the worker thread after a new certificate for
// `before.zone` is stored and switched to (`cert` is its leaf); `before` is
// the zone as it was before the pass (its old certificate, if any). Deploy
// hooks go here. Called concurrently for different zones; an exception is
// logged and does not fail the zone.
void Runner::after_certificate_changed(const ZoneStatus& before, const CertInfo& /*cert*/) {
    run_deploy_hook(config_, before.zone);  // pass_outputs.h
}

// Hook point: called once after every pass (run, issue, each of the
// daemon's), with the lock still held, from the thread that ran the pass.
// Metrics files and notifications about the pass as a whole go here.
void Runner::after_pass(const PassReport& report) {
    // Notifications, next keys, the metrics file (pass_outputs.h). Other
    // parts' metric samples (the CA's rate-limit budget) go in the list.
    after_pass_outputs(config_, report, {});
}

void Runner::recover_interrupted_orders() {
    const ZoneStateStore states(config_.state_dir);
    const fs::path dir = config_.state_dir / "zones";
    std::error_code ec;
    if (!fs::is_directory(dir, ec)) {
        return;
    }
    std::vector<DnsName> zones;  // every zone with a state file, configured or not any more
    for (const auto& entry : fs::directory_iterator(dir, ec)) {
        const fs::path p = entry.path();
        if (p.extension() != ".json") {
            continue;
        }
        auto zone = DnsName::try_parse(p.stem().string());
        if (zone) {
            zones.push_back(*zone);
        }
    }
    for (const DnsName& zone : zones) {
        ZoneState s = states.load(zone);
        if (!s.order) {
            continue;
        }
        const InFlightOrder& o = *s.order;
        const std::string what = zone.text() + ": an interrupted run left order " +
                                 (o.order_url.empty() ? "(unknown)" : o.order_url) +
                                 (o.started ? " of " + format_utc(*o.started) : std::string());
        auto owner = DnsName::try_parse(o.owner);
        if (!owner || o.values.empty()) {
            log_warning(what, " without values to remove; forgotten");
            s.order.reset();
            save_state(states, zone, s);
            continue;
        }
        DnsSettings ds = config_.dns;
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
            ds.controls = config_.dns.controls;
        }
        try {
            ChallengeDns(ds).unpublish(*owner, o.values);
            log_info(what, ": removed its ", o.values.size(), " value(s) at ", owner->text());
            s.order.reset();
            save_state(states, zone, s);
        } catch (const std::exception& e) {
            log_error(what, ": could not remove its values at ", owner->text(), ": ", e.what(),
                      " (tried again on the next pass; the plugin drops them when their "
                      "lifetime ends)");
        }
    }
}

PassReport Runner::pass(std::vector<ZoneStatus> todo, std::vector<ZoneStatus> considered) {
    PassReport report;
    report.started = system_clock::now();
    report.considered = std::move(considered);
    std::stable_sort(todo.begin(), todo.end(), [](const ZoneStatus& a, const ZoneStatus& b) {
        return urgency(a) < urgency(b);
    });
    report.outcomes.resize(todo.size());
    for (std::size_t i = 0; i < todo.size(); ++i) {
        report.outcomes[i].zone = todo[i].zone;
    }
    if (todo.empty()) {
        report.finished = system_clock::now();
        after_pass(report);
        return report;
    }
    ensure_directory(config_.certs_dir, 0755);
    const AccountKey account = AccountKey::load_or_create(config_.account_key_path());

    HttpSettings hs;
    if (config_.ca_file) {
        hs.ca_file = config_.ca_file->string();
    }
    hs.timeout = config_.http_timeout;
    HttpClient http(hs);
    AcmeSettings as;
    as.directory_url = config_.directory;
    as.contact = config_.contact;
    as.retry_deadline = config_.retry_deadline;
    AcmeClient acme(http, account, as);
    const ChallengeDns dns(config_.dns);
    CertStore store(config_.certs_dir);
    const ZoneStateStore states(config_.state_dir);
    IssuanceServices services{
        acme, dns, store, config_.key_type, config_.trust_file, config_.validation_timeout};
    std::vector<std::string> controls;
    for (const Endpoint& ep : config_.dns.controls) {
        controls.push_back(ep.to_string());
    }
    services.key_types = config_.key_types;
    services.next_key = config_.next_key;
    services.preferred_chain = config_.preferred_chain;

    Progress progress(todo.size(), Progress::stderr_is_terminal());
    std::atomic<std::size_t> next{0};
    auto one_zone = [&](ZoneStatus& st, ZoneOutcome& out) {
        const DnsName& zone = st.zone;
        ZoneState& saved = st.saved;
        if (stop_requested()) {
            out.result = ZoneOutcome::Result::not_started;
            out.message = "not started (stopping on a signal)";
            log_warning(zone.text(), ": ", out.message);
            return;
        }
        PreOrderVerdict verdict;
        try {
            verdict = before_order(st);
        } catch (const std::exception& e) {
            verdict = {PreOrderVerdict::Kind::fail, e.what(), std::nullopt};
        }
        const SysTime now = system_clock::now();
        if (verdict.kind == PreOrderVerdict::Kind::defer) {
            out.result = ZoneOutcome::Result::deferred;
            out.message = verdict.reason;
            saved.retry_at = verdict.until.value_or(now + config_.schedule.retry_min);
            log_info(zone.text(), ": deferred until ", format_utc(*saved.retry_at), ": ",
                     verdict.reason);
            save_state(states, zone, saved);
            return;
        }
        saved.last_attempt = now;
        progress.start(zone);
        try {
            if (verdict.kind == PreOrderVerdict::Kind::fail) {
                throw IssuanceError(zone.text() + ": " + verdict.reason);
            }
            IssuanceEvents events;
            events.before_publish = [&](const std::string& order_url, const DnsName& owner,
                                        const std::vector<std::string>& values) {
                saved.order =
                    InFlightOrder{order_url, owner.text(), values, controls, system_clock::now()};
                try {
                    states.save(zone, saved);
                } catch (const std::exception& e) {
                    // Unrecorded values could not be found after a crash:
                    // nothing is published without the record.
                    throw std::runtime_error(
                        std::string("could not record the order in flight, so nothing was "
                                    "published: ") +
                        e.what());
                }
            };
            events.after_unpublish = [&] {
                saved.order.reset();
                save_state(states, zone, saved);
            };
            CertInfo info = issue_certificate(
                zone, services, [&](const std::string& step) { progress.step(zone, step); },
                events);
            out.result = ZoneOutcome::Result::issued;
            out.cert = info;
            saved.last_result = "ok";
            saved.last_error.clear();
            saved.last_success = system_clock::now();
            saved.failures = 0;
            saved.retry_at.reset();
            saved.ari = AriState{};  // a new certificate: the old one's window is moot
            save_state(states, zone, saved);
            progress.finish(zone, true,
                            "issued, valid until " + format_utc(info.not_after) + ", stored in " +
                                store.zone_dir(zone).string());
            try {
                after_certificate_changed(st, info);
            } catch (const std::exception& e) {
                log_error(zone.text(), ": after the new certificate: ", e.what());
            }
        } catch (const std::exception& e) {
            out.message = e.what();
            saved.last_error = e.what();
            if (interrupted()) {
                // Not the zone's fault: no backoff; the next pass tries again.
                out.result = ZoneOutcome::Result::interrupted;
                saved.last_result = "interrupted";
            } else {
                out.result = ZoneOutcome::Result::failed;
                saved.last_result = "failed";
                ++saved.failures;
                saved.retry_at = system_clock::now() +
                                 retry_delay(saved.failures, random_unit(), config_.schedule);
            }
            save_state(states, zone, saved);
            progress.finish(
                zone, false,
                e.what() + (out.result == ZoneOutcome::Result::failed
                                ? " (attempt " + std::to_string(saved.failures) + "; next after " +
                                      format_utc(*saved.retry_at) + ")"
                                : std::string()));
        }
    };
    auto worker = [&] {
        for (std::size_t i = next++; i < todo.size(); i = next++) {
            one_zone(todo[i], report.outcomes[i]);
        }
    };
    const std::size_t n = std::min<std::size_t>(config_.parallel, todo.size());
    std::vector<std::thread> threads;
    for (std::size_t t = 0; t < n; ++t) {
        threads.emplace_back(worker);
    }
    for (auto& t : threads) {
        t.join();
    }
    const HttpStats hs_done = http.stats();
    log_info("ACME: ", hs_done.requests, " HTTPS request(s) over ", hs_done.connections,
             " connection(s) for ", todo.size(), " zone(s)");
    if (const std::size_t failed = report.failed(); failed > 0) {
        log_error(failed, " of ", todo.size(), " zone(s) failed");
    }
    report.finished = system_clock::now();
    try {
        after_pass(report);
    } catch (const std::exception& e) {
        log_error("after the pass: ", e.what());
    }
    return report;
}

int Runner::exit_code(const PassReport& report) const {
    return report.failed() > 0 ? kExitFailed : kExitOk;
}

int Runner::run() {
    auto lock = take_lock(config_);
    if (!lock) {
        return kExitBusy;
    }
    recover_interrupted_orders();
    const auto now = system_clock::now();
    std::vector<ZoneStatus> all;
    std::vector<ZoneStatus> todo;
    for (const DnsName& zone : config_.zones) {
        ZoneStatus st = zone_status(zone, now);
        if (st.next_attempt <= now) {
            todo.push_back(st);
        } else if (st.next_action == "retry") {
            log_info(zone.text(), ": ", st.state, ", failed ", st.saved.failures,
                     " time(s); next attempt at ", format_utc(st.next_attempt), " (in ",
                     format_duration(seconds_until(now, st.next_attempt)), ")");
        } else {
            log_info(zone.text(), ": valid until ", format_utc(st.cert->not_after),
                     ", not due: renewal at ", format_utc(st.next_attempt), " (", st.renew_basis,
                     ")");
        }
        all.push_back(std::move(st));
    }
    return exit_code(pass(std::move(todo), std::move(all)));
}

int Runner::issue(const std::vector<std::string>& names, bool force) {
    const auto now = system_clock::now();
    std::vector<DnsName> zones;
    for (const std::string& text : names) {
        std::string error;
        auto zone = DnsName::try_parse(text, &error);
        if (!zone) {
            throw ConfigError("issue: invalid zone name \"" + text + "\": " + error);
        }
        if (std::find(config_.zones.begin(), config_.zones.end(), *zone) == config_.zones.end()) {
            throw ConfigError("issue: " + zone->text() +
                              " is not a configured zone (add it to [zones] in " + config_.origin +
                              ")");
        }
        if (std::find(zones.begin(), zones.end(), *zone) == zones.end()) {
            zones.push_back(*zone);
        }
    }
    auto lock = take_lock(config_);
    if (!lock) {
        return kExitBusy;
    }
    recover_interrupted_orders();
    std::vector<ZoneStatus> all;
    std::vector<ZoneStatus> todo;
    for (const DnsName& zone : zones) {
        ZoneStatus st = zone_status(zone, now);
        if (force || st.needs_issuing()) {
            todo.push_back(st);
        } else {
            log_info(zone.text(), ": valid until ", format_utc(st.cert->not_after),
                     ", not due (--force to issue anyway)");
        }
        all.push_back(std::move(st));
    }
    return exit_code(pass(std::move(todo), std::move(all)));
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
        first = false;
        std::chrono::seconds sleep = config_.daemon_max_sleep;
        {
            auto lock = take_lock(config_);
            if (!lock) {
                sleep = std::min(sleep, std::chrono::seconds(60));
            } else {
                try {
                    recover_interrupted_orders();
                    const auto now = system_clock::now();
                    std::vector<ZoneStatus> all;
                    std::vector<ZoneStatus> todo;
                    for (const DnsName& zone : config_.zones) {
                        ZoneStatus st = zone_status(zone, now);
                        if (st.next_attempt <= now) {
                            todo.push_back(st);
                        }
                        all.push_back(std::move(st));
                    }
                    pass(std::move(todo), std::move(all));
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
        const auto now = system_clock::now();
        std::optional<ZoneStatus> earliest;
        for (const DnsName& zone : config_.zones) {
            ZoneStatus st = zone_status(zone, now);
            if (!earliest || st.next_attempt < earliest->next_attempt) {
                earliest = std::move(st);
            }
        }
        if (earliest) {
            sleep = std::clamp(seconds_until(now, earliest->next_attempt) + std::chrono::seconds(1),
                               std::chrono::seconds(1), sleep);
        }
        log_info("daemon: next pass at ", format_utc(now + sleep), " (in ", format_duration(sleep),
                 ")",
                 earliest && earliest->next_attempt <= now + sleep
                     ? "; " + earliest->zone.text() + ": " + earliest->next_action
                     : std::string());
        wait_for_signal(std::chrono::duration_cast<std::chrono::milliseconds>(sleep));
    }
    log_info("daemon: stopped on a signal");
    return kExitOk;
}

int Runner::status(bool json, std::ostream& out) {
    const auto now = system_clock::now();
    bool all_valid = true;
    Json::Value list(Json::arrayValue);
    std::vector<ZoneStatus> rows;
    for (const DnsName& zone : config_.zones) {
        rows.push_back(zone_status(zone, now));
        all_valid = all_valid && rows.back().state == "valid";
    }
    auto optional_time = [](const std::optional<SysTime>& t) {
        return t ? Json::Value(format_utc(*t)) : Json::Value(Json::nullValue);
    };
    if (json) {
        for (const ZoneStatus& st : rows) {
            Json::Value z(Json::objectValue);
            z["zone"] = st.zone.text();
            z["state"] = st.state;
            Json::Value names(Json::arrayValue);
            if (st.cert) {
                for (const std::string& n : st.cert->dns_names) {
                    names.append(n);
                }
                z["not_before"] = format_utc(st.cert->not_before);
                z["not_after"] = format_utc(st.cert->not_after);
                z["days_left"] = std::floor(days_between(now, st.cert->not_after) * 10) / 10;
                z["serial"] = st.cert->serial_hex;
                z["issuer"] = st.cert->issuer;
            } else {
                z["not_after"] = Json::Value::null;
                z["days_left"] = Json::Value::null;
            }
            z["names"] = names;
            if (!st.problem.empty()) {
                z["problem"] = st.problem;
            }
            z["renew_at"] = optional_time(st.renew_at);
            z["renew_basis"] = st.renew_basis;
            z["next_action"] = st.next_action;
            z["next_attempt"] = format_utc(st.next_attempt);
            z["last_result"] = st.saved.last_result;
            z["last_attempt"] = st.saved.last_attempt ? format_utc(*st.saved.last_attempt) : "";
            z["last_error"] = st.saved.last_error;
            z["failures"] = st.saved.failures;
            z["retry_at"] = optional_time(st.saved.retry_at);
            z["order_in_flight"] =
                st.saved.order ? Json::Value(st.saved.order->order_url) : Json::Value::null;
            z["key_types"] = key_types_json(config_, st.zone);
            z["deploy_hook_error"] = st.saved.deploy_hook_error;
            list.append(z);
        }
        Json::StreamWriterBuilder w;
        w["indentation"] = "  ";
        out << Json::writeString(w, list) << "\n";
    } else {
        out << std::left << std::setw(32) << "ZONE" << std::setw(9) << "STATE" << std::setw(22)
            << "NOT AFTER" << std::setw(10) << "DAYS LEFT" << std::setw(30) << "NEXT"
            << "NAMES / LAST ERROR\n";
        for (const ZoneStatus& st : rows) {
            std::string names;
            for (const std::string& n : st.cert ? st.cert->dns_names : std::vector<std::string>{}) {
                names += (names.empty() ? "" : ", ") + n;
            }
            std::ostringstream days;
            if (st.cert) {
                days << std::fixed << std::setprecision(1) << days_between(now, st.cert->not_after);
            }
            const std::string next = st.next_action + " " +
                                     (st.next_attempt <= now ? "now" : format_utc(st.next_attempt));
            out << std::left << std::setw(32) << st.zone.text() << std::setw(9) << st.state
                << std::setw(22) << (st.cert ? format_utc(st.cert->not_after) : "-")
                << std::setw(10) << (st.cert ? days.str() : "-") << std::setw(30) << next
                << (names.empty() ? "-" : names) << key_types_text(config_, st.zone);
            if (!st.problem.empty()) {
                out << "  (" << st.problem << ")";
            }
            if (st.saved.last_result == "failed" || st.saved.last_result == "interrupted") {
                out << "  last attempt "
                    << (st.saved.last_attempt ? format_utc(*st.saved.last_attempt) : "?") << " "
                    << st.saved.last_result << " (" << st.saved.failures
                    << " in a row): " << st.saved.last_error;
            }
            if (!st.saved.deploy_hook_error.empty()) {
                out << "  " << st.saved.deploy_hook_error;
            }
            out << "\n";
        }
    }
    return all_valid ? kExitOk : kExitFailed;
}

}  // namespace acmezone::issuer
