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
// is cut. On load a torn
// last record is dropped (it was never acknowledged) and expired values
// are left out. Both files are created 0600, the directory 0700.
//
// Limits: a change that would put more than max_values_per_name unexpired
// values at a name, or more than max_values in the store, is REFUSED as a
// whole with a detail naming the limit. Deleting is always allowed.
//
// Threads: snapshot() from any thread, never blocks. apply(), apply_async()
// and purge_expired() from any thread; they serialize among themselves. A
// store with a state directory runs one thread of its own, the committer,
// which writes and fsyncs the journal and runs apply_async()'s callbacks.
#pragma once

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
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

// A published table: immutable, shared by every reader that loaded it.
//
// Layout (structural sharing). Names are spread by hash over kBuckets
// buckets, grouped in kPages pages of kBucketsPerPage; a snapshot holds its
// pages by shared_ptr, a page its buckets. Building the next table copies
// the page array (kPages pointers), then for each name it sets, the one page
// and the one bucket the name hashes to: everything else is shared with the
// table it was built from. So a change costs O(names in one bucket), not
// O(names in the store), and only the touched buckets take new memory.
//
// A name and its values are one immutable, reference-counted allocation in
// the journal's encoding of a name (store_journal.h: name text, value count,
// per value its expiry and TXT strings), expiries in clock ticks, after a
// header with the name's hash; a bucket entry is a pointer to it, so
// copying a bucket copies pointers, not values. A name of 37 octets with
// one 43-octet value takes 107 octets, plus 8 for the entry and 24 for its
// parent's entry in the non-terminal table.
//
// Empty non-terminals: for every proper ancestor of a name with values, a
// second table of the same layout counts the names with values below it.
// An entry (hash, count, pointer, offset) takes no allocation of its own:
// its text is the tail of the block of a name below it (a small block of
// its own only once that name is gone and others below remain). Keys are
// compared in full: no hash collision can turn an NXDOMAIN into NODATA.
//
// Expiry: each bucket and page carries the earliest expiry of what it
// holds, so finding what expired reads kPages times and descends only
// where something did.
//
// A bucket is a vector of entries sorted by (hash, name): a look-up is one
// hash, two pointer loads and a binary search of a few entries (one more
// load each).
//
// Threads: the const members from any thread. set() only on a table that
// no other thread can see yet (the store's writers build one under their
// mutex, then publish it); it edits in place the pages and buckets that
// only this table holds (use_count() == 1) and copies the shared ones.
class Snapshot {
  public:
    static constexpr std::size_t kPages = 64;
    static constexpr std::size_t kBucketsPerPage = 64;
    static constexpr std::size_t kBuckets = kPages * kBucketsPerPage;

    std::uint32_t serial = 1;

    // Every value at `owner`, expired or not; null when it holds none.
    std::unique_ptr<const std::vector<TxtValue>> find(const DnsName& owner) const;
    // Unexpired values at `owner` (empty when none).
    std::vector<TxtValue> values_at(const DnsName& owner, Clock::time_point now) const;
    // True when some name with values lies strictly below `name`.
    bool has_descendants(const DnsName& name) const;

    std::size_t size() const { return name_count_; }          // names holding values
    std::size_t value_count() const { return value_count_; }  // expired or not
    // Names that have a name with values strictly below them.
    std::size_t ancestor_count() const { return ancestor_count_; }
    // The earliest expiry of any value (Clock::time_point::max() when empty).
    Clock::time_point earliest_expiry() const;

    // Calls f(name, values) for every name holding values, in no particular
    // order (each name's values decoded for the call).
    void for_each(const std::function<void(const DnsName&, const std::vector<TxtValue>&)>& f) const;
    // Calls f(name text, value count, values) for every name holding values:
    // the values in the store's encoding (store_journal.h), expiries as
    // clock ticks (big-endian i64). For writing the snapshot file.
    void for_each_encoded(
        const std::function<void(std::string_view, std::uint32_t, std::string_view)>& f) const;
    // Names holding a value that expires at or before `now`; reads only the
    // pages and buckets whose earliest expiry says they hold one. With
    // `buckets_read`, adds how many buckets it read (for tests).
    std::vector<DnsName> expired_names(Clock::time_point now,
                                       std::size_t* buckets_read = nullptr) const;
    // Calls f(const DnsName&) for every name whose values differ between
    // `before` and `after`; buckets the two share are skipped unread.
    static void for_each_difference(const Snapshot& before, const Snapshot& after,
                                    const std::function<void(const DnsName&)>& f);

    // The bucket that holds (or would hold) `name`: equal addresses in two
    // snapshots mean shared storage. For tests of the sharing.
    const void* bucket_address(const DnsName& name) const;

    // Sets the values at `name` (empty: removes it), keeping the counts and
    // the ancestors. Only on an unpublished table (see Threads above).
    void set(const DnsName& name, const std::vector<TxtValue>& values);

  private:
    struct NamePage;      // challenge_store.cpp
    struct AncestorPage;  // challenge_store.cpp
    std::array<std::shared_ptr<const NamePage>, kPages> names_;
    std::array<std::shared_ptr<const AncestorPage>, kPages> ancestors_;
    std::size_t name_count_ = 0;
    std::size_t ancestor_count_ = 0;
    std::size_t value_count_ = 0;
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
    void compact();  // called with the writers' mutex held, no append in flight

    StoreOptions options_;
    std::atomic<std::shared_ptr<const Snapshot>> current_;
    std::unique_ptr<Writer> writer_;
};

}  // namespace acmezone::plugin
