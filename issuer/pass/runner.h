// The issuer's commands: which zones need a certificate and when, issuing
// them concurrently, and reporting their state.
//
//   run             one pass: every configured zone whose next attempt is
//                   due (schedule.h), most urgent first; then exits
//   issue ZONE...   these (configured) zones if missing or due, whatever the
//                   backoff says; with force, always
//   status [--json] per zone: certificate, state, next action and when,
//                   last attempt and error
//   daemon          passes in a loop: sleeps until the earliest next attempt
//                   or renewal-information poll of any zone, at most
//                   [daemon] max-sleep; re-reads the
//                   configuration before every pass (zones-file edits are
//                   seen) and at once on SIGHUP; a configuration that no
//                   longer loads is reported and the previous one kept.
//                   SIGTERM/SIGINT: no new zone or pass starts; the zones in
//                   flight get [daemon] stop-grace seconds to finish their
//                   issuance, then are stopped (their values removed, as
//                   interrupt.h says), and the daemon exits 0. So it exits
//                   within stop-grace plus the few seconds unpublishing takes.
//
// A pass (run, issue, each of the daemon's) holds the state lock
// (state_lock.h) and goes:
//   1. recover: for every zone whose state records an order in flight (the
//      last process died while its values were published), remove exactly
//      those values from the control sockets it wrote; the zone's next
//      attempt, due at once, resumes or abandons that order (issuance.h);
//   2. renewal information (ARI, ari.h; run and daemon): for zones with a
//      certificate whose answer is stale (Retry-After passed, or a new
//      certificate), ask the CA when to renew; a window it offers sets the
//      renewal time, and the renewing order carries "replaces";
//   3. choose the zones (run: next attempt <= now) and sort them most urgent
//      first;
//   4. open the CA (ca_session.h: the first, or the fallback when the first
//      has been failing for fallback-after; when neither answers, every zone
//      fails with the reason) and plan the orders within its rate budget
//      (rate_budget.h): the most urgent zones that fit are admitted, the
//      others deferred until the limit allows ("ZONE: deferred until T:
//      LIMIT", and in status: deferred_until, deferred_by); a deferral is
//      not a failure. A rateLimited answer defers the zone until its
//      Retry-After (the attempt counts as failed);
//   5. issue them with up to `parallel` worker threads that share one
//      AcmeClient (one account, nonce pool and pool of HTTPS connections).
//      Per zone: before_order() may fail it (no CA; the checks before
//      ordering, precheck.h) or defer it (the budget's plan); the order in
//      flight is recorded before its values are published; after a certificate is stored,
//      after_certificate_changed(); the zone's state (zone_state.h) is saved
//      after each step: result, error, consecutive failures and backoff;
//   6. after_pass() with every zone's outcome (and the rate budget's
//      remaining figures for the metrics file).
// A failing zone never blocks the others: each has its own backoff.
//
// Exit codes: 0 all good, 1 some zone attempted in this pass failed (a zone
// waiting out its backoff is not attempted; status shows it) or, for status,
// some certificate is not valid,
// 2 bad configuration or command line, 3 another process holds the state
// lock (nothing was done; run again later).
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "common/dns_name.h"
#include "issuer/ca/ca_session.h"
#include "issuer/ca/rate_budget.h"
#include "issuer/certs/cert_check.h"
#include "issuer/certs/cert_key.h"
#include "issuer/cli/issuer_config.h"
#include "issuer/outputs/metrics.h"
#include "issuer/pass/issuance.h"
#include "issuer/pass/schedule.h"
#include "issuer/pass/zone_state.h"

namespace acmezone::issuer {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailed = 1;
inline constexpr int kExitConfig = 2;
inline constexpr int kExitBusy = 3;

// One zone as status shows it and a pass decides on it.
struct ZoneStatus {
    DnsName zone;
    std::optional<CertInfo> cert;
    std::string state;    // valid, due, expired, missing, invalid
    std::string problem;  // why "invalid"
    ZoneState saved;      // <state-dir>/zones/<zone>.json
    // Each current certificate (one per key type): its renewal time is the
    // ARI window's pick when the CA offered one for it, else renew-before;
    // the zone's renew_at is the earliest of them (most urgent wins).
    struct Certificate {
        KeyType key_type = KeyType::ecdsa_p256;
        std::string cert_id;  // ARI certID (ari.h); "" when it cannot be made
        std::optional<SysTime> renew_at;
        std::string renew_basis;  // "renew-before" or "ARI window"
    };
    std::vector<Certificate> certs;
    std::optional<SysTime> renew_at;  // the certificate's renewal time (ARI or renew-before)
    std::string renew_basis;          // "renew-before" or "ARI window"
    SysTime next_attempt;             // when a pass next does something for the zone
    std::string next_action;          // "issue", "renew", "resume" or "retry"

