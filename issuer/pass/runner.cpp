// See runner.h.
#include "issuer/pass/runner.h"

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
#include "common/interrupt.h"
#include "common/log.h"
#include "common/utc_time.h"
#include "issuer/acme/account_key.h"
#include "issuer/acme/acme_client.h"
#include "issuer/acme/ari.h"
#include "issuer/acme/http_client.h"
#include "issuer/certs/cert_store.h"
#include "issuer/cli/check_command.h"
#include "issuer/dns/challenge_dns.h"
#include "issuer/outputs/pass_outputs.h"
#include "issuer/pass/issuance.h"
#include "issuer/pass/progress.h"
#include "issuer/pass/state_lock.h"

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

// The key type of the order a crash left: as recorded, else (a record from
// before key types were recorded) the first configured type.
KeyType resume_key_type(const ZoneState& saved, const IssuerConfig& c) {
    if (auto t = key_type_from_name(saved.resume_key_type)) {
        return *t;
    }
    return c.key_types.empty() ? c.key_type : c.key_types.front();
}

void save_state(const ZoneStateStore& states, const DnsName& zone, const ZoneState& s) {
    try {
        states.save(zone, s);
    } catch (const std::exception& e) {
        log_error(zone.text(), ": could not record the attempt: ", e.what());
    }
}

// One account, one HTTPS client and one ACME client of the first CA, which
// refresh_renewal_info asks for renewal windows.
struct AcmeSession {
    explicit AcmeSession(const IssuerConfig& c)
        : account(AccountKey::load_or_create(c.account_key_path())),
          http(http_settings(c)),
          acme(http, account, acme_settings(c)) {}

    const AccountKey account;
    HttpClient http;
    AcmeClient acme;
};

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

namespace {

// The zone's certificate is for exactly its names (so a new one renews it,
// as Let's Encrypt counts renewals).
bool has_its_names(const ZoneStatus& st) {
    if (!st.cert) {
        return false;
    }
    std::vector<std::string> want;
    for (const DnsName& n : certificate_names(st.zone)) {
        want.push_back(n.text());
    }
    std::sort(want.begin(), want.end());
    return st.cert->dns_names == want;
}

}  // namespace

Runner::Runner(IssuerConfig config) : config_(std::move(config)) {}

// How the budget counts each order of `st` (rate_budget.h): an ARI renewal
// when the order carries "replaces" (ARI on and the pass's CA has
// renewalInfo) and that key type's certificate is within the window this CA
// gave for it; else a renewal when the zone's certificate has exactly its
// names; else new.
std::vector<std::pair<KeyType, Renewal>> Runner::orders_of(const ZoneStatus& st,
                                                           SysTime now) const {
    std::vector<std::pair<KeyType, Renewal>> out;
    const bool renewal = has_its_names(st);
    for (KeyType type : config_.key_types) {
        Renewal r = renewal ? Renewal::yes : Renewal::no;
        for (const ZoneStatus::Certificate& c : st.certs) {
            const AriState* a = c.cert_id.empty() ? nullptr : st.saved.ari_for(c.cert_id);
            if (renewal && ca_ari_ && c.key_type == type && a && ca_ &&
                a->directory == ca_->directory && a->window_start && *a->window_start <= now) {
                r = Renewal::ari;
            }
        }
        out.emplace_back(type, r);
    }
    return out;
}

void Runner::plan_budget(const std::vector<ZoneStatus>& todo) {
    budget_plan_.clear();
    ca_ari_ = false;
    if (!ca_ || !ca_->budget || !ca_->unavailable.empty()) {
        return;
    }
    if (config_.ari) {
        try {
            ca_ari_ = ca_->acme->renewal_info_url().has_value();
        } catch (const std::exception& e) {
            log_debug("renewal information: ", e.what());
        }
    }
    const SysTime now = system_clock::now();
    std::vector<OrderRequest> requests;
    std::vector<std::size_t> zone_of;  // request -> index in todo
    for (std::size_t i = 0; i < todo.size(); ++i) {
        ZonePlan& p = budget_plan_[todo[i].zone];
        p.orders = orders_of(todo[i], now);
        for (const auto& [type, renewal] : p.orders) {
            requests.push_back({certificate_names(todo[i].zone), renewal});
            zone_of.push_back(i);
        }
    }
    const auto decisions = ca_->budget->plan(requests, now);
    for (std::size_t r = 0; r < requests.size(); ++r) {
        ZonePlan& p = budget_plan_[todo[zone_of[r]].zone];
        if (p.decision.allowed && !decisions[r].allowed) {
            p.decision = decisions[r];
        }
    }
}

