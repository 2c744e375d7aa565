// See standby.h.
#include "issuer/pass/standby.h"

#include <algorithm>
#include <atomic>
#include <map>

#include "common/interrupt.h"
#include "common/log.h"
#include "common/parallel.h"
#include "issuer/acme/ari.h"
#include "issuer/ca/ca_session.h"
#include "issuer/certs/pins.h"
#include "issuer/dns/challenge_dns.h"
#include "issuer/dns/precheck.h"
#include "issuer/outputs/pass_outputs.h"
#include "issuer/pass/issuance.h"
#include "issuer/pass/pass.h"
#include "issuer/pass/schedule.h"

namespace acmezone::issuer {
namespace {

// What one zone's standby attempt works with, shared by the worker threads.
struct StandbyWork {
    const IssuerConfig& config;
    CaSession& ca;
    const ChallengeDns& dns;
    CertStore& store;
    const ZoneStateStore& states;
    std::vector<std::string> controls;  // as recorded in an order
    std::shared_ptr<const CtLogList> ct_logs;
};

void save(const ZoneStateStore& states, const DnsName& zone, const ZoneState& s) {
    try {
        states.save(zone, s);
    } catch (const std::exception& e) {
        log_error(zone.text(), ": standby: could not record the attempt: ", e.what());
    }
}

// The events that keep the standby order in flight in the zone's state.
IssuanceEvents standby_events(StandbyWork& w, const DnsName& zone, ZoneState& saved,
                              std::string& ordered_type) {
    IssuanceEvents events;
    events.ordered = [&ordered_type](const std::string&, KeyType type) {
        ordered_type = to_string(type);
    };
    events.before_publish = [&w, &saved, &ordered_type, zone](
                                const std::string& order_url, const DnsName& owner,
                                const std::vector<std::string>& values) {
        saved.standby.order = InFlightOrder{
            order_url,   owner.text(), values, w.controls, std::chrono::system_clock::now(),
            ordered_type};
        try {
            w.states.save(zone, saved);
        } catch (const std::exception& e) {
            throw std::runtime_error(
                std::string("could not record the order in flight, so nothing was published: ") +
                e.what());
        }
    };
    events.after_unpublish = [&w, &saved, zone] {
        saved.standby.order.reset();
        save(w.states, zone, saved);
    };
    events.authorization_failed = [&w](const DnsName& identifier) {
        if (RateBudget* budget = w.ca.budget()) {
            budget->record_failed_authorization(identifier, std::chrono::system_clock::now());
        }
    };
    return events;
}

// One zone's attempt; true when a standby set was stored.
bool standby_zone(StandbyWork& w, const DnsName& zone, Renewal renewal) {
    ZoneState saved = w.states.load(zone);
    const SysTime started = std::chrono::system_clock::now();
    saved.standby.last_attempt = started;
    try {
        if (!w.ca.available()) {
            throw IssuanceError(zone.text() + ": " + w.ca.unavailable());
        }
        const PrecheckReport checks = precheck_zone(zone, w.dns, w.ca.caa_identities());
        if (checks.failed()) {
            throw IssuanceError(zone.text() +
                                ": checks before ordering failed: " + checks.failure_text());
        }
        const std::vector<DnsName> names = certificate_names(zone);
        if (RateBudget* budget = w.ca.budget()) {
            for (std::size_t i = 0; i < w.config.configured_key_types().size(); ++i) {
                budget->record_order(names, started);
            }
        }
        IssuanceServices services{w.ca.acme(),
                                  w.dns,
                                  w.store,
                                  w.config.key_type,
                                  w.config.trust_file,
                                  w.config.validation_timeout};
        services.key_types = w.config.configured_key_types();
        services.next_key = w.config.next_key;
        services.preferred_chain = w.config.preferred_chain;
        services.ct_mode = w.config.ct_mode_for(w.ca.directory());
        services.ct_logs = w.ct_logs;
        services.standby = true;
        std::string ordered_type;
        const IssuanceEvents events = standby_events(w, zone, saved, ordered_type);
        const CertInfo info =
            issue_certificate(zone, services, [](const std::string&) {}, events, {});
        if (RateBudget* budget = w.ca.budget()) {
            for (std::size_t i = 0; i < services.key_types.size(); ++i) {
                budget->record_issued(names, renewal, std::chrono::system_clock::now());
            }
        }
        saved.standby.ca = w.ca.directory();
        saved.standby.last_success = std::chrono::system_clock::now();
        saved.standby.last_error.clear();
        saved.standby.failures = 0;
        saved.standby.retry_at.reset();
        saved.standby.switched_at.reset();
        saved.standby.ari.clear();  // the next step asks for the new certificates' windows
        save(w.states, zone, saved);
        log_info(zone.text(), ": standby set from ", w.ca.directory(), " stored, valid until ",
                 format_utc(info.not_after), " (the live set is unchanged)");
        return true;
    } catch (const std::exception& e) {
        saved.standby.last_error = e.what();
        if (!interrupted()) {  // a signal is not the zone's fault: no backoff
            saved.standby.failures += 1;
            saved.standby.retry_at =
                started + retry_delay(saved.standby.failures, random_unit(), w.config.schedule);
        }
        save(w.states, zone, saved);
        log_error("standby: ", e.what(),
                  saved.standby.retry_at
                      ? " (attempt " + std::to_string(saved.standby.failures) + "; next after " +
                            format_utc(*saved.standby.retry_at) + ")"
                      : std::string());
        return false;
    }
}

}  // namespace

StandbyView standby_view(const IssuerConfig& config, const CertStore& store, const DnsName& zone,
                         const ZoneState& saved, SysTime now) {
    StandbyView v;
    v.ca = saved.standby.ca;
    v.wanted_at = now;
    try {
        const std::vector<CertStore::Current> set = store.standby_all(zone);
        if (set.empty()) {
            v.problem = "missing";
            return v;
        }
        SysTime not_before = set.front().info.not_before;
        SysTime not_after = set.front().info.not_after;
        std::optional<SysTime> ari_at;
        bool every_ari = config.ari;
        for (const CertStore::Current& c : set) {
            v.types.push_back(c.type);
            v.cert_ids.emplace_back();
            if (config.ari) {
                try {
                    v.cert_ids.back() = ari_cert_id(c.leaf.get());
                } catch (const std::exception& e) {  // no ARI for it: renew-before decides
                    log_debug(zone.text(), ": standby ", to_string(c.type),
                              ": no ARI certID: ", e.what());
                }
            }
            const auto a = std::find_if(
                saved.standby.ari.begin(), saved.standby.ari.end(), [&](const AriState& e) {
                    return !e.cert_id.empty() && e.cert_id == v.cert_ids.back() &&
                           e.directory == saved.standby.ca;
                });
            if (a != saved.standby.ari.end() && a->renew_at) {
                ari_at = ari_at ? std::min(*ari_at, *a->renew_at) : *a->renew_at;
            } else {
                every_ari = false;
            }
            if (c.info.not_after < not_after) {
                not_after = c.info.not_after;
                not_before = c.info.not_before;
            }
        }
        v.not_after = not_after;
        for (KeyType t : config.configured_key_types()) {
            if (std::find(v.types.begin(), v.types.end(), t) == v.types.end()) {
                v.problem = "no " + std::string(to_string(t)) + " certificate";
                return v;
            }
        }
        if (not_after <= now) {
            v.problem = "expired";
            return v;
        }
        v.present = true;
        ScheduleSettings s = config.schedule;
        if (config.standby) {
            s.renew_before = config.standby->renew_before;
        }
        v.renew_basis = every_ari && ari_at ? "ARI window" : "renew-before";
        v.wanted_at = saved.standby.switched_at ? now  // replaced after the switch
                      : every_ari && ari_at     ? *ari_at
                                                : renewal_time(zone, not_before, not_after, s);
    } catch (const std::exception& e) {
        v.problem = e.what();
    }
    return v;
}

namespace {

// The standby sets of `todo` from the CA of `role` (zone_ca_roles), within
// its budget.
void issue_standby_sets(const IssuerConfig& config, CertStore& store, const ZoneStateStore& states,
                        CaRole role, std::vector<std::pair<DnsName, Renewal>> todo, SysTime now,
                        StandbyReport& report) {
    const std::unique_ptr<CaSession> ca = open_ca_session_for(config, role);
    const ChallengeDns dns(config.dns);
    StandbyWork work{config,
                     *ca,
                     dns,
                     store,
                     states,
                     {},
                     config.ct_log_list ? CtLogList::load(*config.ct_log_list) : nullptr};
    for (const Endpoint& ep : config.dns.controls) {
        work.controls.push_back(ep.to_string());
    }
    // The budget: the zones it admits now; the others wait (not a failure).
    if (RateBudget* budget = ca->available() ? ca->budget() : nullptr) {
        std::vector<OrderRequest> requests;
        for (const auto& [zone, renewal] : todo) {
            for (std::size_t i = 0; i < config.configured_key_types().size(); ++i) {
                requests.push_back({certificate_names(zone), renewal});
            }
        }
        const auto decisions = budget->plan(requests, now);
        std::vector<std::pair<DnsName, Renewal>> admitted;
        const std::size_t per_zone = config.configured_key_types().size();
        for (std::size_t z = 0; z < todo.size(); ++z) {
            const BudgetDecision* held = nullptr;
            for (std::size_t i = 0; i < per_zone; ++i) {
                if (!decisions[z * per_zone + i].allowed) {
                    held = &decisions[z * per_zone + i];
                }
            }
            if (held) {
                ZoneState saved = states.load(todo[z].first);
                saved.standby.retry_at = held->not_before;
                saved.standby.last_error =
                    "deferred by the rate budget of " + ca->directory() + ": " + held->limit;
                save(states, todo[z].first, saved);
                log_info(todo[z].first.text(), ": standby set deferred until ",
                         format_utc(held->not_before), ": ", held->limit);
            } else {
                admitted.push_back(todo[z]);
            }
        }
        todo = std::move(admitted);
    }
    std::atomic<std::size_t> attempted{0};
    std::atomic<std::size_t> issued{0};
    for_each_index_parallel(config.parallel, todo.size(), [&](std::size_t i) {
        if (stop_requested()) {
            return;  // not started
        }
        ++attempted;
        if (standby_zone(work, todo[i].first, todo[i].second)) {
            ++issued;
        }
    });
    if (ca->available() && ca->budget()) {
        ca->budget()->flush();
    }
    report.attempted += attempted;
    report.issued += issued;
    report.failed += attempted - issued;
    if (attempted > issued) {
        log_error("standby: ", attempted - issued, " of ", attempted.load(), " zone(s) failed (",
                  ca->directory(), ")");
    }
}

// The role whose CA has `directory` (first or standby), if either.
std::optional<CaRole> role_of_directory(const IssuerConfig& config, const std::string& directory) {
    for (CaRole role : {CaRole::standby, CaRole::first}) {
        if (!directory.empty() && role_directory(config, role) == directory) {
            return role;
        }
    }
    return std::nullopt;
}

// [certs] ari: the windows of the standby sets' certificates whose answer
// is stale, from the CA that issued each set (standby.h).
void refresh_standby_renewal_info(const IssuerConfig& config, const CertStore& store,
                                  const ZoneStateStore& states, SysTime now) {
    // Per CA: the zones to ask for, with their standby certificates' certIDs
    // (the view parses the set once; it is not read again to ask).
    std::map<CaRole, std::vector<std::pair<DnsName, std::vector<std::string>>>> todo;
    for (const DnsName& zone : config.zones) {
        if (!store.current_version(zone)) {
            continue;
        }
        const ZoneState saved = states.load(zone);
        const auto role = role_of_directory(config, saved.standby.ca);
        const StandbyView v = standby_view(config, store, zone, saved, now);
        if (role && v.present &&
            std::any_of(v.cert_ids.begin(), v.cert_ids.end(), [&](const std::string& id) {
                return !id.empty() && ari_stale(saved.standby.ari, id, saved.standby.ca, now);
            })) {
            todo[*role].emplace_back(zone, v.cert_ids);
        }
    }
    for (const auto& [role, zones] : todo) {
        try {
            const std::unique_ptr<CaSession> ca = open_ca_session_for(config, role);
            if (!ca->available()) {
                log_warning("standby: renewal information: ", ca->unavailable());
                continue;
            }
            const bool offered = ca->offers_renewal_info();
            for (const auto& [zone, cert_ids] : zones) {
                ZoneState saved = states.load(zone);
                std::vector<AriCert> certs;
                for (const std::string& id : cert_ids) {
                    certs.push_back({id, zone.text() + " (standby)"});
                }
                refresh_ari_entries(*ca, offered, saved.standby.ari, certs, now);
                save(states, zone, saved);
            }
        } catch (const Interrupted&) {
            throw;
        } catch (const std::exception& e) {
            log_warning("standby: renewal information: ", e.what());
        }
    }
}

// "standby-missing" (hooks.h) once for each zone with a live set and no
// usable standby set after the step; the mark goes once one is stored.
void notify_missing(const IssuerConfig& config, const CertStore& store,
                    const ZoneStateStore& states, SysTime now) {
    for (const DnsName& zone : config.zones) {
        if (!store.current_version(zone)) {
            continue;
        }
        ZoneState saved = states.load(zone);
        const StandbyView v = standby_view(config, store, zone, saved, now);
        if (v.present == !saved.standby.notified_missing.has_value()) {
            continue;  // nothing new
        }
        if (v.present) {
            saved.standby.notified_missing.reset();
        } else {
            NotifyEvent e{"standby-missing", zone,
                          saved.standby.last_error.empty() ? "standby set " + v.problem
                                                           : saved.standby.last_error,
                          std::nullopt, now};
            try {
                if (const auto live = store.current(zone)) {
                    e.not_after = live->not_after;
                }
            } catch (const std::exception&) {
                // an unreadable live certificate: no expiry to report
            }
            run_notify_hook(config, e);
            saved.standby.notified_missing = now;
        }
        save(states, zone, saved);
    }
}

}  // namespace

StandbyReport run_standby_step(const IssuerConfig& config, SysTime now) {
    StandbyReport report;
    if (!config.standby) {
        return report;
    }
    CertStore store(config.certs_dir);
    const ZoneStateStore states(config.state_dir);
    if (config.ari) {
        refresh_standby_renewal_info(config, store, states, now);
    }
    // By the CA each zone's standby set comes from: the standby CA, or the
    // first for zones switched to the standby CA.
    std::map<CaRole, std::vector<std::pair<DnsName, Renewal>>> todo;
    for (const DnsName& zone : config.zones) {
        if (!store.current_version(zone)) {
            continue;  // the live set comes first
        }
        const ZoneState saved = states.load(zone);
        const StandbyView v = standby_view(config, store, zone, saved, now);
        if (v.wanted_at > now || (saved.standby.retry_at && *saved.standby.retry_at > now)) {
            continue;
        }
        const CaRole role = zone_ca_roles(config, saved.ca).standby;
        log_info(zone.text(), ": standby set ",
                 !v.present                  ? v.problem
                 : saved.standby.switched_at ? "to be replaced (it was the live set until the "
                                               "switch at " +
                                                   format_utc(*saved.standby.switched_at) + ")"
                                             : "due by its " + v.renew_basis + " (valid until " +
                                                   format_utc(*v.not_after) + ")",
                 "; ordering from ", role_directory(config, role));
        todo[role].emplace_back(zone, v.present ? Renewal::yes : Renewal::no);
    }
    for (auto& [role, zones] : todo) {
        issue_standby_sets(config, store, states, role, std::move(zones), now, report);
    }
    notify_missing(config, store, states, std::chrono::system_clock::now());
    return report;
}

std::string switch_zone(const IssuerConfig& config, const DnsName& zone) {
    CertStore store(config.certs_dir);
    const ZoneStateStore states(config.state_dir);
    const auto was_live = store.current_version(zone);
    const unsigned long live = store.switch_to_standby(zone);
    ZoneState saved = states.load(zone);
    std::swap(saved.ca, saved.standby.ca);
    saved.ari.clear();      // the windows were for the certificates now standby
    saved.current.reset();  // the next read summarises the new live set
    saved.resume_order.clear();
    saved.standby.failures = 0;
    saved.standby.retry_at.reset();
    saved.standby.last_error.clear();
    saved.standby.switched_at = std::chrono::system_clock::now();
    saved.standby.ari.clear();
    save(states, zone, saved);
    if (config.next_key) {  // the next key is live now: the next one is new
        for (const CertStore::Current& c : store.current_all(zone)) {
            const auto next = store.next_key(zone, c.type);
            if (next && spki_pin_of_pem(c.fullchain_pem, "live certificate").base64 ==
                            spki_pin(next->public_der()).base64) {
                store.write_next_key(zone, c.type, CertKey::generate(c.type));
            }
        }
    }
    return "the standby set (.v-" + std::to_string(live) + ", from " +
           (saved.ca.empty() ? std::string("an unrecorded CA") : saved.ca) +
           ") is live; the set that was live" +
           (was_live ? " (.v-" + std::to_string(*was_live) + ")" : std::string()) +
           " is the standby set";
}

}  // namespace acmezone::issuer
