// See pass_outputs.h.
#include "issuer/outputs/pass_outputs.h"

#include <algorithm>
#include <istream>
#include <map>
#include <sstream>

#include "common/log.h"
#include "common/utc_time.h"
#include "issuer/certs/cert_store.h"
#include "issuer/outputs/hooks.h"
#include "issuer/pass/zone_state.h"

namespace acmezone::issuer {
namespace {

using std::chrono::system_clock;

double seconds_since_epoch(SysTime t) {
    return static_cast<double>(
        std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count());
}

// The hook's output, one log line each, prefixed.
void log_output(const std::string& prefix, const std::string& output) {
    std::istringstream in(output);
    std::string line;
    while (std::getline(in, line)) {
        log_info(prefix, line);
    }
}

// `ns` into the zone's state: the time "failed" was notified is kept while it
// stays failing.
void record(ZoneState& s, const NotifyState& ns) {
    if (!ns.failing) {
        s.notified_failed.reset();
    } else if (!s.notified_failed) {
        s.notified_failed = system_clock::now();
    }
    s.notified_expiring = ns.expiring_sent;
}

// acmezone_standby_present{zone} (1: a valid standby set of every key type;
// 0: missing, incomplete, expired or unreadable) and
// acmezone_standby_not_after_seconds{zone,key_type}, for zones with a live set.
void standby_metrics(const IssuerConfig& config, const CertStore& store,
                     std::vector<MetricSample>& out) {
    std::vector<MetricSample> expiry;
    for (const DnsName& zone : config.zones) {
        if (!store.current_version(zone)) {
            continue;
        }
        bool present = false;
        try {
            const auto set = store.standby_all(zone);
            present = !set.empty();
            for (KeyType type : config.key_types) {
                const auto it = std::find_if(set.begin(), set.end(),
                                             [&](const auto& c) { return c.type == type; });
                if (it == set.end()) {
                    present = false;
                    continue;
                }
                present = present && it->info.not_after > system_clock::now();
                expiry.push_back(
                    {"acmezone_standby_not_after_seconds",
                     "notAfter of the standby certificate (Unix time)",
                     "gauge",
                     {{"zone", zone.text()}, {"key_type", std::string(to_string(type))}},
                     seconds_since_epoch(it->info.not_after)});
            }
        } catch (const std::exception& e) {
            log_warning(zone.text(), ": standby set: ", e.what());
            present = false;
        }
        out.push_back({"acmezone_standby_present",
                       "1 when the zone holds a valid standby set of every key type, else 0",
                       "gauge",
                       {{"zone", zone.text()}},
                       present ? 1.0 : 0.0});
    }
    out.insert(out.end(), expiry.begin(), expiry.end());
}

}  // namespace

void run_notify_hook(const IssuerConfig& config, const NotifyEvent& e) {
    if (config.notify_hook.empty()) {
        return;
    }
    HookResult r = run_hook(config.notify_hook,
                            {{"ACMEZONE_EVENT", e.event}, {"ACMEZONE_ZONE", e.zone.text()}},
                            e.to_json() + "\n", config.hook_timeout);
    log_output(e.zone.text() + ": notify-hook: ", r.output);
    if (r.ok) {
        log_info(e.zone.text(), ": notify-hook told \"", e.event, "\"");
    } else {
        log_error(e.zone.text(), ": notify-hook (", e.event, ") ", r.describe());
    }
}

void run_deploy_hook(const IssuerConfig& config, const DnsName& zone) {
    if (config.deploy_hook.empty()) {
        return;
    }
    const CertStore store(config.certs_dir);
    HookEnv env = deploy_hook_env(zone, store.zone_dir(zone), config.key_types);
    HookResult r = run_hook(config.deploy_hook, env, "", config.hook_timeout);
    log_output(zone.text() + ": deploy-hook: ", r.output);
    std::string error;
    if (r.ok) {
        log_info(zone.text(), ": deploy-hook done");
    } else {
        error = "deploy-hook " + r.describe();
        if (r.timed_out) {
            error += " after " + std::to_string(config.hook_timeout.count()) + " s";
        }
        log_error(zone.text(), ": ", error, " (the new certificate is in place)");
    }
    const ZoneStateStore states(config.state_dir);
    ZoneState s = states.load(zone);
    s.deploy_hook_error = error;
    try {
        states.save(zone, s);
    } catch (const std::exception& e) {
        log_warning(zone.text(), ": could not record the deploy-hook's outcome: ", e.what());
    }
}

std::vector<MetricSample> pass_metrics(const IssuerConfig& config, const PassReport& report) {
    std::vector<MetricSample> out;
    const CertStore store(config.certs_dir);
    const ZoneStateStore states(config.state_dir);
    for (const DnsName& zone : config.zones) {
        for (KeyType type : config.key_types) {
            try {
                if (auto cert = store.current(zone, type)) {
                    out.push_back(
                        {"acmezone_certificate_not_after_seconds",
                         "notAfter of the stored certificate (Unix time)",
                         "gauge",
                         {{"zone", zone.text()}, {"key_type", std::string(to_string(type))}},
                         seconds_since_epoch(cert->not_after)});
                }
            } catch (const std::exception& e) {
                log_warning(zone.text(), ": ", to_string(type), " certificate: ", e.what());
            }
        }
    }
    for (const DnsName& zone : config.zones) {
        const ZoneState s = states.load(zone);
        if (s.last_success) {
            out.push_back({"acmezone_last_success_timestamp_seconds",
                           "when the zone last got a certificate (Unix time)",
                           "gauge",
                           {{"zone", zone.text()}},
                           seconds_since_epoch(*s.last_success)});
        }
    }
    for (const DnsName& zone : config.zones) {
        const ZoneState s = states.load(zone);
        out.push_back({"acmezone_consecutive_failures",
                       "failed attempts since the zone's last success",
                       "gauge",
                       {{"zone", zone.text()}},
                       static_cast<double>(s.failures)});
    }
    if (config.standby) {
        standby_metrics(config, store, out);
    }
    out.push_back({"acmezone_pass_timestamp_seconds",
                   "when the last pass ended (Unix time)",
                   "gauge",
                   {},
                   seconds_since_epoch(report.finished)});
    return out;
}

void after_pass_outputs(const IssuerConfig& config, const PassReport& report,
                        const std::vector<MetricSample>& extra) {
    const CertStore store(config.certs_dir);
    const ZoneStateStore states(config.state_dir);
    const SysTime now = system_clock::now();

    // Notifications, per configured zone. A zone the pass considered and did
    // not attempt is as the pass read it (its certificate and state); a zone
    // it issued for has the certificate it stored; the others are read again.
    std::map<DnsName, const ZoneOutcome*> attempted;
    for (const ZoneOutcome& o : report.outcomes) {
        if (o.result == ZoneOutcome::Result::issued || o.result == ZoneOutcome::Result::failed) {
            attempted[o.zone] = &o;
        }
    }
    std::map<DnsName, const ZoneStatus*> considered;
    for (const ZoneStatus& st : report.considered) {
        considered[st.zone] = &st;
    }
    for (const DnsName& zone : config.zones) {
        NotifyOutcome outcome;
        const auto o = attempted.find(zone);
        if (o != attempted.end()) {
            outcome.attempted = true;
            outcome.ok = o->second->result == ZoneOutcome::Result::issued;
            outcome.error = o->second->message;
        }
        const auto seen = outcome.attempted ? considered.end() : considered.find(zone);
        if (seen != considered.end()) {
            if (seen->second->cert) {
                outcome.not_after = seen->second->cert->not_after;
            }
        } else if (outcome.ok && o->second->cert) {
            outcome.not_after = o->second->cert->not_after;  // just issued and stored
        } else {
            try {
                if (auto cert = store.current(zone)) {
                    outcome.not_after = cert->not_after;
                }
            } catch (const std::exception&) {
                // an unreadable certificate: no expiry to report
            }
        }
        ZoneState s = seen != considered.end() ? seen->second->saved : states.load(zone);
        if (!outcome.attempted && s.last_result == LastResult::failed) {
            outcome.error = s.last_error;
        }
        NotifyState ns{s.notified_failed.has_value(), s.notified_expiring};
        const auto events =
            decide_notifications(ns, zone, outcome, now, config.notify_expiring_days);
        if (events.empty() || config.notify_hook.empty()) {
            if (!events.empty()) {
                // Keep the state in step even without a hook: adding one later
                // does not replay old events.
                record(s, ns);
                try {
                    states.save(zone, s);
                } catch (const std::exception& e) {
                    log_warning(zone.text(), ": could not record notifications: ", e.what());
                }
            }
            continue;
        }
        for (const NotifyEvent& e : events) {
            run_notify_hook(config, e);
        }
        record(s, ns);
        try {
            states.save(zone, s);
        } catch (const std::exception& e) {
            log_warning(zone.text(), ": could not record notifications: ", e.what());
        }
    }

    // Next keys ready before they are used, so their pins can be published.
    if (config.next_key) {
        CertStore writable(config.certs_dir);
        for (const DnsName& zone : config.zones) {
            for (KeyType type : config.key_types) {
                try {
                    if (writable.current(zone, type) && !writable.next_key(zone, type)) {
                        writable.write_next_key(zone, type, CertKey::generate(type));
                        log_info(zone.text(), ": next ", to_string(type), " key made ready");
                    }
                } catch (const std::exception& e) {
                    log_error(zone.text(), ": next ", to_string(type), " key: ", e.what());
                }
            }
        }
    }

    if (config.metrics_file) {
        try {
            std::vector<MetricSample> samples = pass_metrics(config, report);
            samples.insert(samples.end(), extra.begin(), extra.end());
            write_metrics_file(*config.metrics_file, samples);
        } catch (const std::exception& e) {
            log_error("metrics file ", config.metrics_file->string(), ": ", e.what());
        }
    }
}

}  // namespace acmezone::issuer
