// The CA one pass talks to: the first ([acme] directory) or, as
// ca_failover.h decides, the fallback; with its own account key, HTTPS
// client, AcmeClient (account ready) and rate budget (rate_budget.h).
//
//   first CA answers (directory + account)      -> the first CA
//   first CA fails, no fallback configured      -> unavailable (the first's error)
//   first CA fails, failing < fallback-after    -> unavailable, saying when the
//                                                  fallback will be used
//   first CA fails, failing >= fallback-after   -> the fallback, logged as a warning:
//     "CA <first> failing since <T> (<error>); using the fallback CA <second>"
//   the fallback fails too                      -> unavailable, naming both
// ("unavailable": the session's `unavailable` says why, and its AcmeClient,
// for the first CA, must not be used; the runner fails each zone with it.)
//
// Each CA has its own account key: account.key for the first,
// account-fallback.key for the fallback (created 0600 on first use).
#pragma once

#include <memory>
#include <string>

#include "issuer/acme/account_key.h"
#include "issuer/acme/acme_client.h"
#include "issuer/acme/http_client.h"
#include "issuer/ca/rate_budget.h"
#include "issuer/cli/issuer_config.h"

namespace acmezone::issuer {

struct CaSession {
    std::string directory;
    bool fallback = false;
    std::unique_ptr<AccountKey> key;
    std::unique_ptr<HttpClient> http;
    std::unique_ptr<AcmeClient> acme;
    std::unique_ptr<RateBudget> budget;
    std::string unavailable;  // non-empty: no CA can be used, and why
};

// The HTTPS and ACME settings [acme] gives for the first CA (or, with
// `fallback`, the second: its directory, ca-file and EAB key), the one place
// every command that talks to a CA takes them from (the runner, check).
// acme_settings throws what loading the EAB key file throws.
HttpSettings http_settings(const IssuerConfig& config, bool fallback = false);
AcmeSettings acme_settings(const IssuerConfig& config, bool fallback = false);

// Never null. Throws only what creating the first CA's account key throws.
std::unique_ptr<CaSession> open_ca_session(const IssuerConfig& config);

}  // namespace acmezone::issuer
