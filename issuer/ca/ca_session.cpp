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

// The [acme] options of a CA besides the first; nullptr for the first.
const IssuerConfig::OtherCa* other_ca(const IssuerConfig& c, CaRole role) {
    switch (role) {
        case CaRole::fallback:
            return &*c.fallback;
        case CaRole::standby:
            return &*c.standby;
        case CaRole::first:
            break;
    }
    return nullptr;
}

std::filesystem::path account_key_path(const IssuerConfig& c, CaRole role) {
    switch (role) {
        case CaRole::fallback:
            return c.fallback_account_key_path();
        case CaRole::standby:
            return c.standby_account_key_path();
        case CaRole::first:
            break;
    }
    return c.account_key_path();
}

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
    AcmeCaSession(const IssuerConfig& c, CaRole role, bool with_account)
        : directory_(other_ca(c, role) ? other_ca(c, role)->directory : c.directory),
          role_(role),
          configured_caa_(role != CaRole::first ? std::vector<std::string>{} : c.caa_identities),
          http_(std::make_unique<HttpClient>(http_settings(c, role))) {
        if (!with_account) {
            return;
        }
        key_ = std::make_unique<AccountKey>(AccountKey::load_or_create(account_key_path(c, role)));
        acme_ = std::make_unique<AcmeClient>(*http_, *key_, acme_settings(c, role));
        budget_ = std::make_unique<RateBudget>(
            c.rate_budget_path(), directory_,
            other_ca(c, role) ? other_ca(c, role)->rate_limits : c.rate_limits);
    }

    void ensure_account() { acme().ensure_account(); }
    void set_unavailable(std::string why) { unavailable_ = std::move(why); }

    const std::string& directory() const override { return directory_; }
    bool fallback() const override { return role_ == CaRole::fallback; }
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
    CaRole role_ = CaRole::first;
    std::vector<std::string> configured_caa_;
    std::string unavailable_;
    std::unique_ptr<HttpClient> http_;
    std::unique_ptr<AccountKey> key_;
    std::unique_ptr<AcmeClient> acme_;
    std::unique_ptr<RateBudget> budget_;
    std::mutex caa_mutex_;
    std::optional<std::vector<std::string>> caa_;
};

std::unique_ptr<AcmeCaSession> connect(const IssuerConfig& c, CaRole role, bool ensure = true) {
    auto s = std::make_unique<AcmeCaSession>(c, role, /*with_account=*/true);
    if (ensure) {
        s->ensure_account();
    }
    return s;
}

}  // namespace

HttpSettings http_settings(const IssuerConfig& c, CaRole role) {
    HttpSettings hs;
    const IssuerConfig::OtherCa* other = other_ca(c, role);
    const auto& ca_file = other ? other->ca_file : c.ca_file;
    if (ca_file) {
        hs.ca_file = ca_file->string();
    }
    hs.timeout = c.http_timeout;
    return hs;
}

AcmeSettings acme_settings(const IssuerConfig& c, CaRole role) {
    AcmeSettings as;
    const IssuerConfig::OtherCa* other = other_ca(c, role);
    as.directory_url = other ? other->directory : c.directory;
    as.contact = c.contact;
    as.retry_deadline = c.retry_deadline;
    const auto& eab_key_file = other ? other->eab_key_file : c.eab_key_file;
    if (eab_key_file) {
        as.eab = EabKey::load(other ? other->eab_kid : c.eab_kid, *eab_key_file);
    }
    return as;
}

std::unique_ptr<CaSession> open_ca_session(const IssuerConfig& config) {
    CaFailover failover(config.state_dir / "ca-failover.json", config.directory);
    std::string error;
    try {
        auto s = connect(config, CaRole::first);
        failover.primary_ok(Clock::now());
        return s;
    } catch (const std::exception& e) {
        error = e.what();
    }
    auto unavailable = [&](const std::string& why) {
        auto s = connect(config, CaRole::first, /*ensure=*/false);
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
        auto s = connect(config, CaRole::fallback);
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
    return std::make_unique<AcmeCaSession>(config, fallback ? CaRole::fallback : CaRole::first,
                                           /*with_account=*/false);
}

std::unique_ptr<CaSession> open_standby_ca_session(const IssuerConfig& config) {
    if (!config.standby) {
        throw std::logic_error("no [acme] standby-directory");
    }
    try {
        return connect(config, CaRole::standby);
    } catch (const std::exception& e) {
        auto s = connect(config, CaRole::standby, /*ensure=*/false);
        s->set_unavailable("standby CA " + config.standby->directory + ": " + e.what());
        return s;
    }
}

std::unique_ptr<CaSession> open_ca_session_for(const IssuerConfig& config, CaRole role) {
    switch (role) {
        case CaRole::first:
            return open_ca_session(config);
        case CaRole::standby:
            return open_standby_ca_session(config);
        case CaRole::fallback:
            break;
    }
    throw std::logic_error("no session of its own for the fallback CA");
}

const std::string& role_directory(const IssuerConfig& config, CaRole role) {
    static const std::string kNone;
    switch (role) {
        case CaRole::first:
            return config.directory;
        case CaRole::fallback:
            return config.fallback ? config.fallback->directory : kNone;
        case CaRole::standby:
            return config.standby ? config.standby->directory : kNone;
    }
    return kNone;
}

ZoneCaRoles zone_ca_roles(const IssuerConfig& config, const std::string& live_ca) {
    ZoneCaRoles r;
    if (config.standby && !live_ca.empty() && live_ca == config.standby->directory &&
        live_ca != config.directory) {
        r.live = CaRole::standby;
        r.standby = CaRole::first;
        return r;
    }
    if (!live_ca.empty() && live_ca != config.directory &&
        live_ca != role_directory(config, CaRole::fallback) &&
        live_ca != role_directory(config, CaRole::standby)) {
        r.note = "the live set came from " + live_ca + ", which " + config.origin +
                 " no longer configures; renewed from [acme] directory " + config.directory;
    }
    return r;
}

}  // namespace acmezone::issuer
