// One acmezone-fetch run, or a watch: for each zone, ask the servers in order
// (a conditional GET naming the installed version), check what a new version
// holds (zone_set.h), install it (fetch_store.h), then run the deploy hook
// once with every zone that changed.
//
// Which server answers: the first that gives a usable answer. One that is
// unreachable, answers an error status or 404, or sends a set that fails the
// checks, is passed over for the next; the zone fails when none answers, with
// one message naming the zone and each server's cause:
//     example.com: not fetched: https://a:8443: Failed to connect ...;
//     https://b:8443: refused: ecdsa-p256: the private key is not the
//     certificate's key
// A version older than the installed one is refused (no downgrade) unless
// --force. A failure to install (disk full, ...) fails the zone at once: it is
// not the server's fault. Whatever fails, the installed files stay as they
// were (fetch_store.h).
//
// --watch: one thread per zone holds a long poll (?wait=N, `wait`) on the
// servers; a failed fetch is retried after 1 s, doubling up to `retry-max`.
// The hook runs once for the zones changed within a short settling time. A
// stop signal ends the polls in flight and the watch (exit 0).
//
// --mirror: the zones are those the first answering server lists for this
// host (GET /v1/zones), plus any `zone =`; keys are written 0600 (the owner
// only, as `acmezone-issuer serve` requires), so the target can be the store
// of a standby issuer. With --watch the list is read once, at the start.
#pragma once

#include <vector>

#include "common/dns_name.h"
#include "issuer/fetch/fetch_config.h"

namespace acmezone::issuer {

struct FetchOptions {
    bool force = false;   // install a version older than the installed one
    bool watch = false;   // long poll until stopped
    bool mirror = false;  // every zone this host may fetch, keys 0600
};

// Exit statuses (also in --help and acmezone-fetch(1)).
inline constexpr int kFetchOk = 0;  // every zone current, the hook (if run) succeeded
inline constexpr int kFetchFailed =
    1;                                 // some zone not fetched or not installed, or the hook failed
inline constexpr int kFetchUsage = 2;  // bad configuration or command line
inline constexpr int kFetchLocked = 3;  // another acmezone-fetch holds the target's lock

// Runs once (or watches) as described above; returns an exit status.
int run_fetch(const FetchConfig& config, const FetchOptions& options);

}  // namespace acmezone::issuer
