// The issuer's own budget of the CA's rate limits: a ledger of what it asked
// of each CA, so that it never sends a request it knows will be refused.
//
// Limits (per CA directory URL; 0 means "no limit"), with Let's Encrypt's
// figures as the default (https://letsencrypt.org/docs/rate-limits/):
//   orders-per-3h                     300  new orders per account per 3 hours
//   certs-per-domain-per-week          50  certificates per registered domain per 7 days
//   certs-per-nameset-per-week          5  certificates per exact set of names per 7 days
//   failed-authz-per-name-per-hour      5  failed authorizations per name per hour
// The registered domain is the name's registrable part by the Public Suffix
// List (libpsl: example.co.uk for a.example.co.uk, example.com for
// a.b.example.com); a name that is itself a public suffix is its own.
//
// Windows slide: an event at T counts while now < T + window. So with a
// limit of N, the N+1th request may go at the time the oldest of the last N
// leaves the window, and that is the time a refusal names.
//
// Renewals, as Let's Encrypt counts them (rate-limits page above: renewals,
// orders for exactly the names of an earlier certificate, are not held back
// by certificates per registered domain; renewals within the CA's ARI
// window, RFC 9773 `replaces`, are exempt from new orders per account too):
//   - Renewal::yes, a certificate for exactly the names of one issued before:
//     not held back by certs-per-domain-per-week, held back by every other
//     limit;
//   - Renewal::ari, an order that names the certificate it replaces
//     (`replaces`) while that certificate's ARI window (from this CA) is
//     open: not held back by orders-per-3h nor certs-per-domain-per-week;
//     still held back by certs-per-nameset-per-week and
//     failed-authz-per-name-per-hour (Let's Encrypt's own exemption may be
//     wider; five renewals of one set of names a week are more than a
//     schedule ever needs, and a renewal loop must still stop).
// Every order and certificate is recorded and counts towards the limits of
// later requests, exempt or not; where the CA's own counting is more
// generous than this, the budget stays on the safe side: orders are counted
// whether or not the order succeeds.
//
// A rateLimited answer from the CA (Retry-After) is recorded as a block of
// that set of names until then (record_ca_refusal); it holds back that set
// whatever the limits say.
//
// On disk: <state-dir>/rate-budget.json, one section per CA directory URL,
// and beside it the journal rate-budget.journal, one line per event recorded
// since its section was last written.
//   - Recording appends the event to the journal, made durable (fdatasync)
//     when the last append is a second old or more, else by the next append,
//     flush() or the destructor: a pass of 1,000 zones costs a few appends of
//     the new events, and a crash loses at most the last second's recordings.
//     The cost of recording does not grow with the ledger (it rewrote the
//     whole section once a second: 20 passes of 1,000 zones in a row made a
//     3.4 MB section, rewritten ~15 times a pass).
//   - flush() (the runner's end of a pass) and the destructor write the
//     section, pruned past the longest window, atomically (write_file_atomic),
//     with a generation one higher; the journal then loses this CA's lines of
//     older generations. A load reads the section and replays the journal's
//     lines of its generation, so a crash between the two writes repeats no
//     event.
// A write serialises only this CA's section; the file's other sections are
// kept as text from when it was loaded, so the cost of a write is its own
// ledger's, not a parse of the file. A file that cannot be read or parsed is
// reported (a warning naming it) and replaced by an empty ledger: the budget
// then errs towards sending, as before it existed, rather than stopping
// issuance. A journal line that cannot be read is reported and skipped.
//
// Thread-safe: every zone in flight records through one RateBudget.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "common/dns_name.h"
#include "common/lock_guarded.h"

namespace acmezone::issuer {

struct RateLimits {
    unsigned orders_per_3h = 300;
    unsigned certs_per_domain_per_week = 50;
    unsigned certs_per_nameset_per_week = 5;
    unsigned failed_authz_per_name_per_hour = 5;

