// The challenge table: TXT values at challenge names, each expiring on its
// own, in an immutable table that readers share without locks.
//
// Model. A value is one TXT record's data (its character-strings) at an
// owner name, with the time it expires. Any number of values may share a
// name: the apex and wildcard authorizations of one order both live at
// _acme-challenge.<zone>. A reader filters out values whose expiry has
// passed, so an expired value is never served even before a purge removes
// it.
//
// Readers (named's threads, via dlz_lookup) hold a published Snapshot by
// shared_ptr and only call its const members; they never wait for a writer.
// A writer (challenge_store.h) copies the published table (cheaply: see
// the layout below), set()s the names a change touches, and publishes the
// copy atomically.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
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
    struct NamePage;      // challenge_table.cpp
    struct AncestorPage;  // challenge_table.cpp
    std::array<std::shared_ptr<const NamePage>, kPages> names_;
    std::array<std::shared_ptr<const AncestorPage>, kPages> ancestors_;
    std::size_t name_count_ = 0;
    std::size_t ancestor_count_ = 0;
    std::size_t value_count_ = 0;
};

}  // namespace acmezone::plugin
