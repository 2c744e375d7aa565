// The issuer's commands: which zones need a certificate and when, issuing
// them concurrently, and reporting their state.
//
//   run             one pass: every configured zone whose next attempt is
//                   due (schedule.h), most urgent first; then exits
//   issue ZONE...   these (configured) zones if missing or due, whatever the
//                   backoff says; with force, always
//   switch ZONE... | --all
//                   each zone's standby set (standby.h) made live with one
//                   rename, no CA asked; then the deploy hook of each
//   status [--json] (cli/status_command.h) per zone: certificate, state,
//                   next action and when,
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
// (state_lock.h) and goes (steps 2-6 in pass.h, with one CA session,
// ca_session.h, opened at the first step that needs the CA):
//   1. recover: for every zone whose state records an order in flight (the
//      last process died while its values were published), remove exactly
//      those values from the control sockets it wrote; the zone's next
//      attempt, due at once, resumes or abandons that order (issuance.h);
//   2. renewal information (ARI, ari.h; run and daemon): for zones with a
//      certificate whose answer is stale (Retry-After passed, or a new
//      certificate), ask the CA that issued it (when it is the pass's CA)
//      when to renew; a window it offers sets the renewal time, and the
//      renewing order carries "replaces";
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
//      ordering, precheck.h, against the pass's CA's CAA identities) or defer it (the budget's
//      plan); the order in flight is recorded before its values are published; after a certificate
//      is stored, after_certificate_changed(); the zone's state (zone_state.h) is saved after each
//      step: result, error, consecutive failures and backoff;
//   6. after_pass() with every zone's outcome (and the rate budget's
//      remaining figures for the metrics file);
//   7. with [acme] standby-directory (run and daemon), before step 6's
//      outputs: the standby step (standby.h), each zone's standby set from
//      the standby CA when missing or due; a failed one makes run exit 1 like
//      a failed zone.
// A failing zone never blocks the others: each has its own backoff.
//
// Exit codes: 0 all good, 1 some zone attempted in this pass failed (a zone
// waiting out its backoff is not attempted; status shows it) or, for status,
// some certificate is not valid,
// 2 bad configuration or command line, 3 another process holds the state
// lock (nothing was done; run again later).
#pragma once

#include <string>
#include <vector>

#include "common/dns_name.h"
#include "issuer/cli/issuer_config.h"
#include "issuer/pass/pass.h"
#include "issuer/pass/pass_report.h"
#include "issuer/pass/zone_status.h"

namespace acmezone::issuer {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailed = 1;
inline constexpr int kExitConfig = 2;
inline constexpr int kExitBusy = 3;

class Runner {
  public:
    explicit Runner(IssuerConfig config);

    int run();
    int issue(const std::vector<std::string>& zones, bool force);
    int daemon();
    // switch ZONE... (or `all`: every configured zone): each zone's standby
    // set made live (standby.h switch_zone, no CA asked), then the deploy
    // hook of each switched zone. 1 when a zone had no standby set or a hook
    // failed; throws ConfigError without [acme] standby-directory.
    int switch_zones(const std::vector<std::string>& zones, bool all);

    const IssuerConfig& config() const { return config_; }

  private:
    // Step 1, with the state lock held.
    void recover_interrupted_orders();
    // The values of an order a dead process left: removed (the record goes,
    // the order may be resumed), none to remove (forgotten), or still
    // published (removing failed: the record stays for the next pass).
    enum class LeftOrder { removed, forgotten, still_published };
    LeftOrder remove_left_values(const DnsName& zone, const InFlightOrder& o,
                                 const std::string& kind) const;
    // run's and the daemon's choice: every zone's status (after refreshing
    // ARI with `pass`), and those whose next attempt is due; `quiet` (the
    // daemon) does not log why the others wait.
    struct DueZones {
        std::vector<ZoneStatus> all;
        std::vector<ZoneStatus> due;
    };
    DueZones due_zones(Pass& pass, SysTime now, bool quiet);
    // run and each of the daemon's passes: steps 1-6; the caller holds the lock.
    PassReport run_pass(bool quiet);
    // The daemon: re-reads the configuration (on SIGHUP, says so); a
    // configuration that does not load is reported and the old one kept.
    void reload_config(bool hup);
    // The daemon's sleep after a pass: until the earliest next attempt or
    // renewal-information poll, at least 1 s, at most `sleep`; logged.
    std::chrono::seconds next_sleep(std::chrono::seconds sleep);
    int exit_code(const PassReport& report) const;

    IssuerConfig config_;
    std::size_t standby_failed_ = 0;  // of the last pass's standby step (standby.h)
};

}  // namespace acmezone::issuer
