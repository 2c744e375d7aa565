// See pass.h.
#include "issuer/pass/pass.h"

#include <algorithm>

#include "common/file_io.h"
#include "common/interrupt.h"
#include "common/log.h"
#include "common/parallel.h"
#include "common/utc_time.h"
#include "issuer/acme/ari.h"
#include "issuer/certs/cert_store.h"
#include "issuer/pass/progress.h"

namespace acmezone::issuer {
using std::chrono::system_clock;

namespace {

// Sort key for "most urgent first": zones without a usable certificate, then
// by notAfter.
SysTime urgency(const ZoneStatus& st) {
    if (!st.cert || st.state == CertState::invalid) {
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

// Asks `ca` for the window of certificate `cert_id` and keeps it in `a`
// (refresh_ari_entries).
void update_window(CaSession& ca, AriState& a, const std::string& who, const std::string& cert_id,
                   SysTime now) {
    using namespace std::chrono_literals;
    try {
        const auto reply = ca.renewal_info(cert_id);
        const RenewalInfo info = parse_renewal_info(reply.json);
        if (a.window_start != info.window_start || a.window_end != info.window_end || !a.renew_at) {
            a.window_start = info.window_start;
            a.window_end = info.window_end;
            a.renew_at = pick_in_window(info.window_start, info.window_end, random_unit());
            log_info(
                who, ": the CA suggests renewing between ", format_utc(info.window_start), " and ",
                format_utc(info.window_end), "; renewal at ", format_utc(*a.renew_at),
                info.explanation_url.empty() ? std::string() : " (" + info.explanation_url + ")");
        }
        a.explanation_url = info.explanation_url;
        a.next_poll = now + ari_repoll_interval(reply.retry_after);
    } catch (const Interrupted&) {
        throw;
    } catch (const std::exception& e) {
        log_warning(who, ": renewal information: ", e.what(), "; asked again in an hour");
        a.next_poll = now + 1h;
    }
}

}  // namespace

bool ari_stale(const std::vector<AriState>& ari, const std::string& cert_id,
               const std::string& directory, SysTime now) {
    for (const AriState& a : ari) {
        if (a.cert_id == cert_id) {
            return a.directory != directory || !a.next_poll || *a.next_poll <= now;
        }
    }
    return true;
}

void refresh_ari_entries(CaSession& ca, bool offered, std::vector<AriState>& ari,
                         const std::vector<AriCert>& certs, SysTime now) {
    using namespace std::chrono_literals;
    std::vector<AriState> kept;
    for (const AriCert& c : certs) {
        for (const AriState& a : ari) {
            if (!c.cert_id.empty() && a.cert_id == c.cert_id) {
                kept.push_back(a);
                break;
            }
        }
    }
    ari = std::move(kept);
    for (const AriCert& c : certs) {
        if (c.cert_id.empty() || !ari_stale(ari, c.cert_id, ca.directory(), now)) {
            continue;
        }
        auto found = std::find_if(ari.begin(), ari.end(),
                                  [&](const AriState& a) { return a.cert_id == c.cert_id; });
        if (found == ari.end()) {
            found = ari.insert(ari.end(), AriState{});
        }
        if (found->directory != ca.directory() || found->cert_id != c.cert_id) {
            *found = AriState{};
            found->cert_id = c.cert_id;
            found->directory = ca.directory();
        }
        AriState& a = *found;
        if (!offered) {
            // The CA has no ARI: renew-before decides; look again in a day.
            a.window_start.reset();
            a.window_end.reset();
            a.renew_at.reset();
            a.next_poll = now + 24h;
            continue;
        }
        update_window(ca, a, c.who, c.cert_id, now);
    }
}

void save_zone_state(const ZoneStateStore& states, const DnsName& zone, const ZoneState& s) {
    try {
        states.save(zone, s);
    } catch (const std::exception& e) {
        log_error(zone.text(), ": could not record the attempt: ", e.what());
    }
}

Pass::Pass(const IssuerConfig& config, PassEnv& env)
    : config_(config), env_(env), states_(config.state_dir) {}

CaSession* Pass::usable_ca(CaRole role) const {
    if (!env_.ca_opened(role) || !env_.ca(role).available()) {
        return nullptr;
    }
    return &env_.ca(role);
}

CaRole Pass::live_role(const ZoneStatus& st) const {
    return zone_ca_roles(config_, st.saved.ca).live;
}

std::vector<CaRole> Pass::roles_of(const std::vector<ZoneStatus>& zones) const {
    std::vector<CaRole> roles;
    for (CaRole role : {CaRole::first, CaRole::standby}) {
        if (std::any_of(zones.begin(), zones.end(),
                        [&](const ZoneStatus& st) { return live_role(st) == role; })) {
            roles.push_back(role);
        }
    }
    return roles;
}

// ---- Step 2: renewal information ----------------------------------------

// A certificate's answer is stale when there is none for it (a new
// certificate), it is not from the CA that issued it, or its Retry-After has
// passed. Each zone's live CA (zone_ca_roles) is asked, and only for the
// certificates it issued: a certificate of the fallback CA gets its window
// from the fallback (while a pass uses the first CA, renew-before decides
// for it); one of the standby CA, in a zone switched to it, from the standby CA.
void Pass::refresh_renewal_info(std::vector<ZoneStatus>& zones, SysTime now) {
    if (!config_.ari) {
        return;
    }
    auto stale = [&](const ZoneStatus& st, const ZoneStatus::Certificate& c) {
        return !c.cert_id.empty() &&
               ari_stale(st.saved.ari, c.cert_id, st.issuing_ca(config_), now);
    };
    std::vector<ZoneStatus*> todo;
    for (ZoneStatus& st : zones) {
        if (std::any_of(st.certs.begin(), st.certs.end(),
                        [&](const ZoneStatus::Certificate& c) { return stale(st, c); })) {
            todo.push_back(&st);
        }
    }
    for (CaRole role : {CaRole::first, CaRole::standby}) {
        if (std::none_of(todo.begin(), todo.end(),
                         [&](const ZoneStatus* st) { return live_role(*st) == role; })) {
            continue;
        }
        try {
            CaSession& ca = env_.ca(role);
            if (!ca.available()) {
                log_warning("renewal information: ", ca.unavailable());
                continue;
            }
            const bool offered = ca.offers_renewal_info();
            for (ZoneStatus* st : todo) {
                if (live_role(*st) == role && st->issuing_ca(config_) == ca.directory()) {
                    ask_renewal_info(ca, offered, *st, now);
                }
            }
        } catch (const Interrupted&) {
            throw;
        } catch (const std::exception& e) {
            // The CA unreachable: renew-before decides; the next pass asks again.
            log_warning("renewal information: ", e.what());
        }
    }
}

// One zone's stale certificates; entries for certificates no longer
// current go.
void Pass::ask_renewal_info(CaSession& ca, bool offered, ZoneStatus& st, SysTime now) {
    std::vector<AriCert> certs;
    for (const ZoneStatus::Certificate& c : st.certs) {
        certs.push_back(
            {c.cert_id,
             st.zone.text() +
                 (st.certs.size() > 1 ? " (" + std::string(to_string(c.key_type)) + ")" : "")});
    }
    refresh_ari_entries(ca, offered, st.saved.ari, certs, now);
    save_zone_state(states_, st.zone, st.saved);
    st = zone_status(config_, st.zone, now, SummaryUse::read_and_keep);
}

namespace {

// The certID of the current certificate of `type` as the zone's summary
// holds it; "" when it holds none.
std::string summarised_cert_id(const ZoneState& saved, KeyType type) {
    if (saved.current) {
        for (const CertSummary& c : saved.current->certs) {
            if (c.type == type) {
                return c.cert_id;
            }
        }
    }
    return {};
}

}  // namespace

// From the set the issuance just stored in this thread when it can (no
// file read back), else read from the store.
void Pass::keep_summary(const DnsName& zone, ZoneState& saved) const {
    try {
        const CertStore store(config_.certs_dir);
        if (const auto stored = CertStore::take_stored(store.zone_dir(zone))) {
            if (auto summary = summary_of_stored(*stored, zone)) {
                saved.current = std::move(*summary);
                return;
            }
        }
        CurrentRead r = read_current(store, zone, std::nullopt);
        if (r.keep) {
            saved.current = std::move(r.summary);
        }
    } catch (const std::exception& e) {
        saved.current.reset();  // the next pass reads the store
        log_debug(zone.text(), ": no summary of the stored certificates: ", e.what());
    }
}

// A certificate just issued by a CA without renewalInfo: recorded as
// ask_renewal_info() would record it (renew-before decides; look again in a
// day), with the success, so that the next pass, with nothing due, need not
// open the CA to learn that for every new certificate.
void Pass::note_no_renewal_info(ZoneStatus& st, SysTime now) {
    using namespace std::chrono_literals;
    CaSession* ca = usable_ca(live_role(st));
    if (!config_.ari || ca == nullptr) {
        return;
    }
    try {
        if (ca->offers_renewal_info()) {
            return;  // the next pass asks it (refresh_renewal_info)
        }
        const CertStore store(config_.certs_dir);
        for (KeyType type : config_.configured_key_types()) {
            AriState a;
            a.cert_id = summarised_cert_id(st.saved, type);  // kept just now (keep_summary)
            if (a.cert_id.empty()) {
                a.cert_id = ari_cert_id(store.current_chain(st.zone, type));
            }
            a.directory = ca->directory();
            a.next_poll = now + 24h;
            st.saved.ari.push_back(std::move(a));
        }
    } catch (const std::exception& e) {
        log_debug(st.zone.text(), ": renewal information: ", e.what());
    }
}

// ---- Steps 3-4: urgency, the CA and its rate budget ------------------------

// How the budget counts each order of `st` (rate_budget.h): an ARI renewal
// when the order carries "replaces" (ARI on and the pass's CA has
// renewalInfo) and that key type's certificate is within the window this CA
// gave for it; else a renewal when the zone's certificate has exactly its
// names; else new.
std::vector<std::pair<KeyType, Renewal>> Pass::orders_of(const ZoneStatus& st, SysTime now) const {
    std::vector<std::pair<KeyType, Renewal>> out;
    const bool renewal = has_its_names(st);
    const CaRole role = live_role(st);
    const CaSession* ca = usable_ca(role);
    const auto ari = ca_ari_.find(role);
    const bool ca_ari = ari != ca_ari_.end() && ari->second;
    for (KeyType type : config_.key_types) {
        Renewal r = renewal ? Renewal::yes : Renewal::no;
        for (const ZoneStatus::Certificate& c : st.certs) {
            const AriState* a = c.cert_id.empty() ? nullptr : st.saved.ari_for(c.cert_id);
            if (renewal && ca_ari && c.key_type == type && a && ca &&
                a->directory == ca->directory() && a->window_start && *a->window_start <= now) {
                r = Renewal::ari;
            }
        }
        out.emplace_back(type, r);
    }
    return out;
}

void Pass::plan_budget(const std::vector<ZoneStatus>& todo) {
    budget_plan_.clear();
    ca_ari_.clear();
    for (CaRole role : roles_of(todo)) {
        plan_budget(todo, role);
    }
}

// The zones of `todo` whose live set `role` renews, within its CA's budget.
void Pass::plan_budget(const std::vector<ZoneStatus>& todo, CaRole role) {
    CaSession* ca = usable_ca(role);
    if (!ca || !ca->budget()) {
        return;
    }
    if (config_.ari) {
        try {
            ca_ari_[role] = ca->offers_renewal_info();
        } catch (const std::exception& e) {
            log_debug("renewal information: ", e.what());
        }
    }
    const SysTime now = system_clock::now();
    std::vector<OrderRequest> requests;
    std::vector<std::size_t> zone_of;  // request -> index in todo
    for (std::size_t i = 0; i < todo.size(); ++i) {
        if (live_role(todo[i]) != role) {
            continue;
        }
        ZonePlan& p = budget_plan_[todo[i].zone];
        p.orders = orders_of(todo[i], now);
        for (const auto& [type, renewal] : p.orders) {
            requests.push_back({certificate_names(todo[i].zone), renewal});
            zone_of.push_back(i);
        }
    }
    const auto decisions = ca->budget()->plan(requests, now);
    for (std::size_t r = 0; r < requests.size(); ++r) {
        ZonePlan& p = budget_plan_[todo[zone_of[r]].zone];
        if (p.decision.allowed && !decisions[r].allowed) {
            p.decision = decisions[r];
        }
    }
}

const Pass::ZonePlan& Pass::plan_of(const ZoneStatus& st) const {
    static const ZonePlan kNone;
    auto it = budget_plan_.find(st.zone);
    return it == budget_plan_.end() ? kNone : it->second;
}

// acmezone_rate_budget_remaining and _limit{ca,limit,scope}: what is left
// of each limit of the pass's CA (or, for a pass that opened none, the
// first CA's) for the configured zones, as rate_budget.h counts it.
std::vector<MetricSample> Pass::budget_metrics() const {
    std::vector<MetricSample> out;
    if (!config_.metrics_file) {
        return out;
    }
    try {
        std::unique_ptr<RateBudget> own;
        const RateBudget* budget =
            env_.ca_opened(CaRole::first) ? env_.ca(CaRole::first).budget() : nullptr;
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
void Pass::record_refusal(const ZoneStatus& zone, const IssuanceError& e, ZoneState& saved) {
    const auto& p = e.problem();
    CaSession* ca = usable_ca(live_role(zone));
    if (!p || p->short_type() != "rateLimited" || !p->retry_after || !ca || !ca->budget()) {
        return;
    }
    const SysTime now = system_clock::now();
    const SysTime until = now + *p->retry_after;
    saved.record_ca_refusal("the CA answered rateLimited (Retry-After " +
                                std::to_string(p->retry_after->count()) + " s)",
                            until);
    ca->budget()->record_ca_refusal(certificate_names(zone.zone), until, p->detail, now);
}

// ---- Hook points ----------------------------------------------------------

namespace {

// What storing a zone's certificate set and its state takes at most (a
// version directory of two sets of four PEM files, its links, the state),
// with room to spare.
constexpr std::uint64_t kRoomBytes = 128 * 1024;
constexpr std::uint64_t kRoomFiles = 64;

// Why a certificate issued now could not be stored: the certificates' or
// the state's file system nearly full (an issued certificate that cannot be
// stored is wasted, and counts against the CA's limits); nullopt when there
// is room, or when a directory cannot be looked at (its own use says why).
std::optional<std::string> no_room_to_store(const IssuerConfig& config) {
    for (const std::filesystem::path* dir : {&config.certs_dir, &config.state_dir}) {
        const std::optional<FreeSpace> free = free_space(*dir);
        if (!free || (free->bytes >= kRoomBytes && (!free->files || *free->files >= kRoomFiles))) {
            continue;
        }
        return "no room to store a certificate: the file system of " + dir->string() + " has " +
               std::to_string(free->bytes / 1024) + " KiB" +
               (free->files ? " and " + std::to_string(*free->files) + " files" : std::string()) +
               " free, storing one zone needs up to " + std::to_string(kRoomBytes / 1024) +
               " KiB and " + std::to_string(kRoomFiles) +
               " files; nothing ordered (free some space, then run again)";
    }
    return std::nullopt;
}

}  // namespace

// Hook point: called by the worker thread just before a zone is ordered
// (nothing has been asked of the CA for it in this pass yet). Checks that
// can tell an order would fail or would be refused (pre-order DNS checks,
// the CA's rate-limit budget) go here: `defer` skips the zone until a time
// without counting a failure, `fail` counts as a failed attempt (backoff).
// Called concurrently for different zones.
PreOrderVerdict Pass::before_order(const ZoneStatus& zone) {
    // The zone's live CA (zone_ca_roles): when it does not answer (neither
    // the first nor the fallback, or the standby CA of a switched zone), the
    // zone fails with the reason (ca_session.h).
    const ZoneCaRoles roles = zone_ca_roles(config_, zone.saved.ca);
    if (!roles.note.empty()) {
        log_warning(zone.zone.text(), ": ", roles.note);
    }
    CaSession& ca = env_.ca(roles.live);
    if (!ca.available()) {
        return {PreOrderVerdict::Kind::fail, ca.unavailable(), std::nullopt};
    }
    if (auto full = no_room_to_store(config_)) {
        return {PreOrderVerdict::Kind::fail, *full, std::nullopt};
    }
    // Checks before ordering (precheck.h), against the CAA identities of
    // this pass's CA: a zone whose challenge path is broken is not ordered
    // and fails with the findings.
    if (auto failure = env_.check_before_order(zone.zone, ca.caa_identities())) {
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
    for (std::size_t i = 0; ca.budget() && i < orders; ++i) {
        ca.budget()->record_order(certificate_names(zone.zone), now);
    }
    return {};
}

// Hook point: called by the worker thread after a new certificate for
// `before.zone` is stored and switched to (`cert` is its leaf); `before` is
// the zone as it was before the pass (its old certificate, if any). Deploy
// hooks go here. Called concurrently for different zones; an exception is
// logged and does not fail the zone.
void Pass::after_certificate_changed(const ZoneStatus& before, const CertInfo& /*cert*/) {
    // first: a failing deploy hook must not skip it
    if (RateBudget* budget = env_.ca(live_role(before)).budget()) {
        // One certificate per key type, each counted as planned (before the
        // pass: the zone's state no longer has the old certificates' windows).
        const SysTime now = system_clock::now();
        const ZonePlan& plan = plan_of(before);
        for (const auto& [type, renewal] :
             plan.orders.empty() ? orders_of(before, now) : plan.orders) {
            budget->record_issued(certificate_names(before.zone), renewal, now);
        }
    }
    env_.deploy_hook(before.zone);  // pass_outputs.h
}

// Hook point: called once after every pass (run, issue, each of the
// daemon's), with the lock still held, from the thread that ran the pass.
// Metrics files and notifications about the pass as a whole go here.
void Pass::after_pass(const PassReport& report) {
    if (before_outputs_) {
        try {
            before_outputs_();
        } catch (const std::exception& e) {
            log_error("before the pass's outputs: ", e.what());
        }
    }
    // Notifications, next keys, the metrics file (pass_outputs.h). Other
    // parts' metric samples (the CA's rate-limit budget) go in the list.
    env_.after_pass(report, budget_metrics());
}

// ---- Step 5: the zones, in parallel --------------------------------------

struct Pass::Shared {
    std::vector<std::string> controls;  // the control sockets, as recorded in an order
    Progress progress;
};

PassReport Pass::run(std::vector<ZoneStatus> todo, std::vector<ZoneStatus> considered) {
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
    // The CAs the zones' live sets renew from (zone_ca_roles: the first or
    // fallback, and the standby CA for zones switched to it; opened already
    // when renewal information was asked) and the budgets' plan for `todo`,
    // most urgent first; both read by before_order().
    const std::vector<CaRole> roles = roles_of(todo);
    for (CaRole role : roles) {
        env_.ca(role);
    }
    plan_budget(todo);
    issue_all(todo, report);
    HttpStats hs_done{};
    for (CaRole role : roles) {
        CaSession& ca = env_.ca(role);
        hs_done.requests += ca.http_stats().requests;
        hs_done.connections += ca.http_stats().connections;
        if (ca.budget()) {
            ca.budget()->flush();
        }
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
    return report;
}

// Up to `parallel` worker threads take the zones in order.
void Pass::issue_all(std::vector<ZoneStatus>& todo, PassReport& report) {
    Shared shared{{}, Progress(todo.size(), Progress::stderr_is_terminal())};
    for (const Endpoint& ep : config_.dns.controls) {
        shared.controls.push_back(ep.to_string());
    }
    for_each_index_parallel(config_.parallel, todo.size(),
                            [&](std::size_t i) { one_zone(shared, todo[i], report.outcomes[i]); });
}

void Pass::one_zone(Shared& shared, ZoneStatus& st, ZoneOutcome& out) {
    const DnsName& zone = st.zone;
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
        st.saved.record_deferral(verdict.reason,
                                 verdict.until.value_or(now + config_.schedule.retry_min));
        log_info(zone.text(), ": deferred until ", format_utc(*st.saved.retry_at), ": ",
                 verdict.reason);
        save_zone_state(states_, zone, st.saved);
        return;
    }
    st.saved.record_attempt(now);
    shared.progress.start(zone);
    try {
        attempt(shared, st, out, verdict);
    } catch (const std::exception& e) {
        zone_failed(shared, st, out, e);
    }
}

// The zone's state follows the issuance: the order in flight is recorded
// (durably) before its values are published, and cleared once they are
// removed, in the write of the zone's outcome.
IssuanceEvents Pass::events_for(Shared& shared, ZoneStatus& st, std::string& ordered_type) {
    const DnsName& zone = st.zone;
    ZoneState& saved = st.saved;
    IssuanceEvents events;
    events.ordered = [&, zone](const std::string&, KeyType type) {
        ordered_type = to_string(type);
        if (saved.record_ordered(ordered_type)) {
            save_zone_state(states_, zone, saved);
        }
    };
    events.before_publish = [&, zone](const std::string& order_url, const DnsName& owner,
                                      const std::vector<std::string>& values) {
        saved.record_in_flight(InFlightOrder{order_url, owner.text(), values, shared.controls,
                                             system_clock::now(), ordered_type});
        try {
            states_.save(zone, saved);
        } catch (const std::exception& e) {
            // Unrecorded values could not be found after a crash: nothing is
            // published without the record.
            throw std::runtime_error(
                std::string("could not record the order in flight, so nothing was "
                            "published: ") +
                e.what());
        }
    };
    events.authorization_failed = [this, role = live_role(st)](const DnsName& identifier) {
        if (RateBudget* budget = env_.ca(role).budget()) {
            budget->record_failed_authorization(identifier, system_clock::now());
        }
    };
    // Not written now: the zone's next write (its success or failure, which
    // every path out of attempt() makes) carries it. A crash before that
    // finds the order still recorded: its values are deleted again (exact
    // values, harmless) and the order resumed when it can be, rather than
    // forgotten and ordered again.
    events.after_unpublish = [&] { saved.record_unpublished(); };
    return events;
}

void Pass::attempt(Shared& shared, ZoneStatus& st, ZoneOutcome& out,
                   const PreOrderVerdict& verdict) {
    const DnsName& zone = st.zone;
    if (verdict.kind == PreOrderVerdict::Kind::fail) {
        throw IssuanceError(zone.text() + ": " + verdict.reason);
    }
    std::string ordered_type;  // the key type of the order in hand
    const IssuanceEvents events = events_for(shared, st, ordered_type);
    IssuanceOptions options;
    if (config_.ari) {
        for (const ZoneStatus::Certificate& c : st.certs) {
            options.replaces[c.key_type] = c.cert_id;  // the same type's certificate
        }
    }
    options.resume_order_url = st.saved.resume_order;
    options.resume_key_type = resume_key_type(st.saved, config_);
    const CaRole role = live_role(st);
    CertInfo info = env_.issue(
        role, zone, [&](const std::string& step) { shared.progress.step(zone, step); }, events,
        options);
    out.result = ZoneOutcome::Result::issued;
    out.cert = info;
    const SysTime now = system_clock::now();
    st.saved.record_success(env_.ca(role).directory(), now);
    keep_summary(zone, st.saved);
    note_no_renewal_info(st, now);
    save_zone_state(states_, zone, st.saved);
    shared.progress.finish(zone, true,
                           "issued, valid until " + format_utc(info.not_after) + ", stored in " +
                               CertStore(config_.certs_dir).zone_dir(zone).string());
    try {
        after_certificate_changed(st, info);
    } catch (const std::exception& e) {
        log_error(zone.text(), ": after the new certificate: ", e.what());
    }
}

void Pass::zone_failed(Shared& shared, ZoneStatus& st, ZoneOutcome& out, const std::exception& e) {
    ZoneState& saved = st.saved;
    out.message = e.what();
    if (interrupted()) {
        // Not the zone's fault: no backoff; the next pass tries again.
        out.result = ZoneOutcome::Result::interrupted;
        saved.record_interruption(e.what());
    } else {
        out.result = ZoneOutcome::Result::failed;
        saved.record_failure(e.what(), system_clock::now(), config_.schedule, random_unit());
        if (const auto* ie = dynamic_cast<const IssuanceError*>(&e)) {
            record_refusal(st, *ie, saved);
        }
    }
    save_zone_state(states_, st.zone, saved);
    shared.progress.finish(st.zone, false,
                           e.what() + (out.result == ZoneOutcome::Result::failed
                                           ? " (attempt " + std::to_string(saved.failures) +
                                                 "; next after " + format_utc(*saved.retry_at) + ")"
                                           : std::string()));
}

}  // namespace acmezone::issuer
