// The issuer's commands: which zones need a certificate, issuing them
// concurrently, and reporting their state.
//
//   run             every configured zone that is missing, broken or due
//   issue ZONE...   these (configured) zones if missing or due; with force, always
//   status [--json] zone, names, not-after, days left, state, last error
//
// Due: when a third of the certificate's lifetime or less is left (a 90-day
// certificate at 30 days left; a 6-day one at 2). Zones are issued by up to
// `parallel` worker threads that share one AcmeClient, and so one account,
// one nonce pool and one pool of HTTPS connections.
//
// After each attempt, <state-dir>/zones/<zone>.json records when and how it
// ended, so `status` can show a failing renewal while the old certificate is
// still served.
//
// On SIGINT/SIGTERM (see interrupt.h) zones in flight stop waiting, remove
// their values and fail; zones not yet started are not started.
//
// Exit codes: 0 all good, 1 some zone failed (or, for status, is not valid),
// 2 bad configuration or command line.
#pragma once

#include <chrono>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "common/dns_name.h"
#include "issuer/cert_check.h"
#include "issuer/issuer_config.h"

namespace acmezone::issuer {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailed = 1;
inline constexpr int kExitConfig = 2;

// True when a third of the lifetime or less is left at `now`.
bool renewal_due(const CertInfo& cert, std::chrono::system_clock::time_point now);

struct ZoneStatus {
    DnsName zone;
    std::optional<CertInfo> cert;
    std::string state;         // valid, due, expired, missing, invalid
    std::string problem;       // why "invalid"
    std::string last_result;   // "ok", "failed" or "" (never attempted)
    std::string last_attempt;  // ISO 8601 UTC
    std::string last_error;
    bool needs_issuing() const { return state != "valid"; }
};

class Runner {
  public:
    explicit Runner(IssuerConfig config);

    int run();
    int issue(const std::vector<std::string>& zones, bool force);
    int status(bool json, std::ostream& out);

    ZoneStatus zone_status(const DnsName& zone, std::chrono::system_clock::time_point now) const;

  private:
    int issue_zones(const std::vector<DnsName>& zones);
    void record_attempt(const DnsName& zone, bool ok, const std::string& error) const;

    IssuerConfig config_;
};

}  // namespace acmezone::issuer