const Runner::ZonePlan& Runner::plan_of(const ZoneStatus& st) const {
    static const ZonePlan kNone;
    auto it = budget_plan_.find(st.zone);
    return it == budget_plan_.end() ? kNone : it->second;
}

// acmezone_rate_budget_remaining and _limit{ca,limit,scope}: what is left
// of each limit of the pass's CA (or, for a pass that opened none, the
// first CA's) for the configured zones, as rate_budget.h counts it.
std::vector<MetricSample> Runner::budget_metrics() const {
    std::vector<MetricSample> out;
    if (!config_.metrics_file) {
        return out;
    }
    try {
        std::unique_ptr<RateBudget> own;
        const RateBudget* budget = ca_ ? ca_->budget.get() : nullptr;
        if (!budget) {
            own = std::make_unique<RateBudget>(config_.rate_budget_path(), config_.directory,
                                               config_.rate_limits);
            budget = own.get();
        }
        std::vector<std::vector<DnsName>> sets;
        for (const DnsName& zone : config_.zones) {
            sets.push_back(certificate_names(zone));
        }
        for (const RateBudget::Remaining& r : budget->remaining(sets, system_clock::now())) {
            const std::vector<std::pair<std::string, std::string>> labels = {
                {"ca", budget->ca_url()}, {"limit", r.limit}, {"scope", r.scope}};
            out.push_back({"acmezone_rate_budget_remaining",
                           "requests the CA's rate limit leaves before the issuer defers orders "
                           "(scope: account, registered domain, set of names or name)",
                           "gauge", labels, static_cast<double>(r.left)});
            out.push_back({"acmezone_rate_budget_limit",
                           "the CA's rate limit the issuer keeps within (rate-limits)", "gauge",
                           labels, static_cast<double>(r.max)});
        }
    } catch (const std::exception& e) {
        log_warning("metrics: rate budget: ", e.what());
    }
    return out;
}

// A rateLimited answer: the zone waits (in its state and in the budget)
// until the CA's Retry-After, even when that is later than the backoff.
void Runner::record_refusal(const ZoneStatus& zone, const IssuanceError& e, ZoneState& saved) {
    const auto& p = e.problem();
    if (!p || p->short_type() != "rateLimited" || !p->retry_after || !ca_ || !ca_->budget) {
        return;
    }
    const SysTime now = system_clock::now();
    const SysTime until = now + *p->retry_after;
    if (!saved.retry_at || *saved.retry_at < until) {
        saved.retry_at = until;
    }
    saved.deferred_by = "the CA answered rateLimited (Retry-After " +
                        std::to_string(p->retry_after->count()) + " s)";
    ca_->budget->record_ca_refusal(certificate_names(zone.zone), until, p->detail, now);
}

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
            // One renewal time per certificate; the earliest decides.
            std::string lacking;  // configured key types with no certificate yet
            for (KeyType type : config_.key_types.empty() ? std::vector<KeyType>{config_.key_type}
                                                          : config_.key_types) {
                const auto info = store.current(zone, type);
                if (!info) {
                    lacking += (lacking.empty() ? "" : " ") + std::string(to_string(type));
                    continue;
                }
                ZoneStatus::Certificate c;
                c.key_type = type;
                try {
                    c.cert_id = ari_cert_id(store.current_chain(zone, type));
                } catch (const std::exception& e) {
                    log_debug(zone.text(), ": ", to_string(type), ": no ARI certID: ", e.what());
                }
                c.renew_at =
                    renewal_time(zone, info->not_before, info->not_after, config_.schedule);
                c.renew_basis = "renew-before";
                const AriState* a = c.cert_id.empty() ? nullptr : st.saved.ari_for(c.cert_id);
                if (config_.ari && a && a->renew_at && a->directory == config_.directory) {
                    c.renew_at = a->renew_at;
                    c.renew_basis = "ARI window";
                }
                if (!st.renew_at || *c.renew_at < *st.renew_at) {
                    st.renew_at = c.renew_at;
                    st.renew_basis = c.renew_basis;
                }
                st.certs.push_back(std::move(c));
            }
            if (!st.renew_at) {  // no certificate of a configured type: the one there
                st.renew_at =
                    renewal_time(zone, st.cert->not_before, st.cert->not_after, config_.schedule);
                st.renew_basis = "renew-before";
            }
            if (!lacking.empty()) {
                // A key type added to the configuration: the set is made
                // again now (the types change together), not at renewal.
                st.renew_at = std::min(*st.renew_at, now);
                st.renew_basis = "no " + lacking + " certificate yet";
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
    if (!st.saved.resume_order.empty()) {
        wanted = now;  // an order a crash left: resume or abandon it now
        st.next_action = "resume";
    }
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
    // The CA: when neither the first nor the fallback answered, every zone
    // fails with the reason (ca_session.h).
    if (!ca_ || !ca_->unavailable.empty()) {
        return {PreOrderVerdict::Kind::fail, ca_ ? ca_->unavailable : "no CA", std::nullopt};
    }
    // Checks before ordering (precheck.h, check_command.h): a zone whose
    // challenge path is broken is not ordered and fails with the findings.
    if (auto failure = precheck_before_order(config_, zone.zone)) {
        return {PreOrderVerdict::Kind::fail, *failure, std::nullopt};
    }
    // The rate budget: the pass's plan (plan_budget) admitted the most urgent
    // zones; the others wait until the limit that holds them back allows.
    // An admitted zone's orders (one per key type) are counted now, before
    // they are sent.
    const ZonePlan& plan = plan_of(zone);
    if (!plan.decision.allowed) {
        return {PreOrderVerdict::Kind::defer, plan.decision.limit, plan.decision.not_before};
    }
    const SysTime now = system_clock::now();
    const std::size_t orders = plan.orders.empty() ? config_.key_types.size() : plan.orders.size();
    for (std::size_t i = 0; i < orders; ++i) {
        ca_->budget->record_order(certificate_names(zone.zone), now);
    }
    return {};
}

