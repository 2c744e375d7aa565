// The operator's hooks: deploy-hook after a certificate changed, notify-hook
// when a zone starts failing, recovers, or nears expiry unrenewed.
//
// Both are command lines from the configuration, run as `/bin/sh -c COMMAND`
// in their own process group, with the issuer's environment plus the
// variables below, stdin and stdout/stderr on pipes. Their output goes to the
// issuer's log, line by line, prefixed with the zone and the hook. A hook that
// exits non-zero, is killed by a signal or outlives its timeout (then its
// whole process group gets SIGKILL) is reported in the log and in the zone's
// status; it never fails the issuance (the certificate is already stored).
//
// deploy-hook environment (paths are the stable names of cert_store.h, which
// follow `current`):
//   ACMEZONE_ZONE          example.com (a DNS name: it may hold '/', RFC 2317)
//   ACMEZONE_ZONE_FILE     the zone as one file-name component, for a hook that
//                          names files after it: '/' written %2f (name_path.h)
//   ACMEZONE_DIR           <certs.dir>/<ACMEZONE_ZONE_FILE>
//   ACMEZONE_KEY_TYPES     the configured key types, space-separated: "ecdsa-p256 rsa-2048"
//   ACMEZONE_KEY_TYPE      the first of them
//   ACMEZONE_KEY, ACMEZONE_CERT, ACMEZONE_CHAIN, ACMEZONE_FULLCHAIN
//                          the first key type's privkey.pem, cert.pem, chain.pem,
//                          fullchain.pem (the same files as with one key type)
//   ACMEZONE_KEY_<T>, ACMEZONE_CERT_<T>, ACMEZONE_CHAIN_<T>, ACMEZONE_FULLCHAIN_<T>
//                          every key type's, <T> its name upper-cased with '-' as
//                          '_': ACMEZONE_CERT_ECDSA_P256, ACMEZONE_KEY_RSA_2048
//
// notify-hook: one JSON object on stdin (and ACMEZONE_EVENT, ACMEZONE_ZONE in
// the environment):
//   {"event": "failed" | "expiring" | "recovered" | "standby-missing" | "switched",
//    "zone": "example.com",
//    "error": "the last attempt's error (\"\" for recovered)",
//    "not_after": "2026-02-01T00:00:00Z" or null (no certificate),
//    "days_left": 12.5 or null,
//    "time": "2026-01-20T10:00:00Z"}
// decide_notifications() says which events a zone's outcome calls for: failed
// once when the zone starts failing, recovered once when it succeeds again,
// expiring when `notify-expiring-days` or fewer are left and at most once a
// day; the caller keeps NotifyState in the zone's state file. With [acme]
// standby-directory (pass/standby.h): standby-missing once when, after the
// standby step, a zone with a live set has no usable standby set (error: why,
// or its last attempt's error; not_after: the live set's), again only after
// one was stored; switched for each zone `switch` made live (not_after: the
// set now live).
#pragma once

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/dns_name.h"
#include "issuer/certs/cert_key.h"

namespace acmezone::issuer {

using HookEnv = std::vector<std::pair<std::string, std::string>>;

struct HookResult {
    bool ok = false;
    int exit_code = -1;  // when it exited
    int signal = 0;      // when a signal ended it
    bool timed_out = false;
    std::string output;  // stdout and stderr interleaved, at most 64 KiB kept
    // "exited 3", "killed by signal 9", "timed out after 30 s", "cannot start: ..."
    std::string describe() const;
};

// Runs `/bin/sh -c command` with the current environment plus `env` (which
// overrides), `stdin_data` on stdin (then closed), bounded by `timeout`.
// Never throws for the command's own failure; see HookResult.
HookResult run_hook(const std::string& command, const HookEnv& env, const std::string& stdin_data,
                    std::chrono::milliseconds timeout);

// "ECDSA_P256" for ecdsa-p256.
std::string key_type_env_suffix(KeyType type);

// The deploy-hook's environment for `zone` stored under `zone_dir` with
// `key_types` (the first is the primary); paths as cert_store.h names them.
HookEnv deploy_hook_env(const DnsName& zone, const std::filesystem::path& zone_dir,
                        const std::vector<KeyType>& key_types);

// What was notified about a zone, kept in its state file.
struct NotifyState {
    bool failing = false;  // "failed" sent and no "recovered" since
    std::optional<std::chrono::system_clock::time_point> expiring_sent;  // last "expiring"
};

struct NotifyEvent {
    std::string event;  // failed, expiring, recovered, standby-missing, switched
    DnsName zone;
    std::string error;
    std::optional<std::chrono::system_clock::time_point> not_after;
    std::chrono::system_clock::time_point time;
    std::string to_json() const;  // the document above, one line
};

// One zone after a pass. `attempted`: an issuance was tried (then `ok` says
// how it ended); `not_after`: of the certificate stored now, if any.
struct NotifyOutcome {
    bool attempted = false;
    bool ok = false;
    std::string error;
    std::optional<std::chrono::system_clock::time_point> not_after;
};

// The events `outcome` calls for, updating `state`. `expiring_days` 0 turns
// expiring notices off.
std::vector<NotifyEvent> decide_notifications(NotifyState& state, const DnsName& zone,
                                              const NotifyOutcome& outcome,
                                              std::chrono::system_clock::time_point now,
                                              unsigned expiring_days);

}  // namespace acmezone::issuer
