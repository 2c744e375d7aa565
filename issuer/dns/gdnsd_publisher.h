// Publishing challenge values through gdnsd's own ACME support, for
// operators whose nameserver is gdnsd (3.x) rather than BIND with the plugin.
//
//   [publish]
//   gdnsdctl = /usr/bin/gdnsdctl -s 127.0.0.1:3506     (repeatable)
//
// The configured string is split at white space into an argv (no shell, no
// quoting: a word cannot contain a space) and run as
//
//   ARGV... -- acme-dns-01 NAME VALUE [NAME VALUE ...]
//
// with at most 100 pairs a run (gdnsdctl's limit; more are split over
// several runs). `--` ends gdnsdctl's options, so a value starting with '-'
// is not taken for one. gdnsd serves each value at `_acme-challenge.NAME`
// (it strips a leading `_acme-challenge.` from NAME, so the owner is passed
// whole), and only there: an owner that is a CNAME target without that first
// label cannot be published through gdnsd. gdnsd takes only 43-character
// base64url values (what DNS-01 values are).
//
// Removal: gdnsd cannot remove single values (acme-dns-01-flush removes every
// value, also those of other clients), so unpublish() removes nothing: the
// values expire on their own after gdnsd's `acme_challenge_ttl` (default
// 600 s), and are lost when the daemon stops.
//
// Each run has a timeout (the child is killed at the deadline); its stdout
// and stderr are captured (the first 4 KiB) and a failure is a DnsError
// naming the command, how it ended and what it printed:
//   "gdnsdctl -s 127.0.0.1:3506: exited with status 1: error: connect() ..."
// Thread-safe: every call spawns and reaps its own child.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "issuer/dns/challenge_dns.h"

namespace acmezone::issuer {

// `text` split at spaces and tabs; nullopt (with `error` set) when it holds
// no word, or a quote (quoting is not supported: no shell runs it).
std::optional<std::vector<std::string>> split_command(std::string_view text, std::string* error);

struct CommandResult {
    bool timed_out = false;
    int exit_status = -1;  // when exited normally
    int signal = 0;        // when killed by a signal
    std::string output;    // stdout and stderr, at most the first 4 KiB
};

// Runs `argv` (argv[0] a path, or a name looked up in PATH) without a shell,
// stdin /dev/null, waiting at most `timeout`; throws std::system_error when
// it cannot be started.
CommandResult run_command(const std::vector<std::string>& argv, std::chrono::milliseconds timeout);

class GdnsdctlPublisher final : public Publisher {
  public:
    static constexpr std::size_t kMaxPairsPerRun = 100;

    GdnsdctlPublisher(std::vector<std::string> argv, std::chrono::milliseconds timeout);
    std::string name() const override;  // the configured command without its path
    void publish(const DnsName& owner, const std::vector<std::string>& values) const override;
    void unpublish(const DnsName& owner, const std::vector<std::string>& values) const override;

  private:
    std::vector<std::string> argv_;
    std::chrono::milliseconds timeout_;
};

}  // namespace acmezone::issuer
