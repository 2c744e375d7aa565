// What a pass leaves for the operator besides certificates: the deploy hook
// after a certificate changed, notify-hook events, next keys made ready, and
// the metrics file. Called from pass.cpp's hook points (through pass_env.h)
// (after_certificate_changed, after_pass); see hooks.h and metrics.h for
// the hooks' environment and JSON, and the metrics written.
//
// None of these fails a zone or a pass: a hook that fails, a next key or
// metrics file that cannot be written is logged (and a deploy hook's failure
// kept in the zone's state, shown by status).
#pragma once

#include <string>
#include <vector>

#include "issuer/cli/issuer_config.h"
#include "issuer/outputs/hooks.h"
#include "issuer/outputs/metrics.h"
#include "issuer/pass/pass_report.h"

namespace acmezone::issuer {

// Runs the notify hook (if one is configured) with `event`, its output and
// outcome logged; never throws for the hook's own failure.
void run_notify_hook(const IssuerConfig& config, const NotifyEvent& event);

// Runs the deploy hook for `zone` (if one is configured) and records its
// outcome in the zone's state (deploy_hook_error, "" when it succeeded).
void run_deploy_hook(const IssuerConfig& config, const DnsName& zone);

// After a pass: notify-hook events for every configured zone (the state's
// notify fields updated), next keys made where missing (next-key = yes), and
// the metrics file, with `extra` samples added (the CA's rate-limit budget).
void after_pass_outputs(const IssuerConfig& config, const PassReport& report,
                        const std::vector<MetricSample>& extra = {});

// The runner's samples for one pass (see metrics.h), for the metrics file.
std::vector<MetricSample> pass_metrics(const IssuerConfig& config, const PassReport& report);

}  // namespace acmezone::issuer
