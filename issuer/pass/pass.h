// One pass's work once the zones are chosen (runner.h says the steps):
// renewal information (step 2), the order of urgency and the CA's rate
// budget (steps 3-4), issuing with up to `parallel` worker threads (step 5),
// and the outputs (step 6). It asks the CA, publishes and runs hooks only
// through its PassEnv (pass_env.h), and records each zone's state changes
// with ZoneState's record_* functions (zone_state.h), saving after each.
// The caller holds the state lock.
#pragma once

#include <functional>
#include <map>
#include <utility>
#include <vector>

#include "issuer/ca/rate_budget.h"
#include "issuer/cli/issuer_config.h"
#include "issuer/outputs/metrics.h"
#include "issuer/pass/issuance.h"
#include "issuer/pass/pass_env.h"
#include "issuer/pass/pass_report.h"
#include "issuer/pass/zone_status.h"

namespace acmezone::issuer {

// What before_order() decides for a zone about to be ordered.
struct PreOrderVerdict {
    enum class Kind { go, defer, fail };
    Kind kind = Kind::go;
    std::string reason;
    std::optional<SysTime> until;  // defer: not before this (default: retry-min from now)
};

// One certificate whose renewal information (ARI) is kept: its certID ("":
// none) and how the log names it.
struct AriCert {
    std::string cert_id;
    std::string who;
};

// Whether `ari` has no answer for `cert_id` from `directory` that is still
// fresh (its Retry-After not passed).
bool ari_stale(const std::vector<AriState>& ari, const std::string& cert_id,
               const std::string& directory, SysTime now);

// Keeps in `ari` the entries of `certs` only, and refreshes the stale ones
// from `ca` (an entry from another CA starts afresh): with renewalInfo
// `offered`, a new window picks a new renewal time in it and the CA's
// Retry-After says when to ask again (an error: in an hour, logged as a
// warning naming the certificate); without, renew-before decides and it is
// looked at again in a day. Used for the live set (Pass) and the standby
// set (standby.h).
void refresh_ari_entries(CaSession& ca, bool offered, std::vector<AriState>& ari,
                         const std::vector<AriCert>& certs, SysTime now);

// Saves `state` as `zone`'s; a failure is logged ("could not record the
// attempt"), not thrown.
void save_zone_state(const ZoneStateStore& states, const DnsName& zone, const ZoneState& state);

class Pass {
  public:
    // Both must outlive the pass.
    Pass(const IssuerConfig& config, PassEnv& env);

    // Asks the pass's CA for the renewal window (ARI) of every certificate
    // it issued whose answer is stale, when [certs] ari is on and the CA
    // has renewalInfo; updates the zones' state and status.
    void refresh_renewal_info(std::vector<ZoneStatus>& zones, SysTime now);
    // Steps 3-6 over `todo` (chosen by the caller).
    PassReport run(std::vector<ZoneStatus> todo, std::vector<ZoneStatus> considered);
    // Work the caller adds after the zones and before the outputs (step 6),
    // so that notifications and metrics see it: the runner's standby step
    // (standby.h). An exception is logged, not thrown.
    void set_before_outputs(std::function<void()> step) { before_outputs_ = std::move(step); }

  private:
    struct Shared;  // what the worker threads share (pass.cpp)

    void issue_all(std::vector<ZoneStatus>& todo, PassReport& report);
    void one_zone(Shared& shared, ZoneStatus& st, ZoneOutcome& out);
    void attempt(Shared& shared, ZoneStatus& st, ZoneOutcome& out, const PreOrderVerdict& verdict);
    void zone_failed(Shared& shared, ZoneStatus& st, ZoneOutcome& out, const std::exception& e);
    IssuanceEvents events_for(Shared& shared, ZoneStatus& st, std::string& ordered_type);
    void ask_renewal_info(CaSession& ca, bool offered, ZoneStatus& st, SysTime now);
    void note_no_renewal_info(ZoneStatus& st, SysTime now);
    // The summary of the certificates just stored, kept in `saved`
    // (cert_summary.h), so that the next pass need not parse them.
    void keep_summary(const DnsName& zone, ZoneState& saved) const;

    // Hook points for the features around a pass; each is called in the
    // pass, as its comment in pass.cpp says.
    PreOrderVerdict before_order(const ZoneStatus& zone);
    void after_certificate_changed(const ZoneStatus& before, const CertInfo& cert);
    void after_pass(const PassReport& report);
    std::function<void()> before_outputs_;

    // The rate budget (rate_budget.h): plan the pass's orders, most urgent
    // first, within the budget; record what the CA was asked and answered.
    // A zone's part of the plan: one order per key type, each counted as
    // its own request (two key types: two orders, two certificates).
    struct ZonePlan {
        BudgetDecision decision;  // the first of its orders the budget refuses, if any
        std::vector<std::pair<KeyType, Renewal>> orders;
    };
    void plan_budget(const std::vector<ZoneStatus>& todo);
    void plan_budget(const std::vector<ZoneStatus>& todo, CaRole role);
    std::vector<std::pair<KeyType, Renewal>> orders_of(const ZoneStatus& st, SysTime now) const;
    const ZonePlan& plan_of(const ZoneStatus& st) const;
    void record_refusal(const ZoneStatus& zone, const IssuanceError& e, ZoneState& saved);
    // The budget's remaining figures as metric samples (metrics.h).
    std::vector<MetricSample> budget_metrics() const;
    // The pass's session of `role` when it was opened and answers, else nullptr.
    CaSession* usable_ca(CaRole role) const;
    // The CA role that renews the zone's live set (ca_session.h zone_ca_roles).
    CaRole live_role(const ZoneStatus& st) const;
    // The live roles of `zones`, each once, first before standby.
    std::vector<CaRole> roles_of(const std::vector<ZoneStatus>& zones) const;

    const IssuerConfig& config_;
    PassEnv& env_;
    const ZoneStateStore states_;
    std::map<CaRole, bool> ca_ari_;            // the role's CA answers renewalInfo ([certs] ari on)
    std::map<DnsName, ZonePlan> budget_plan_;  // set by run(), read by the hook points
};

}  // namespace acmezone::issuer
