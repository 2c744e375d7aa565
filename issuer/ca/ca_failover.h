// Which CA a pass asks: the first ([acme] directory) or, while that one has
// been failing for long enough, the fallback ([acme] fallback-directory).
//
// "Failing" is what the first thing a pass does with a CA finds: fetching
// its directory and creating or finding the account (AcmeClient::
// ensure_account), retried as acme_client.h says until the retry deadline.
// A CA that cannot be reached, answers 5xx, or refuses the account
// (unauthorized, externalAccountRequired, ...) is failing. The first failure
// is remembered, with the error, in <state-dir>/ca-failover.json; when a
// later pass finds the first CA failing and that began `fallback-after` ago
// or more, the pass uses the fallback CA instead, says so in the log, and
// records it for status. The first success with the first CA forgets the
// failure: every pass tries the first CA first.
//
// The file is written atomically (write_file_atomic); a file that cannot be
// read or parsed is reported and treated as empty (the first CA is then
// taken as not failing until it fails again). One process at a time writes
// it (the pass holds the state lock).
#pragma once

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>

namespace acmezone::issuer {

struct CaFailoverState {
    std::string directory;  // the first CA these fields are about
    std::optional<std::chrono::system_clock::time_point> failing_since;
    std::string last_error;      // the first CA's last failure
    std::string used;            // the directory the last pass used
    bool used_fallback = false;  // ... and whether that was the fallback
    std::optional<std::chrono::system_clock::time_point> used_at;
};

class CaFailover {
  public:
    using Clock = std::chrono::system_clock;

    // Loads `file` (missing, unreadable, or about another first CA: empty).
    CaFailover(std::filesystem::path file, std::string primary_directory);

    // The first CA answered: forget its failing, note it as used.
    void primary_ok(Clock::time_point now);
    // The first CA failed with `error`: returns since when it has been failing
    // (now, when this is the first failure).
    Clock::time_point primary_failed(const std::string& error, Clock::time_point now);
    // The pass uses the fallback CA `directory`.
    void fallback_used(const std::string& directory, Clock::time_point now);

    const CaFailoverState& state() const { return state_; }

    // Reads the state for status (never throws; empty when unreadable).
    static CaFailoverState read(const std::filesystem::path& file,
                                const std::string& primary_directory);

  private:
    void save() const;

    std::filesystem::path file_;
    CaFailoverState state_;
};

}  // namespace acmezone::issuer
