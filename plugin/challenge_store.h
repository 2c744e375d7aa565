// The plugin's record store: TXT values at challenge names, each expiring
// on its own, kept durable across restarts, read without locks.
//
// Model. A value is one TXT record's data (its character-strings) at an
// owner name, with the time it expires (added + lifetime; adding a value
// that is already there renews it). Any number of values may share a name
// (up to max_values_per_name): the apex and wildcard authorizations of one
// order both live at _acme-challenge.<zone>.
//
// Readers (named's threads, via dlz_lookup) call snapshot(): an immutable
// Snapshot, swapped in atomically after each change. They never wait for a
// writer. A reader filters out values whose expiry has passed, so an expired
// value is never served even before the purge removes it.
//
// Writers (the control socket) call apply(): prerequisites are checked and
// changes applied as a whole or not at all, then written to the journal and
// fsync'd before apply() returns (concurrent writers share one fsync: group
// commit). Only then is the new snapshot published and the caller may
// acknowledge. The journal is compacted into a snapshot file from time to
// time. Expiry needs no journal entry: it follows from the stored times.
//
// SOA serial: one counter for all claimed zones, incremented with every
// published change (including purges of expired values), kept durable:
// next = max(previous + 1, Unix time in seconds), and a store that opens a
// state directory journals a fresh serial first, so serials never repeat.
//
// Files (store_journal.h): <state-dir>/journal, checksummed records each
// holding the new content of the names a change touched, appended and
// fdatasync'd; <state-dir>/snapshot, written atomically every
// compact_after records (or compact_after_bytes), after which the journal
// is cut. On load a torn
// last record is dropped (it was never acknowledged) and expired values
// are left out. Both files are created 0600, the directory 0700.
//
// Limits: a change that would put more than max_values_per_name unexpired
// values at a name, or more than max_values in the store, is REFUSED as a
// whole with a detail naming the limit. Deleting is always allowed.
//
// Threads: snapshot() from any thread, never blocks. apply() and
// purge_expired() from any thread; they serialize among themselves.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/dns_name.h"

namespace acmezone::plugin {

using Clock = std::chrono::system_clock;  // wall clock: expiry times survive restarts

// One TXT record's data: 1..n character-strings of 0..255 octets each.
using TxtData = std::vector<std::string>;

struct TxtValue {
    TxtData data;
    Clock::time_point expires;
};

struct Snapshot {
    std::uint32_t serial = 1;
    std::unordered_map<DnsName, std::vector<TxtValue>> names;
    // Kept by the store along with `names`: the number of values (expired or
    // not) at all names, and for every proper ancestor of a name in `names`
    // how many names lie below it (empty non-terminals answer NODATA).
    std::size_t value_count = 0;
    std::unordered_map<DnsName, std::uint32_t> descendants;

    // Unexpired values at `owner` (empty when none).
    std::vector<const TxtValue*> values_at(const DnsName& owner, Clock::time_point now) const;
    // True when some name with values lies strictly below `name`.
    bool has_descendants(const DnsName& name) const { return descendants.contains(name); }
};

// RFC 2136 §2.4 prerequisites, restricted to what the store holds (TXT).
// The control server decides prerequisites on other types itself.
struct Prerequisite {
    enum class Kind {
        name_in_use,      // fails with NXDOMAIN
        name_not_in_use,  // fails with YXDOMAIN
        txt_exists,       // fails with NXRRSET
        txt_not_exists,   // fails with YXRRSET
        txt_equals,       // the TXT set is exactly `values`; fails with NXRRSET
    };
    Kind kind;
    DnsName name;
    std::vector<TxtData> values;
};

struct Change {
    enum class Op {
        add,           // add `data` at `name` (or renew it)
        delete_value,  // delete exactly `data` at `name`
        delete_txt,    // delete every TXT value at `name`
        delete_name,   // delete everything at `name`
    };
    Op op;
    DnsName name;
    TxtData data;
};

struct UpdateResult {
    std::uint8_t rcode = 0;        // DNS RCODE: 0 NOERROR, 2 SERVFAIL, 3 NXDOMAIN, 5 REFUSED, 6..8
    std::string detail;            // for the log: why it failed
    std::vector<DnsName> changed;  // names whose content changed
    std::uint32_t serial = 0;      // serial after the change
};

struct StoreOptions {
    std::filesystem::path state_dir;  // created if missing; empty: memory only (unit tests)
    std::chrono::seconds lifetime{600};
    std::size_t max_values_per_name = 64;
    std::size_t max_values = 1000000;
    std::size_t compact_after = 10000;            // journal records before a snapshot is written
    std::size_t compact_after_bytes = 16u << 20;  // ... or journal octets
};

class ChallengeStore {
  public:
    // Loads the snapshot file and replays the journal; throws std::runtime_error
    // naming the file when state cannot be read or the directory not written.
    explicit ChallengeStore(StoreOptions options);
    ~ChallengeStore();
    ChallengeStore(const ChallengeStore&) = delete;
    ChallengeStore& operator=(const ChallengeStore&) = delete;

    std::shared_ptr<const Snapshot> snapshot() const { return current_.load(); }

    // Whole or nothing, durable before it returns NOERROR. A limit exceeded
    // gives REFUSED, a write that cannot be made durable SERVFAIL (and changes
    // nothing).
    UpdateResult apply(const std::vector<Prerequisite>& prerequisites,
                       const std::vector<Change>& changes, Clock::time_point now = Clock::now());

    // Drops expired values and publishes the result if anything expired.
    void purge_expired(Clock::time_point now = Clock::now());

    const StoreOptions& options() const { return options_; }

  private:
    struct Writer;  // the writers' mutex, journal file and group-commit state
    // Makes `next` (built from the writers' latest state, touching `touched`)
    // durable and publishes it; `lock` holds the writers' mutex.
    UpdateResult commit(std::unique_lock<std::mutex>& lock, std::shared_ptr<Snapshot> next,
                        const std::vector<DnsName>& touched);
    void compact();  // called with the writers' mutex held, no append in flight

    StoreOptions options_;
    std::atomic<std::shared_ptr<const Snapshot>> current_;
    std::unique_ptr<Writer> writer_;
};

}  // namespace acmezone::plugin
