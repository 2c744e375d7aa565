// See ca_session.h.
#include "issuer/ca/ca_session.h"

#include <ctime>

#include "common/log.h"
#include "common/utc_time.h"
#include "issuer/ca/ca_failover.h"

namespace acmezone::issuer {
namespace {

using Clock = std::chrono::system_clock;

std::unique_ptr<CaSession> connect(const IssuerConfig& c, bool fallback, bool ensure = true) {
    auto s = std::make_unique<CaSession>();
    s->fallback = fallback;
    s->directory = fallback ? c.fallback->directory : c.directory;
    s->key = std::make_unique<AccountKey>(AccountKey::load_or_create(
        fallback ? c.fallback_account_key_path() : c.account_key_path()));
    s->http = std::make_unique<HttpClient>(http_settings(c, fallback));
    AcmeSettings as = acme_settings(c, fallback);
    s->acme = std::make_unique<AcmeClient>(*s->http, *s->key, std::move(as));
    if (ensure) {
        s->acme->ensure_account();
    }
    s->budget = std::make_unique<RateBudget>(c.rate_budget_path(), s->directory,
                                             fallback ? c.fallback->rate_limits : c.rate_limits);
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
        s->unavailable = why;
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
        failover.fallback_used(s->directory, now);
        return s;
    } catch (const std::exception& e) {
        return unavailable(failing_since + "; the fallback CA " + config.fallback->directory +
                           " failed too: " + e.what());
    }
}

}  // namespace acmezone::issuer