// Hook point: called by the worker thread after a new certificate for
// `before.zone` is stored and switched to (`cert` is its leaf); `before` is
// the zone as it was before the pass (its old certificate, if any). Deploy
// hooks go here. Called concurrently for different zones; an exception is
// logged and does not fail the zone.
void Runner::after_certificate_changed(const ZoneStatus& before, const CertInfo& /*cert*/) {
    if (ca_ && ca_->budget) {  // first: a failing deploy hook must not skip it
        // One certificate per key type, each counted as planned (before the
        // pass: the zone's state no longer has the old certificates' windows).
        const SysTime now = system_clock::now();
        const ZonePlan& plan = plan_of(before);
        for (const auto& [type, renewal] :
             plan.orders.empty() ? orders_of(before, now) : plan.orders) {
            ca_->budget->record_issued(certificate_names(before.zone), renewal, now);
        }
    }
    run_deploy_hook(config_, before.zone);  // pass_outputs.h
}

// Hook point: called once after every pass (run, issue, each of the
// daemon's), with the lock still held, from the thread that ran the pass.
// Metrics files and notifications about the pass as a whole go here.
void Runner::after_pass(const PassReport& report) {
    // Notifications, next keys, the metrics file (pass_outputs.h). Other
    // parts' metric samples (the CA's rate-limit budget) go in the list.
    after_pass_outputs(config_, report, budget_metrics());
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
            s.resume_order = o.order_url;
            s.resume_key_type = o.key_type;
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
    // The CA (first or fallback, ca_session.h) and the budget's plan for
    // `todo`, most urgent first; both read by before_order().
    ca_ = open_ca_session(config_);
    plan_budget(todo);
    AcmeClient& acme = *ca_->acme;
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
            saved.deferred_by = verdict.reason;
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
            std::string ordered_type;  // the key type of the order in hand
            events.ordered = [&](const std::string&, KeyType type) {
                ordered_type = to_string(type);
                if (!saved.resume_order.empty() && saved.resume_key_type == ordered_type) {
                    saved.resume_order.clear();  // resumed or abandoned: done with it
                    saved.resume_key_type.clear();
                    save_state(states, zone, saved);
                }
            };
            events.before_publish = [&](const std::string& order_url, const DnsName& owner,
                                        const std::vector<std::string>& values) {
                saved.order = InFlightOrder{order_url, owner.text(),        values,
                                            controls,  system_clock::now(), ordered_type};
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
            events.authorization_failed = [&](const DnsName& identifier) {
                ca_->budget->record_failed_authorization(identifier, system_clock::now());
            };
            events.after_unpublish = [&] {
                saved.order.reset();
                save_state(states, zone, saved);
            };
            IssuanceOptions options;
            if (config_.ari) {
                for (const ZoneStatus::Certificate& c : st.certs) {
                    options.replaces[c.key_type] = c.cert_id;  // the same type's certificate
                }
            }
            options.resume_order_url = saved.resume_order;
            options.resume_key_type = resume_key_type(saved, config_);
            CertInfo info = issue_certificate(
                zone, services, [&](const std::string& step) { progress.step(zone, step); }, events,
                options);
            out.result = ZoneOutcome::Result::issued;
            out.cert = info;
            saved.last_result = "ok";
            saved.last_error.clear();
            saved.last_success = system_clock::now();
            saved.failures = 0;
            saved.retry_at.reset();
            saved.deferred_by.clear();
            saved.ca = ca_->directory;
            saved.ari.clear();           // new certificates: the old ones' windows are moot
            saved.resume_order.clear();  // done with, whatever key type it was for
            saved.resume_key_type.clear();
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
                saved.deferred_by.clear();
                if (const auto* ie = dynamic_cast<const IssuanceError*>(&e)) {
                    record_refusal(st, *ie, saved);
                }
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
    const HttpStats hs_done = ca_->http->stats();
    if (ca_->budget) {
        ca_->budget->flush();
    }
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
    ca_.reset();  // the CA's connections close; its budget is written
    return report;
}

int Runner::exit_code(const PassReport& report) const {
    return report.failed() > 0 ? kExitFailed : kExitOk;
}

void Runner::refresh_renewal_info(std::vector<ZoneStatus>& zones, SysTime now) {
    using namespace std::chrono_literals;
    if (!config_.ari) {
        return;
    }
    // A certificate's answer is stale when there is none for it (a new
    // certificate), it is from another CA, or its Retry-After has passed.
    auto stale = [&](const ZoneStatus& st, const ZoneStatus::Certificate& c) {
        const AriState* a = st.saved.ari_for(c.cert_id);
        return !c.cert_id.empty() &&
               (!a || a->directory != config_.directory || !a->next_poll || *a->next_poll <= now);
    };
    std::vector<ZoneStatus*> todo;
    for (ZoneStatus& st : zones) {
        if (std::any_of(st.certs.begin(), st.certs.end(),
                        [&](const ZoneStatus::Certificate& c) { return stale(st, c); })) {
            todo.push_back(&st);
        }
    }
    if (todo.empty()) {
        return;
    }
    const ZoneStateStore states(config_.state_dir);
    try {
        AcmeSession session(config_);
        const auto url = session.acme.renewal_info_url();
        for (ZoneStatus* st : todo) {
            // Entries for certificates no longer current go.
            std::vector<AriState> kept;
            for (const ZoneStatus::Certificate& c : st->certs) {
                if (const AriState* a = st->saved.ari_for(c.cert_id)) {
                    kept.push_back(*a);
                }
            }
            st->saved.ari = std::move(kept);
            for (const ZoneStatus::Certificate& c : st->certs) {
                if (!stale(*st, c)) {
                    continue;
                }
                AriState* found = st->saved.ari_for(c.cert_id);
                if (!found || found->directory != config_.directory) {
                    if (!found) {
                        st->saved.ari.emplace_back();
                        found = &st->saved.ari.back();
                    }
                    *found = AriState{};
                    found->cert_id = c.cert_id;
                    found->directory = config_.directory;
                }
                AriState& a = *found;
                const std::string who =
                    st->zone.text() +
                    (st->certs.size() > 1 ? " (" + std::string(to_string(c.key_type)) + ")" : "");
                if (!url) {
                    // The CA has no ARI: renew-before decides; look again in a day.
                    a.window_start.reset();
                    a.window_end.reset();
                    a.renew_at.reset();
                    a.next_poll = now + 24h;
                    continue;
                }
                try {
                    const auto reply = session.acme.get_renewal_info(c.cert_id);
                    const RenewalInfo info = parse_renewal_info(reply.json);
                    if (a.window_start != info.window_start || a.window_end != info.window_end ||
                        !a.renew_at) {
                        a.window_start = info.window_start;
                        a.window_end = info.window_end;
                        a.renew_at =
                            pick_in_window(info.window_start, info.window_end, random_unit());
                        log_info(who, ": the CA suggests renewing between ",
                                 format_utc(info.window_start), " and ",
                                 format_utc(info.window_end), "; renewal at ",
                                 format_utc(*a.renew_at),
                                 info.explanation_url.empty() ? std::string()
                                                              : " (" + info.explanation_url + ")");
                    }
                    a.explanation_url = info.explanation_url;
                    a.next_poll = now + ari_repoll_interval(reply.retry_after);
                } catch (const Interrupted&) {
                    throw;
                } catch (const std::exception& e) {
                    log_warning(who, ": renewal information: ", e.what(),
                                "; asked again in an hour");
                    a.next_poll = now + 1h;
                }
            }
            save_state(states, st->zone, st->saved);
            *st = zone_status(st->zone, now);
        }
    } catch (const Interrupted&) {
        throw;
    } catch (const std::exception& e) {
        // The CA unreachable: renew-before decides; the next pass asks again.
        log_warning("renewal information: ", e.what());
    }
}

Runner::DueZones Runner::due_zones(SysTime now, bool quiet) {
    DueZones z;
    std::vector<ZoneStatus>& all = z.all;
    std::vector<ZoneStatus>& todo = z.due;
    for (const DnsName& zone : config_.zones) {
        all.push_back(zone_status(zone, now));
    }
    refresh_renewal_info(all, now);
    for (const ZoneStatus& st : all) {
        if (st.next_attempt <= now) {
            todo.push_back(st);
        } else if (quiet) {
            continue;
        } else if (st.next_action == "retry") {
            log_info(st.zone.text(), ": ", st.state, ", failed ", st.saved.failures,
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

int Runner::run() {
    auto lock = take_lock(config_);
    if (!lock) {
        return kExitBusy;
    }
    recover_interrupted_orders();
    DueZones z = due_zones(system_clock::now(), /*quiet=*/false);
    return exit_code(pass(std::move(z.due), std::move(z.all)));
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
                    DueZones z = due_zones(system_clock::now(), /*quiet=*/true);
                    pass(std::move(z.due), std::move(z.all));
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
    // Waiting for a rate limit (rate_budget.h) rather than for a renewal.
    auto deferred = [now](const ZoneStatus& st) {
        return !st.saved.deferred_by.empty() && st.saved.retry_at && *st.saved.retry_at > now;
    };
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
            // The ARI window of the certificate whose renewal time decides;
            // every certificate's in "certificates".
            Json::Value certs(Json::arrayValue);
            for (const ZoneStatus::Certificate& c : st.certs) {
                Json::Value j(Json::objectValue);
                j["key_type"] = std::string(to_string(c.key_type));
                j["ari_cert_id"] = c.cert_id;
                j["renew_at"] = optional_time(c.renew_at);
                j["renew_basis"] = c.renew_basis;
                const AriState* a = c.cert_id.empty() ? nullptr : st.saved.ari_for(c.cert_id);
                if (a && a->window_start) {
                    Json::Value w(Json::objectValue);
                    w["start"] = format_utc(*a->window_start);
                    w["end"] = optional_time(a->window_end);
                    j["ari_window"] = w;
                    if (c.renew_at == st.renew_at && !z.isMember("ari_window")) {
                        z["ari_cert_id"] = c.cert_id;
                        z["ari_window"] = w;
                    }
                }
                certs.append(j);
            }
            z["certificates"] = certs;
            z["resume_order"] = st.saved.resume_order;
            z["order_in_flight"] =
                st.saved.order ? Json::Value(st.saved.order->order_url) : Json::Value::null;
            z["key_types"] = key_types_json(config_, st.zone);
            z["deploy_hook_error"] = st.saved.deploy_hook_error;
            if (deferred(st)) {
                z["deferred_until"] = format_utc(*st.saved.retry_at);
                z["deferred_by"] = st.saved.deferred_by;
            }
            if (!st.saved.ca.empty()) {
                z["ca"] = st.saved.ca;
                z["ca_fallback"] = st.saved.ca != config_.directory;
            }
            list.append(z);
        }
        Json::StreamWriterBuilder w;
        w["indentation"] = "  ";
        w["precision"] = 15;  // days_left 9.9, not 9.9000000000000004
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
            if (deferred(st)) {
                out << "  deferred until " << format_utc(*st.saved.retry_at) << ": "
                    << st.saved.deferred_by;
            }
            if (!st.saved.ca.empty() && st.saved.ca != config_.directory) {
                out << "  (issued by the fallback CA " << st.saved.ca << ")";
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
