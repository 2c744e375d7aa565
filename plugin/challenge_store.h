// The plugin's record store: the challenge table (challenge_table.h),
// kept durable across restarts by one writer, read without locks.
//
// A value added lives for `lifetime` (adding a value that is already there
// renews it); up to max_values_per_name values may share a name.
//
// Readers (named's threads, via dlz_lookup) call snapshot(): the published
// table, swapped in atomically after each change. They never wait for a
// writer.
//
// Writers (the control socket) call apply() or apply_async(): prerequisites
// are checked and changes applied as a whole or not at all, then written to
// the journal and fsync'd before apply() returns or apply_async()'s callback
// runs (concurrent writers share one fsync: group commit). Only then is the
// new snapshot published and the caller may acknowledge. The journal is compacted into a snapshot
// file from time to time. Expiry needs no journal entry: it follows from the stored times.
//
// SOA serial: one counter for all claimed zones, incremented with every
// published change (including purges of expired values), kept durable:
// next = max(previous + 1, Unix time in seconds), and a store that opens a
// state directory journals a fresh serial first, so serials never repeat.
// On a full state disk that record is skipped with a warning (named must
// still start): the store serves what it holds, refuses updates with
// SERVFAIL, and a serial can then repeat only for unchanged content.
//
// Files (store_journal.h): <state-dir>/journal, checksummed records each
// holding the new content of the names a change touched, appended and
// fdatasync'd; <state-dir>/snapshot, written atomically every
// compact_after records (or compact_after_bytes), after which the journal
// is cut. Compaction runs on the committer without the writers' mutex:
// writers are never blocked by it; updates that arrive meanwhile are
// queued and acknowledged once it is done. The snapshot has no size bound. On load a torn
// last record is dropped (it was never acknowledged) and expired values
// are left out. Both files are created 0600, the directory 0700.
//
// Limits (one function, check_limits in challenge_store.cpp): a change that
// would put more than max_values_per_name unexpired values at a name, more
// than max_values_per_zone values in one quota zone (zone_of: the
// configured `zone` or `challenge-zone` a name falls in, so a key that
// floods one zone with distinct names cannot take the room of the others),
// or more than max_values in the store, is REFUSED as a whole with a detail
// naming the limit. Deleting is always allowed.
//
// Threads: snapshot() from any thread, never blocks. apply(), apply_async()
// and purge_expired() from any thread; they serialize among themselves. A
// store with a state directory runs one thread of its own, the committer,
// which writes and fsyncs the journal and runs apply_async()'s callbacks.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/dns_name.h"
#include "plugin/challenge_table.h"
#include "plugin/published.h"

namespace acmezone::plugin {

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
    std::size_t max_values = 100000;
    std::size_t max_values_per_zone = 10000;
    // The zone whose quota a name counts against (ZoneClaims::quota_zone_of);
    // empty, or nullopt for a name: no per-zone quota for it.
    std::function<std::optional<DnsName>(const DnsName&)> zone_of;
    std::size_t compact_after = 10000;            // journal records before a snapshot is written
    std::size_t compact_after_bytes = 16u << 20;  // ... or journal octets
};

// The snapshot readers see: one writer replaces it, any thread copies it.
using PublishedSnapshot = Published<Snapshot>;

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

    // The same without waiting for the disk. Returns the result at once when
    // it needs no journal write (a failed prerequisite, a limit, no change, a
    // memory-only store); otherwise returns nullopt and `done` gets the result
    // (NOERROR, or SERVFAIL when the write could not be made durable) exactly
    // once, on the committer thread, after the change is durable and published
    // and with no lock of the store held (it may call snapshot(), not apply()).
    // `done` must not throw.
    using ApplyDone = std::function<void(UpdateResult)>;
    std::optional<UpdateResult> apply_async(const std::vector<Prerequisite>& prerequisites,
                                            const std::vector<Change>& changes, ApplyDone done,
                                            Clock::time_point now = Clock::now());

    // Drops expired values and publishes the result if anything expired.
    void purge_expired(Clock::time_point now = Clock::now());

    const StoreOptions& options() const { return options_; }

  private:
    struct Writer;  // the writers' mutex, journal file and group-commit state
    // Queues `next` (built from the writers' latest state, touching `touched`,
    // changing the content of `changed`) to be made durable and published;
    // `lock` holds the writers' mutex. A memory-only store publishes at once
    // and returns the result; otherwise `done` gets it (see apply_async).
    std::optional<UpdateResult> commit(std::unique_lock<std::mutex>& lock,
                                       std::shared_ptr<Snapshot> next,
                                       const std::vector<DnsName>& touched,
                                       std::vector<DnsName> changed, ApplyDone done);
    // The same, waiting for the result (releases `lock` while it waits).
    UpdateResult commit(std::unique_lock<std::mutex>& lock, std::shared_ptr<Snapshot> next,
                        const std::vector<DnsName>& touched, std::vector<DnsName> changed);
    void run_committer();
    // Writes the snapshot file and cuts the journal; on the committer (no
    // append in flight), with `lock` (the writers' mutex) held on entry and
    // exit but released while it writes; null before the committer starts.
    void compact(std::unique_lock<std::mutex>* lock);

    StoreOptions options_;
    PublishedSnapshot current_;
    std::unique_ptr<Writer> writer_;
};

}  // namespace acmezone::plugin