    static RateLimits letsencrypt() { return {}; }
    static RateLimits none() { return {0, 0, 0, 0}; }
    bool unlimited() const {
        return orders_per_3h == 0 && certs_per_domain_per_week == 0 &&
               certs_per_nameset_per_week == 0 && failed_authz_per_name_per_hour == 0;
    }
};

enum class Renewal { no, yes, ari };

// The registrable domain of `name` by the Public Suffix List ("*." ignored);
// `name` itself when it is a public suffix or has no registrable part.
std::string registered_domain(const DnsName& name);

// One order the runner would like to send.
struct OrderRequest {
    std::vector<DnsName> names;  // as ordered: {Z, *.Z}
    Renewal renewal = Renewal::no;
};

struct BudgetDecision {
    bool allowed = true;
    std::chrono::system_clock::time_point not_before;  // when !allowed: the earliest time
    std::string limit;  // when !allowed: "orders-per-3h (2 of 2 used)"
};

class RateBudget {
  public:
    using Clock = std::chrono::system_clock;

    // Loads the ledger for `ca_url` from `file` (missing: empty).
    RateBudget(std::filesystem::path file, std::string ca_url, RateLimits limits);

    // May `request` be ordered at `now`? (Records nothing.)
    BudgetDecision check(const OrderRequest& request, Clock::time_point now) const;
    // Decides for `requests` in the order given (most urgent first), each as
    // if those allowed before it had been ordered and issued: a pass sends
    // what the budget admits, in this order, and defers the rest. Records nothing.
    std::vector<BudgetDecision> plan(const std::vector<OrderRequest>& requests,
                                     Clock::time_point now) const;

    // Writes what is not written yet (errors are logged, not thrown).
    ~RateBudget();
    RateBudget(const RateBudget&) = delete;
    RateBudget& operator=(const RateBudget&) = delete;
    void flush(Clock::time_point now = Clock::now());

    // Recording (see above for when the ledger is written).
    void record_order(const std::vector<DnsName>& names, Clock::time_point now);
    void record_issued(const std::vector<DnsName>& names, Renewal renewal, Clock::time_point now);
    void record_failed_authorization(const DnsName& name, Clock::time_point now);
    // The CA answered rateLimited for `names`: hold them back until `until`.
    void record_ca_refusal(const std::vector<DnsName>& names, Clock::time_point until,
                           const std::string& detail, Clock::time_point now);

    const std::string& ca_url() const { return ca_url_; }
    const RateLimits& limits() const { return limits_; }

    // Used in the windows: how many orders, certificates of `domain`, ...
    // (for status and metrics).
    struct Usage {
        unsigned orders_3h = 0;
        unsigned certs_domain_week = 0;
    };
    Usage usage(const std::string& domain, Clock::time_point now) const;

    // What is left of each limit at `now` (for the metrics file): the
    // account's orders-per-3h (scope "account"), and for each of
    // `name_sets` certs-per-domain-per-week of its registered domain (scope:
    // the domain), certs-per-nameset-per-week (scope: the names, sorted,
    // comma-separated) and failed-authz-per-name-per-hour of each name
    // (scope: the name without "*."); each scope once. Limits that are 0
    // (no limit) are left out.
    struct Remaining {
        std::string limit;  // "orders-per-3h", ...
        std::string scope;
        unsigned max = 0;   // the limit
        unsigned left = 0;  // max minus what counts in the window, at least 0
    };
    std::vector<Remaining> remaining(const std::vector<std::vector<DnsName>>& name_sets,
                                     Clock::time_point now) const;

    struct Event {
        Clock::time_point time;
        std::vector<std::string> names;  // sorted, without duplicates
        std::string domain;              // certificates: the registered domain
        Renewal renewal = Renewal::no;   // certificates
        Clock::time_point until;         // CA refusals
        std::string detail;              // CA refusals
    };
    struct Ledger {
        std::vector<Event> orders, certs, failed_authz, ca_refusals;
    };

  private:
    // What changes as zones record: reachable only through state_'s lock.
    struct State {
        Ledger ledger;                 // this CA's section and its journal lines
        std::uint64_t generation = 0;  // of the section as last read or written
        std::string pending;           // journal lines not appended yet
        bool dirty = false;            // recorded since the section was read or written
        std::chrono::steady_clock::time_point last_append{};
        Clock::time_point latest{};  // the latest time recorded or saved: what prune() keeps to
    };
    enum class List { orders, certs, failed_authz, ca_refusals };  // as the file has them
    void record(State& state, List list, Event event, Clock::time_point now);
    void append_pending(State& state);
    void replay_journal(State& state);
    void save(State& state, Clock::time_point now);

    std::filesystem::path file_;
    std::string ca_url_;
    RateLimits limits_;
    mutable LockGuarded<State> state_;
};

}  // namespace acmezone::issuer
