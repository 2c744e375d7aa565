// See pass_env.h.
#include "issuer/pass/pass_env.h"

#include <map>
#include <mutex>

#include "common/log.h"
#include "issuer/certs/cert_store.h"
#include "issuer/dns/challenge_dns.h"
#include "issuer/dns/precheck.h"
#include "issuer/outputs/pass_outputs.h"

namespace acmezone::issuer {
namespace {

class RealPassEnv final : public PassEnv {
  public:
    explicit RealPassEnv(const IssuerConfig& config)
        : config_(config),
          dns_(config.dns),
          store_(config.certs_dir),
          ct_logs_(config.ct_log_list ? CtLogList::load(*config.ct_log_list) : nullptr) {}

    CaSession& ca(CaRole role) override {
        std::lock_guard lock(ca_mutex_);
        std::unique_ptr<CaSession>& s = role == CaRole::standby ? standby_ : first_;
        if (!s) {
            s = open_ca_session_for(config_, role);
        }
        return *s;
    }
    bool ca_opened(CaRole role) const override {
        std::lock_guard lock(ca_mutex_);
        return (role == CaRole::standby ? standby_ : first_) != nullptr;
    }

    // Warnings are logged at info level (a resolver refusing CAA queries
    // would otherwise warn on every zone of every run).
    std::optional<std::string> check_before_order(
        const DnsName& zone, const std::vector<std::string>& caa_identities) override {
        const PrecheckReport report = precheck_zone(zone, dns_, caa_identities);
        for (const Finding& f : report.findings) {
            if (f.result == Finding::Result::warning) {
                log_info(zone.text(), ": check before ordering: ", f.check, ": ", f.what,
                         f.fix.empty() ? "" : " (" + f.fix + ")");
            }
        }
        if (!report.failed()) {
            log_debug(zone.text(), ": checks before ordering passed");
            if (report.owner) {
                std::lock_guard lock(owners_mutex_);
                owners_.insert_or_assign(zone, *report.owner);
            }
            return std::nullopt;
        }
        return "checks before ordering failed: " + report.failure_text();
    }

    CertInfo issue(CaRole role, const DnsName& zone, const StepReporter& report,
                   const IssuanceEvents& events, const IssuanceOptions& options) override {
        CaSession& session = ca(role);
        IssuanceServices services{session.acme(),
                                  dns_,
                                  store_,
                                  config_.key_type,
                                  config_.trust_file,
                                  config_.validation_timeout};
        services.key_types = config_.key_types;
        services.next_key = config_.next_key;
        services.preferred_chain = config_.preferred_chain;
        services.ct_mode = config_.ct_mode_for(session.directory());
        services.ct_logs = ct_logs_;
        {
            std::lock_guard lock(owners_mutex_);
            if (auto checked = owners_.find(zone); checked != owners_.end()) {
                services.challenge_owner = checked->second;
                owners_.erase(checked);
            }
        }
        return issue_certificate(zone, services, report, events, options);
    }

    void deploy_hook(const DnsName& zone) override { run_deploy_hook(config_, zone); }

    void after_pass(const PassReport& report, const std::vector<MetricSample>& extra) override {
        after_pass_outputs(config_, report, extra);
    }

  private:
    const IssuerConfig& config_;
    const ChallengeDns dns_;
    CertStore store_;
    const std::shared_ptr<const CtLogList> ct_logs_;
    mutable std::mutex ca_mutex_;
    std::unique_ptr<CaSession> first_;    // the first CA or its fallback
    std::unique_ptr<CaSession> standby_;  // for zones switched to the standby CA
    // The challenge name each zone's checks found, for its issuance (one
    // CNAME lookup a zone, not two; the name checked is the name used).
    std::mutex owners_mutex_;
    std::map<DnsName, DnsName> owners_;
};

}  // namespace

std::unique_ptr<PassEnv> real_pass_env(const IssuerConfig& config) {
    return std::make_unique<RealPassEnv>(config);
}

}  // namespace acmezone::issuer
