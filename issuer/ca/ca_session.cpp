// See ca_session.h.
#include "issuer/ca/ca_session.h"

#include <json/value.h>

#include <ctime>
#include <mutex>
#include <optional>
#include <stdexcept>

#include "common/log.h"
#include "common/utc_time.h"
#include "issuer/ca/ca_failover.h"
#include "issuer/json/json_text.h"

namespace acmezone::issuer {
namespace {

using Clock = std::chrono::system_clock;

// meta.caaIdentities of the directory at `directory`; empty, with a warning,
// when it cannot be read.
std::vector<std::string> directory_caa_identities(const std::string& directory, HttpClient& http) {
    std::vector<std::string> out;
    try {
        HttpResponse r = http.get(directory);
        const std::optional<Json::Value> parsed = parse_json(r.body);
        if (r.status != 200 || !parsed || !parsed->isObject()) {
            log_warning("ACME directory ", directory, ": HTTP ", r.status,
                        ", not a directory: CAA records cannot be matched to the CA");
            return out;
        }
        const Json::Value& ids = (*parsed)["meta"]["caaIdentities"];
        for (const Json::Value& id : ids.isArray() ? ids : Json::Value(Json::arrayValue)) {
            if (id.isString()) {
                out.push_back(id.asString());
            }
        }
        if (out.empty()) {
            log_debug("ACME directory ", directory,
                      " lists no meta.caaIdentities; [acme] caa-identity can supply them");
        }
    } catch (const std::exception& e) {
        log_warning("ACME directory ", directory, ": ", e.what(),
                    ": CAA records cannot be matched to the CA");
    }
    return out;
}

class AcmeCaSession final : public CaSession {
  public:
    // `with_account`: an account key, ACME client and rate budget (a pass);
    // without, only HTTPS (check).
    AcmeCaSession(const IssuerConfig& c, bool fallback, bool with_account)
        : directory_(fallback ? c.fallback->directory : c.directory),
          fallback_(fallback),
          configured_caa_(fallback ? std::vector<std::string>{} : c.caa_identities),
          http_(std::make_unique<HttpClient>(http_settings(c, fallback))) {
        if (!with_account) {
            return;
        }
        key_ = std::make_unique<AccountKey>(AccountKey::load_or_create(
            fallback ? c.fallback_account_key_path() : c.account_key_path()));
        acme_ = std::make_unique<AcmeClient>(*http_, *key_, acme_settings(c, fallback));
        budget_ = std::make_unique<RateBudget>(c.rate_budget_path(), directory_,
                                               fallback ? c.fallback->rate_limits : c.rate_limits);
    }

    void ensure_account() { acme().ensure_account(); }
    void set_unavailable(std::string why) { unavailable_ = std::move(why); }

    const std::string& directory() const override { return directory_; }
    bool fallback() const override { return fallback_; }
    const std::string& unavailable() const override { return unavailable_; }
    AcmeClient& acme() override {
        if (!acme_) {
            throw std::logic_error("CA session " + directory_ + " opened only to look");
        }
        return *acme_;
    }
    RateBudget* budget() override { return budget_.get(); }
    std::vector<std::string> caa_identities() override {
        if (!configured_caa_.empty()) {
            return configured_caa_;
        }
        std::lock_guard lock(caa_mutex_);
        if (!caa_) {
            caa_ = directory_caa_identities(directory_, *http_);
        }
        return *caa_;
    }
    bool offers_renewal_info() override { return acme().renewal_info_url().has_value(); }
    AcmeClient::RenewalInfoReply renewal_info(const std::string& cert_id) override {
        return acme().get_renewal_info(cert_id);
    }
    HttpStats http_stats() const override { return http_->stats(); }

  private:
    std::string directory_;
    bool fallback_ = false;
    std::vector<std::string> configured_caa_;
    std::string unavailable_;
    std::unique_ptr<HttpClient> http_;
    std::unique_ptr<AccountKey> key_;
    std::unique_ptr<AcmeClient> acme_;
    std::unique_ptr<RateBudget> budget_;
    std::mutex caa_mutex_;
    std::optional<std::vector<std::string>> caa_;
};

std::unique_ptr<AcmeCaSession> connect(const IssuerConfig& c, bool fallback, bool ensure = true) {
    auto s = std::make_unique<AcmeCaSession>(c, fallback, /*with_account=*/true);
    if (ensure) {
        s->ensure_account();
    }
    return s;
}

}  // namespace

HttpSettings http_settings(const IssuerConfig& c, bool fallback) {
    HttpSettings hs;
    const auto& ca_file = fallback ? c.fallback->ca_file : c.ca_file;
    if (ca_file) {
        hs.ca_file = ca_file->string();
    }
    hs.timeout = c.http_timeout;
    return hs;
}

AcmeSettings acme_settings(const IssuerConfig& c, bool fallback) {
    AcmeSettings as;
    as.directory_url = fallback ? c.fallback->directory : c.directory;
    as.contact = c.contact;
    as.retry_deadline = c.retry_deadline;
    if (fallback && c.fallback->eab_key_file) {
        as.eab = EabKey::load(c.fallback->eab_kid, *c.fallback->eab_key_file);
    }
    return as;
}

std::unique_ptr<CaSession> open_ca_session(const IssuerConfig& config) {
    CaFailover failover(config.state_dir / "ca-failover.json", config.directory);
    std::string error;
    try {
        auto s = connect(config, false);
        failover.primary_ok(Clock::now());
        return s;
    } catch (const std::exception& e) {
        error = e.what();
    }
    auto unavailable = [&](const std::string& why) {
        auto s = connect(config, false, /*ensure=*/false);
        s->set_unavailable(why);
        return s;
    };
    const auto now = Clock::now();
    const auto since = failover.primary_failed(error, now);
    if (!config.fallback) {
        return unavailable("CA " + config.directory + ": " + error);
    }
    const std::string failing_since =
        "CA " + config.directory + " failing since " + format_utc(since) + ": " + error;
    const auto failing = std::chrono::duration_cast<std::chrono::seconds>(now - since);
    if (failing < config.fallback->after) {
        return unavailable(failing_since + " (the fallback CA " + config.fallback->directory +
                           " is used from " + format_utc(since + config.fallback->after) + ")");
    }
    log_warning("CA ", config.directory, " failing since ", format_utc(since), " (", error,
                "); using the fallback CA ", config.fallback->directory);
    try {
        auto s = connect(config, true);
        failover.fallback_used(s->directory(), now);
        return s;
    } catch (const std::exception& e) {
        return unavailable(failing_since + "; the fallback CA " + config.fallback->directory +
                           " failed too: " + e.what());
    }
}

std::unique_ptr<CaSession> open_ca_session_to_look(const IssuerConfig& config) {
    const CaFailoverState f =
        CaFailover::read(config.state_dir / "ca-failover.json", config.directory);
    const bool fallback = config.fallback && f.failing_since && f.used_fallback;
    return std::make_unique<AcmeCaSession>(config, fallback, /*with_account=*/false);
}

}  // namespace acmezone::issuer
