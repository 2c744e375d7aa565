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
// The same layout holds, for every proper ancestor of a name with values,
// how many such names lie below it (empty non-terminals answer NODATA).
//
// A bucket is a vector of entries sorted by (hash, name): a look-up is one
// hash, two pointer loads and a binary search of a few entries.
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
    const std::vector<TxtValue>* find(const DnsName& owner) const;
    // Unexpired values at `owner` (empty when none).
    std::vector<const TxtValue*> values_at(const DnsName& owner, Clock::time_point now) const;
    // True when some name with values lies strictly below `name`.
    bool has_descendants(const DnsName& name) const;

    std::size_t size() const { return names_.size(); }        // names holding values
    std::size_t value_count() const { return value_count_; }  // expired or not
    // Names that have a name with values strictly below them.
    std::size_t ancestor_count() const { return descendants_.size(); }

    // Calls f(const DnsName&, const std::vector<TxtValue>&) for every name
    // holding values, in no particular order.
    template <class F>
    void for_each(F&& f) const {
        names_.for_each(f);
    }
    // Calls f(const DnsName&) for every name whose values differ between
    // `before` and `after`; buckets the two share are skipped unread.
    template <class F>
    static void for_each_difference(const Snapshot& before, const Snapshot& after, F&& f);

    // The bucket that holds (or would hold) `name`: equal addresses in two
    // snapshots mean shared storage. For tests of the sharing.
    const void* bucket_address(const DnsName& name) const { return names_.bucket_address(name); }

    // Sets the values at `name` (empty: removes it), keeping the counts and
    // the ancestors. Only on an unpublished table (see Threads above).
    void set(const DnsName& name, std::vector<TxtValue> values);

  private:
    template <class V>
    class ShardedMap {
      public:
        struct Entry {
            std::size_t hash;
            DnsName name;
            V value;
        };
        struct Bucket {
            std::vector<Entry> entries;  // sorted by (hash, name)
        };
        struct Page {
            std::array<std::shared_ptr<const Bucket>, kBucketsPerPage> buckets;
        };

        const V* find(const DnsName& name, std::size_t hash) const;
        const void* bucket_address(const DnsName& name) const;
        std::size_t size() const { return size_; }
        // The entry for `name`, created with V{} if absent; the page and
        // bucket are copied first unless this map is their only holder.
        V& edit(const DnsName& name, std::size_t hash);
        void erase(const DnsName& name, std::size_t hash);

        template <class F>
        void for_each(F& f) const {
            for (const auto& page : pages_) {
                if (!page) {
                    continue;
                }
                for (const auto& bucket : page->buckets) {
                    if (bucket) {
                        for (const Entry& e : bucket->entries) {
                            f(e.name, e.value);
                        }
                    }
                }
            }
        }
        const Bucket* bucket_at(std::size_t index) const {
            const auto& page = pages_[index / kBucketsPerPage];
            return page ? page->buckets[index % kBucketsPerPage].get() : nullptr;
        }

      private:
        Bucket& own_bucket(std::size_t hash);
        std::array<std::shared_ptr<const Page>, kPages> pages_;
        std::size_t size_ = 0;
    };

    ShardedMap<std::vector<TxtValue>> names_;
    ShardedMap<std::uint32_t> descendants_;
    std::size_t value_count_ = 0;
};

template <class F>
void Snapshot::for_each_difference(const Snapshot& before, const Snapshot& after, F&& f) {
    using Bucket = ShardedMap<std::vector<TxtValue>>::Bucket;
    for (std::size_t i = 0; i < kBuckets; ++i) {
        const Bucket* a = before.names_.bucket_at(i);
        const Bucket* b = after.names_.bucket_at(i);
        if (a == b) {
            continue;
        }
        auto differs = [&](const Bucket* from, const Bucket* to, bool both_ways) {
            if (!from) {
                return;
            }
            for (const auto& e : from->entries) {
                const std::vector<TxtValue>* other = nullptr;
                if (to) {
                    auto it = std::find_if(to->entries.begin(), to->entries.end(),
                                           [&](const auto& x) { return x.name == e.name; });
                    other = it == to->entries.end() ? nullptr : &it->value;
                }
                if (!other || (both_ways &&
                               !std::equal(other->begin(), other->end(), e.value.begin(),
                                           e.value.end(), [](const TxtValue& x, const TxtValue& y) {
                                               return x.data == y.data && x.expires == y.expires;
                                           }))) {
                    f(e.name);
                }
            }
        };
        differs(a, b, true);   // gone or changed
        differs(b, a, false);  // new
    }
}

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