    bool needs_issuing() const { return state != "valid"; }
};

// How one zone's part of a pass ended.
struct ZoneOutcome {
    enum class Result { issued, failed, deferred, interrupted, not_started };
    DnsName zone;
    Result result = Result::not_started;
    std::string message;           // the error, the deferral's reason
    std::optional<CertInfo> cert;  // the new certificate, when issued
};

struct PassReport {
    SysTime started;
    SysTime finished;
    std::vector<ZoneStatus> considered;  // every configured zone, before the pass
    std::vector<ZoneOutcome> outcomes;   // the zones attempted, in order
    std::size_t failed() const;
};

// What before_order() decides for a zone about to be ordered.
struct PreOrderVerdict {
    enum class Kind { go, defer, fail };
    Kind kind = Kind::go;
    std::string reason;
    std::optional<SysTime> until;  // defer: not before this (default: retry-min from now)
};

class Runner {
  public:
    explicit Runner(IssuerConfig config);

    int run();
    int issue(const std::vector<std::string>& zones, bool force);
    int status(bool json, std::ostream& out);
    int daemon();

    ZoneStatus zone_status(const DnsName& zone, SysTime now) const;
    const IssuerConfig& config() const { return config_; }

  private:
    // Steps 1-4 of a pass over `todo` (chosen by the caller); the caller
    // holds the state lock.
    PassReport pass(std::vector<ZoneStatus> todo, std::vector<ZoneStatus> considered);
    void recover_interrupted_orders();
    // Asks the CA for the renewal window (ARI) of every zone whose answer is
    // stale, when [certs] ari is on and the directory has renewalInfo;
    // updates the zones' state and status.
    void refresh_renewal_info(std::vector<ZoneStatus>& zones, SysTime now);
    // run's and the daemon's choice: every zone's status (after refreshing
    // ARI), and those whose next attempt is due; `quiet` (the daemon) does
    // not log why the others wait.
    struct DueZones {
        std::vector<ZoneStatus> all;
        std::vector<ZoneStatus> due;
    };
    DueZones due_zones(SysTime now, bool quiet);
    int exit_code(const PassReport& report) const;

    // Hook points for the features around a pass; each is called in the
    // pass, as its comment in runner.cpp says.
    PreOrderVerdict before_order(const ZoneStatus& zone);
    void after_certificate_changed(const ZoneStatus& before, const CertInfo& cert);
    void after_pass(const PassReport& report);

    // The rate budget (rate_budget.h) and the CA choice (ca_session.h):
    // plan the pass's orders, most urgent first, within the budget; record
    // what the CA was asked and what it answered.
    // A zone's part of the plan: one order per key type, each counted as
    // its own request (two key types: two orders, two certificates).
    struct ZonePlan {
        BudgetDecision decision;  // the first of its orders the budget refuses, if any
        std::vector<std::pair<KeyType, Renewal>> orders;
    };
    void plan_budget(const std::vector<ZoneStatus>& todo);
    std::vector<std::pair<KeyType, Renewal>> orders_of(const ZoneStatus& st, SysTime now) const;
    const ZonePlan& plan_of(const ZoneStatus& st) const;
    void record_refusal(const ZoneStatus& zone, const IssuanceError& e, ZoneState& saved);
    // The budget's remaining figures as metric samples (metrics.h).
    std::vector<MetricSample> budget_metrics() const;

    IssuerConfig config_;
    std::unique_ptr<CaSession> ca_;            // the pass's CA, set by pass()
    bool ca_ari_ = false;                      // the pass's CA answers renewalInfo ([certs] ari on)
    std::map<DnsName, ZonePlan> budget_plan_;  // set by pass(), read by the hook points
};

}  // namespace acmezone::issuer
