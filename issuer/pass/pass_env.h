// What a pass works with besides the configuration and the state files: the
// CAs (one session per CA role and pass, ca_session.h), the checks before ordering, the
// issuance through the publisher (challenge_dns.h), and the outputs (deploy
// hook, notifications, metrics). An interface, so that a unit test can drive
// a pass (pass.h) against a fake CA and publisher; the program and the
// integration tests use real_pass_env (real Pebble, named, the plugin).
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/dns_name.h"
#include "issuer/ca/ca_session.h"
#include "issuer/certs/cert_check.h"
#include "issuer/cli/issuer_config.h"
#include "issuer/outputs/metrics.h"
#include "issuer/pass/issuance.h"
#include "issuer/pass/pass_report.h"

namespace acmezone::issuer {

class PassEnv {
  public:
    virtual ~PassEnv() = default;

    // The pass's session with the CA of `role` (first or standby: ca_session.h
    // zone_ca_roles says which renews a zone's live set), opened on its first
    // use (ARI or the first order) and the same for the rest of the pass: its
    // orders, budget, CAA identities and renewal information all come from it.
    virtual CaSession& ca(CaRole role) = 0;
    // Whether ca(role) was opened in this pass (nothing asked of it otherwise).
    virtual bool ca_opened(CaRole role) const = 0;
    // The checks before ordering `zone` (precheck.h) against the CA's CAA
    // identities: nullopt when they pass, else "checks before ordering
    // failed: " and the failed findings. Thread-safe.
    virtual std::optional<std::string> check_before_order(
        const DnsName& zone, const std::vector<std::string>& caa_identities) = 0;
    // issue_certificate (issuance.h) of `zone` with ca(role).acme(), the
    // publisher and the certificate store. Thread-safe.
    virtual CertInfo issue(CaRole role, const DnsName& zone, const StepReporter& report,
                           const IssuanceEvents& events, const IssuanceOptions& options) = 0;
    // The deploy hook after a zone's certificate changed (pass_outputs.h).
    virtual void deploy_hook(const DnsName& zone) = 0;
    // Notifications, next keys and the metrics file after a pass.
    virtual void after_pass(const PassReport& report, const std::vector<MetricSample>& extra) = 0;
};

// The real parts, as [acme], [dns] and [certs] say. `config` must outlive it.
std::unique_ptr<PassEnv> real_pass_env(const IssuerConfig& config);

}  // namespace acmezone::issuer
