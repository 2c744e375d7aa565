// The challenge store: see challenge_store.h for the model, store_journal.h
// for the files.
//
// Writers. One mutex (Writer::mu) serializes every writer. A writer builds
// the next table from `tentative` — the newest accepted state, which may be
// ahead of the published one by the updates waiting for their fsync — as a
// copy that shares every bucket it does not touch (see Snapshot), so a
// failed prerequisite or limit leaves nothing behind. It then appends its
// journal record, with its callback, to the open batch, wakes the committer
// and returns (apply() then waits for its callback).
//
// Group commit. One thread, the committer, takes the whole open batch,
// releases the mutex, writes and fdatasync()s it in one go, retakes the
// mutex, publishes the batch's last table, and then, without the mutex,
// runs the batch's callbacks (the control socket answers its UPDATEs
// there). Writers that arrived meanwhile filled the next batch, which it
// takes next. So a batch holds every update that arrived during the
// previous fsync, however many threads sent them: no writer thread waits
// for the disk. If an append fails, its batch gets SERVFAIL, and so does
// the batch that queued behind it (it was computed on top of the failed
// one); `tentative` falls back to the published table: nothing changed in
// memory or on disk. The destructor lets the committer finish every batch
// queued (every callback runs) before it joins it.
//
// Serial. next = max(previous + 1, Unix time in seconds): strictly
// increasing, and after a restart still above what secondaries saw, since
// the first thing a store opening a state directory does is journal a
// fresh serial.
#include "plugin/challenge_store.h"

#include <algorithm>
#include <condition_variable>
#include <future>
#include <limits>
#include <new>
#include <optional>
#include <set>
#include <stdexcept>
#include <system_error>
#include <thread>
#include <tuple>
#include <utility>

#include "common/dns_rcode.h"
#include "common/file_io.h"
#include "common/log.h"
#include "plugin/store_journal.h"

namespace acmezone::plugin {

namespace sj = store_journal;

namespace {

std::uint32_t next_serial(std::uint32_t previous, Clock::time_point now) {
    auto secs = std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
    auto by_time = static_cast<std::uint32_t>(secs > 0 ? secs : 0);
    return std::max<std::uint32_t>(previous + 1, by_time);
}

Clock::time_point expiry_for(Clock::time_point now, std::chrono::seconds lifetime) {
    // Whole microseconds, as the journal stores them: a reloaded store
    // compares equal to the one that wrote it.
    return Clock::time_point(std::chrono::duration_cast<Clock::duration>(
        std::chrono::floor<std::chrono::microseconds>((now + lifetime).time_since_epoch())));
}

std::vector<TxtValue> live_values(const Snapshot& s, const DnsName& name, Clock::time_point now) {
    return s.values_at(name, now);
}

std::set<TxtData> data_set(const std::vector<TxtValue>& values) {
    std::set<TxtData> out;
    for (const auto& v : values) {
        out.insert(v.data);
    }
    return out;
}

bool same_values(const std::vector<TxtValue>& a, const std::vector<TxtValue>& b) {
    return std::equal(a.begin(), a.end(), b.begin(), b.end(),
                      [](const TxtValue& x, const TxtValue& y) {
                          return x.data == y.data && x.expires == y.expires;
                      });
}

std::optional<std::string> check_txt(const TxtData& data) {
    if (data.empty()) {
        return "a TXT record needs at least one character-string";
    }
    std::size_t rdlength = 0;
    for (const auto& s : data) {
        if (s.size() > 255) {
            return "a TXT character-string is longer than 255 octets";
        }
        rdlength += s.size() + 1;
    }
    if (rdlength > 65535 || data.size() > 255) {
        return "the TXT record is larger than the store keeps (255 strings, 65535 octets)";
    }
    return std::nullopt;
}

UpdateResult failure(std::uint8_t rcode, std::string detail, std::uint32_t serial) {
    UpdateResult r;
    r.rcode = rcode;
    r.detail = std::move(detail);
    r.serial = serial;
    return r;
}

}  // namespace

// ---- Snapshot ----------------------------------------------------------------

namespace {

constexpr std::int64_t kNever = std::numeric_limits<std::int64_t>::max();

// An immutable allocation shared by the tables that hold it; `refs` counts
// its holders (a Ref each).
template <class T>
class Ref {
  public:
    Ref() = default;
    explicit Ref(T* adopted) : p_(adopted) {}
    Ref(const Ref& other) : p_(other.p_) {
        if (p_) {
            p_->refs.fetch_add(1, std::memory_order_relaxed);
        }
    }
    Ref(Ref&& other) noexcept : p_(std::exchange(other.p_, nullptr)) {}
    Ref& operator=(Ref other) noexcept {
        std::swap(p_, other.p_);
        return *this;
    }
    ~Ref() {
        if (p_ && p_->refs.fetch_sub(1, std::memory_order_acq_rel) == 1) {
            p_->~T();
            ::operator delete(p_);
        }
    }
    const T* get() const { return p_; }
    const T* operator->() const { return p_; }
    const T& operator*() const { return *p_; }

  private:
    T* p_ = nullptr;
};

// Allocates a T followed by `extra` octets (returned through *bytes).
template <class T>
T* allocate_block(std::size_t extra, char** bytes) {
    void* memory = ::operator new(sizeof(T) + extra);
    T* block = new (memory) T();
    *bytes = reinterpret_cast<char*>(block + 1);
    return block;
}

std::uint32_t hash_of(std::string_view text) {
    const std::uint64_t h = std::hash<std::string_view>{}(text);
    return static_cast<std::uint32_t>(h ^ (h >> 32));
}

// A name and its values, in the journal's name encoding with expiries as
// clock ticks: u8 name length, name text, u32 value count, per value i64
// expiry, u8 string count, per string u8 length and octets (big-endian).
struct NameBlock {
    std::atomic<std::uint32_t> refs{1};
    std::uint32_t hash = 0;  // of the name (hash_of)
    std::uint32_t size = 0;  // octets that follow
    std::string_view bytes() const { return {reinterpret_cast<const char*>(this + 1), size}; }
    std::string_view name() const {
        return bytes().substr(1, static_cast<std::uint8_t>(bytes()[0]));
    }
    std::uint32_t count() const;
    std::string_view values() const { return bytes().substr(1 + name().size() + 4); }
    std::int64_t earliest() const;  // the earliest expiry, clock ticks (kNever: none)
};

std::uint64_t get_be(std::string_view s, std::size_t pos, std::size_t octets) {
    std::uint64_t v = 0;
    for (std::size_t i = 0; i < octets; ++i) {
        v = (v << 8) | static_cast<std::uint8_t>(s[pos + i]);
    }
    return v;
}
void put_be(char*& out, std::uint64_t v, std::size_t octets) {
    for (std::size_t i = octets; i-- > 0;) {
        *out++ = static_cast<char>((v >> (8 * i)) & 0xff);
    }
}

std::uint32_t NameBlock::count() const {
    return static_cast<std::uint32_t>(get_be(bytes(), 1 + name().size(), 4));
}

// Calls f(expiry ticks, string count, the strings' octets) for every value
// of `values` (NameBlock::values()).
template <class F>
void each_encoded_value(std::string_view values, std::uint32_t count, F&& f) {
    std::size_t pos = 0;
    for (std::uint32_t i = 0; i < count; ++i) {
        const auto ticks = static_cast<std::int64_t>(get_be(values, pos, 8));
        const auto strings = static_cast<std::uint8_t>(values[pos + 8]);
        std::size_t end = pos + 9;
        for (std::uint8_t k = 0; k < strings; ++k) {
            end += 1 + static_cast<std::uint8_t>(values[end]);
        }
        f(ticks, strings, values.substr(pos + 9, end - pos - 9));
        pos = end;
    }
}

std::vector<TxtValue> decode_values(const NameBlock& block, std::int64_t after = -1,
                                    bool filter = false) {
    std::vector<TxtValue> out;
    each_encoded_value(block.values(), block.count(),
                       [&](std::int64_t ticks, std::uint8_t strings, std::string_view octets) {
                           if (filter && ticks <= after) {
                               return;
                           }
                           TxtValue v;
                           v.expires = Clock::time_point(Clock::duration(ticks));
                           std::size_t pos = 0;
                           v.data.reserve(strings);
                           for (std::uint8_t k = 0; k < strings; ++k) {
                               const auto len = static_cast<std::uint8_t>(octets[pos]);
                               v.data.emplace_back(octets.substr(pos + 1, len));
                               pos += 1 + len;
                           }
                           out.push_back(std::move(v));
                       });
    return out;
}

Ref<NameBlock> make_name_block(std::string_view name, const std::vector<TxtValue>& values) {
    if (name.size() > 255) {
        throw std::length_error("store: name longer than 255 octets");
    }
    std::size_t size = 1 + name.size() + 4;
    for (const auto& v : values) {
        if (v.data.size() > 255) {
            throw std::length_error("store: TXT record with more than 255 strings");
        }
        size += 9;
        for (const auto& s : v.data) {
            if (s.size() > 255) {
                throw std::length_error("store: TXT string longer than 255 octets");
            }
            size += 1 + s.size();
        }
    }
    if (size > std::numeric_limits<std::uint32_t>::max()) {
        throw std::length_error("store: values too large");
    }
    char* out = nullptr;
    NameBlock* block = allocate_block<NameBlock>(size, &out);
    block->size = static_cast<std::uint32_t>(size);
    block->hash = hash_of(name);
    put_be(out, name.size(), 1);
    out = std::copy(name.begin(), name.end(), out);
    put_be(out, values.size(), 4);
    for (const auto& v : values) {
        const std::int64_t ticks = v.expires.time_since_epoch().count();
        put_be(out, static_cast<std::uint64_t>(ticks), 8);
        put_be(out, v.data.size(), 1);
        for (const auto& s : v.data) {
            put_be(out, s.size(), 1);
            out = std::copy(s.begin(), s.end(), out);
        }
    }
    return Ref<NameBlock>(block);
}

std::int64_t NameBlock::earliest() const {
    std::int64_t earliest = kNever;
    each_encoded_value(values(), count(), [&](std::int64_t ticks, std::uint8_t, std::string_view) {
        earliest = std::min(earliest, ticks);
    });
    return earliest;
}

// A bucket entry: one pointer (the hash is in the block).
struct NameEntry {
    Ref<NameBlock> block;
    std::uint32_t hash() const { return block->hash; }
    std::string_view key() const { return block->name(); }
    std::int64_t earliest() const { return block->earliest(); }
};

// An ancestor's text is the tail of a name below it: the entry holds that
// name's block (or, once no name below still has the block, a block of its
// own holding just the ancestor's text) and where in it the ancestor starts.
struct AncestorEntry {
    std::uint32_t hash_of_key;
    std::uint32_t count;    // names with values below this one
    Ref<NameBlock> holder;  // a block whose name ends in this one
    std::uint8_t offset;    // where this name starts in the holder's
    std::uint32_t hash() const { return hash_of_key; }
    std::string_view key() const { return holder->name().substr(offset); }
    std::int64_t earliest() const { return kNever; }
};

template <class E>
struct BucketOf {
    std::vector<E> entries;  // sorted by (hash, key)
    std::int64_t earliest = kNever;
};

template <class E>
struct PageOf {
    using Entry = E;
    using Bucket = BucketOf<E>;
    std::array<std::shared_ptr<const Bucket>, Snapshot::kBucketsPerPage> buckets;
    std::int64_t earliest = kNever;
};

template <class P>
const typename P::Bucket* bucket_at(
    const std::array<std::shared_ptr<const P>, Snapshot::kPages>& pages, std::size_t index) {
    const auto& page = pages[index / Snapshot::kBucketsPerPage];
    return page ? page->buckets[index % Snapshot::kBucketsPerPage].get() : nullptr;
}

template <class E>
auto position(std::vector<E>& entries, std::string_view key, std::uint32_t hash) {
    return std::lower_bound(entries.begin(), entries.end(), std::tie(hash, key),
                            [](const E& e, const auto& k) {
                                if (e.hash() != std::get<0>(k)) {
                                    return e.hash() < std::get<0>(k);
                                }
                                return e.key() < std::get<1>(k);
                            });
}

template <class P>
const typename P::Entry* find_entry(
    const std::array<std::shared_ptr<const P>, Snapshot::kPages>& pages, std::string_view key,
    std::uint32_t hash) {
    const auto* bucket = bucket_at(pages, hash % Snapshot::kBuckets);
    if (!bucket) {
        return nullptr;
    }
    auto it = std::lower_bound(bucket->entries.begin(), bucket->entries.end(), hash,
                               [](const auto& e, std::uint32_t h) { return e.hash() < h; });
    for (; it != bucket->entries.end() && it->hash() == hash; ++it) {
        if (it->key() == key) {
            return &*it;
        }
    }
    return nullptr;
}

// The bucket `hash` falls in, made this table's own: a page or bucket whose
// only holder is this (unpublished) table is edited in place, a shared one
// copied first. The acquire fences order the edit after whatever a thread
// that dropped the other reference last did with it.
template <class P>
std::pair<P*, typename P::Bucket*> own_bucket(
    std::array<std::shared_ptr<const P>, Snapshot::kPages>& pages, std::uint32_t hash) {
    using Bucket = typename P::Bucket;
    const std::size_t index = hash % Snapshot::kBuckets;
    auto& page_ptr = pages[index / Snapshot::kBucketsPerPage];
    if (!page_ptr) {
        page_ptr = std::make_shared<P>();
    } else if (page_ptr.use_count() != 1) {
        page_ptr = std::make_shared<P>(*page_ptr);
    }
    std::atomic_thread_fence(std::memory_order_acquire);
    auto& page = const_cast<P&>(*page_ptr);  // made here non-const, held only here
    auto& bucket_ptr = page.buckets[index % Snapshot::kBucketsPerPage];
    if (!bucket_ptr) {
        bucket_ptr = std::make_shared<Bucket>();
    } else if (bucket_ptr.use_count() != 1) {
        // Room for one more entry: copying exactly and then inserting would
        // double the capacity, and a published bucket keeps what it has.
        auto copy = std::make_shared<Bucket>();
        copy->entries.reserve(bucket_ptr->entries.size() + 1);
        copy->entries.assign(bucket_ptr->entries.begin(), bucket_ptr->entries.end());
        copy->earliest = bucket_ptr->earliest;
        bucket_ptr = std::move(copy);
    }
    std::atomic_thread_fence(std::memory_order_acquire);
    return {&page, const_cast<Bucket*>(bucket_ptr.get())};
}

// After an edit of `bucket` in `page`: their earliest expiries again.
template <class P>
void refresh_earliest(P& page, typename P::Bucket& bucket) {
    bucket.earliest = kNever;
    for (const auto& e : bucket.entries) {
        bucket.earliest = std::min(bucket.earliest, e.earliest());
    }
    page.earliest = kNever;
    for (const auto& b : page.buckets) {
        if (b) {
            page.earliest = std::min(page.earliest, b->earliest);
        }
    }
}

DnsName name_of(std::string_view stored) {
    return DnsName::parse(stored);  // valid: it was a DnsName's text
}

}  // namespace

struct Snapshot::NamePage : PageOf<NameEntry> {};
struct Snapshot::AncestorPage : PageOf<AncestorEntry> {};

std::unique_ptr<const std::vector<TxtValue>> Snapshot::find(const DnsName& owner) const {
    const NameEntry* e = find_entry(names_, owner.text(), hash_of(owner.text()));
    if (!e) {
        return nullptr;
    }
    return std::make_unique<const std::vector<TxtValue>>(decode_values(*e->block));
}

std::vector<TxtValue> Snapshot::values_at(const DnsName& owner, Clock::time_point now) const {
    const NameEntry* e = find_entry(names_, owner.text(), hash_of(owner.text()));
    if (!e) {
        return {};
    }
    return decode_values(*e->block, now.time_since_epoch().count(), true);
}

bool Snapshot::has_descendants(const DnsName& name) const {
    return find_entry(ancestors_, name.text(), hash_of(name.text())) != nullptr;
}

Clock::time_point Snapshot::earliest_expiry() const {
    std::int64_t earliest = kNever;
    for (const auto& page : names_) {
        if (page) {
            earliest = std::min(earliest, page->earliest);
        }
    }
    return Clock::time_point(Clock::duration(earliest));
}

const void* Snapshot::bucket_address(const DnsName& name) const {
    return bucket_at(names_, hash_of(name.text()) % kBuckets);
}

void Snapshot::for_each(
    const std::function<void(const DnsName&, const std::vector<TxtValue>&)>& f) const {
    for (const auto& page : names_) {
        if (!page) {
            continue;
        }
        for (const auto& bucket : page->buckets) {
            if (bucket) {
                for (const NameEntry& e : bucket->entries) {
                    f(name_of(e.key()), decode_values(*e.block));
                }
            }
        }
    }
}

void Snapshot::for_each_encoded(
    const std::function<void(std::string_view, std::uint32_t, std::string_view)>& f) const {
    for (const auto& page : names_) {
        if (!page) {
            continue;
        }
        for (const auto& bucket : page->buckets) {
            if (bucket) {
                for (const NameEntry& e : bucket->entries) {
                    f(e.key(), e.block->count(), e.block->values());
                }
            }
        }
    }
}

std::vector<DnsName> Snapshot::expired_names(Clock::time_point now,
                                             std::size_t* buckets_read) const {
    const std::int64_t t = now.time_since_epoch().count();
    std::vector<DnsName> out;
    for (const auto& page : names_) {
        if (!page || page->earliest > t) {
            continue;
        }
        for (const auto& bucket : page->buckets) {
            if (!bucket || bucket->earliest > t) {
                continue;
            }
            if (buckets_read) {
                ++*buckets_read;
            }
            for (const NameEntry& e : bucket->entries) {
                if (e.earliest() <= t) {
                    out.push_back(name_of(e.key()));
                }
            }
        }
    }
    return out;
}

void Snapshot::for_each_difference(const Snapshot& before, const Snapshot& after,
                                   const std::function<void(const DnsName&)>& f) {
    for (std::size_t i = 0; i < kBuckets; ++i) {
        const auto* a = bucket_at(before.names_, i);
        const auto* b = bucket_at(after.names_, i);
        if (a == b) {
            continue;
        }
        auto differs = [&](const auto* from, const auto* to, bool both_ways) {
            if (!from) {
                return;
            }
            for (const NameEntry& e : from->entries) {
                const NameEntry* other = nullptr;
                if (to) {
                    auto it = std::find_if(to->entries.begin(), to->entries.end(),
                                           [&](const NameEntry& x) { return x.key() == e.key(); });
                    other = it == to->entries.end() ? nullptr : &*it;
                }
                // The encoding holds every value's strings and expiry.
                if (!other || (both_ways && other->block.get() != e.block.get() &&
                               other->block->bytes() != e.block->bytes())) {
                    f(name_of(e.key()));
                }
            }
        };
        differs(a, b, true);   // gone or changed
        differs(b, a, false);  // new
    }
}

void Snapshot::set(const DnsName& name, const std::vector<TxtValue>& values) {
    const std::string_view key = name.text();
    const std::uint32_t hash = hash_of(key);
    const NameEntry* old = find_entry(names_, key, hash);
    const std::size_t old_count = old ? old->block->count() : 0;
    if (values.empty() && !old) {
        return;
    }
    Ref<NameBlock> block;
    if (!values.empty()) {
        block = make_name_block(key, values);  // first: a throw leaves the table as it was
    }
    const Ref<NameBlock> old_block = old ? old->block : Ref<NameBlock>();  // alive to the end
    const Ref<NameBlock> new_block = block;
    auto [page, bucket] = own_bucket(names_, hash);
    auto it = position(bucket->entries, key, hash);
    const bool found = it != bucket->entries.end() && it->hash() == hash && it->key() == key;
    if (values.empty()) {
        bucket->entries.erase(it);
        --name_count_;
    } else if (found) {
        it->block = std::move(block);
    } else {
        bucket->entries.insert(it, NameEntry{std::move(block)});
        ++name_count_;
    }
    refresh_earliest(*page, *bucket);
    value_count_ = value_count_ - old_count + values.size();

    // The ancestors: counted when a name comes or goes; an entry whose text
    // lives in the old block moves to the new one, or (the name gone) to a
    // block of its own, so no table keeps a replaced block alive.
    for (auto p = name.parent(); p; p = p->parent()) {
        const std::string_view pk = p->text();
        const std::uint32_t h = hash_of(pk);
        if (!found) {  // a new name
            auto [apage, abucket] = own_bucket(ancestors_, h);
            auto at = position(abucket->entries, pk, h);
            if (at != abucket->entries.end() && at->hash() == h && at->key() == pk) {
                ++at->count;
            } else {
                const auto offset = static_cast<std::uint8_t>(key.size() - pk.size());
                abucket->entries.insert(at, AncestorEntry{h, 1, new_block, offset});
                ++ancestor_count_;
            }
            continue;
        }
        const AncestorEntry* e = find_entry(ancestors_, pk, h);
        if (!e) {
            continue;  // cannot happen: every ancestor of a name is counted
        }
        const bool holds_old = e->holder.get() == old_block.get();
        if (!values.empty() && !holds_old) {
            continue;  // values replaced, this entry not in their block: unchanged
        }
        auto [apage, abucket] = own_bucket(ancestors_, h);
        auto at = position(abucket->entries, pk, h);
        if (!values.empty()) {
            at->holder = new_block;  // the same name: the same offset
        } else if (at->count == 1) {
            abucket->entries.erase(at);
            --ancestor_count_;
        } else {
            --at->count;
            if (holds_old) {
                at->holder = make_name_block(pk, {});
                at->offset = 0;
            }
        }
    }
}

struct ChallengeStore::Writer {
    struct Waiting {
        UpdateResult result;  // what the writer gets once its record is durable
        ApplyDone done;
    };
    struct Batch {
        std::string bytes;
        std::size_t records = 0;
        std::shared_ptr<const Snapshot> last;
        std::vector<Waiting> waiting;
    };

    std::mutex mu;
    std::condition_variable work;               // the committer: a batch is open, or stop
    std::shared_ptr<const Snapshot> tentative;  // newest accepted state
    Batch open;                                 // records waiting for an append
    bool stopping = false;                      // the destructor runs: drain, then return
    std::thread committer;                      // with a journal only
    std::unique_ptr<sj::JournalFile> journal;   // null: memory only
    std::size_t journal_records = 0;
    std::size_t compact_at = 0;        // journal records that trigger compaction
    std::size_t compact_bytes_at = 0;  // journal size that triggers compaction

    bool compaction_due() const {
        return journal && (journal_records >= compact_at || journal->size() >= compact_bytes_at);
    }
    void back_off(const StoreOptions& o) {
        compact_at = journal_records + std::max<std::size_t>(o.compact_after, 1);
        compact_bytes_at = journal->size() + std::max<std::size_t>(o.compact_after_bytes, 1);
    }
};

ChallengeStore::ChallengeStore(StoreOptions options)
    : options_(std::move(options)), writer_(std::make_unique<Writer>()) {
    auto state = std::make_shared<Snapshot>();
    Writer& w = *writer_;
    w.compact_at = std::max<std::size_t>(options_.compact_after, 1);
    w.compact_bytes_at = std::max<std::size_t>(options_.compact_after_bytes, 1);
    if (!options_.state_dir.empty()) {
        const auto& dir = options_.state_dir;
        ensure_directory(dir, 0700);
        auto snap_path = dir / "snapshot";
        if (std::filesystem::exists(snap_path)) {
            state->serial = sj::load_snapshot_file(
                snap_path, [&state](sj::NameState&& ns) { state->set(ns.name, ns.values); });
        }
        std::string existing;
        w.journal = std::make_unique<sj::JournalFile>(dir / "journal", &existing);
        sj::Decoded d = sj::decode_frames_each(existing, [&state](sj::Record&& r) {
            if (r.serial <= state->serial) {
                return;  // already in the snapshot (compaction cut short)
            }
            for (const auto& ns : r.names) {
                state->set(ns.name, ns.values);
            }
            state->serial = r.serial;
        });
        w.journal_records = d.record_count;
        if (!d.torn.empty()) {
            log_warning("acmezone: ", w.journal->path().string(), ": dropping ",
                        existing.size() - d.good_bytes, " octets after offset ", d.good_bytes, " (",
                        d.torn, "): the last write was cut short before it was acknowledged");
            std::string error;
            if (!w.journal->truncate(d.good_bytes, &error)) {
                throw std::runtime_error(error);
            }
        }
    }
    // Expired values are dropped without a record: their times say so.
    Clock::time_point now = Clock::now();
    const std::vector<DnsName> expired = state->expired_names(now);
    for (const auto& name : expired) {
        state->set(name, live_values(*state, name, now));
    }
    state->serial = next_serial(state->serial, now);
    if (w.journal) {
        std::string error;
        // A full state disk must not keep named from starting: what the store
        // holds is served, and updates get SERVFAIL until there is room. The
        // serial is still new, as next_serial() takes the clock into account.
        if (w.journal->append_durable(sj::encode_frame({state->serial, {}}), &error)) {
            ++w.journal_records;
        } else {
            log_warning("acmezone: cannot record the new serial (", error,
                        "); serving the stored values, updates fail until the state disk has "
                        "room");
        }
    }
    current_.store(state);
    w.tentative = state;
    if (w.compaction_due()) {
        compact();
    }
    if (w.journal) {
        w.committer = std::thread([this] { run_committer(); });
    }
}

ChallengeStore::~ChallengeStore() {
    Writer& w = *writer_;
    {
        std::lock_guard lock(w.mu);
        w.stopping = true;
    }
    w.work.notify_all();
    if (w.committer.joinable()) {
        w.committer.join();
    }
}

void ChallengeStore::compact() {
    Writer& w = *writer_;
    auto snap = current_.load();
    auto path = options_.state_dir / "snapshot";
    try {
        sj::write_snapshot_file(path, *snap);
    } catch (const std::exception& e) {
        log_warning("acmezone: cannot write ", path.string(), " (", e.what(),
                    "); the journal keeps growing until it can");
        w.back_off(options_);
        return;
    }
    std::string error;
    if (!w.journal->truncate(0, &error)) {
        log_warning("acmezone: ", error, "; the journal keeps growing until it can be cut");
        w.back_off(options_);
        return;
    }
    w.journal_records = 0;
    w.compact_at = std::max<std::size_t>(options_.compact_after, 1);
    w.compact_bytes_at = std::max<std::size_t>(options_.compact_after_bytes, 1);
    log_debug("acmezone: compacted the journal into ", path.string(), " at serial ", snap->serial);
}

std::optional<UpdateResult> ChallengeStore::commit(std::unique_lock<std::mutex>& lock,
                                                   std::shared_ptr<Snapshot> next,
                                                   const std::vector<DnsName>& touched,
                                                   std::vector<DnsName> changed, ApplyDone done) {
    Writer& w = *writer_;
    UpdateResult result;
    result.serial = next->serial;
    result.changed = std::move(changed);
    std::shared_ptr<const Snapshot> published = next;
    if (!w.journal) {
        w.tentative = published;
        current_.store(published);
        return result;
    }
    sj::Record record;
    record.serial = next->serial;
    for (const auto& name : touched) {
        auto values = next->find(name);
        record.names.push_back({name, values ? *values : std::vector<TxtValue>{}});
    }
    const std::string frame = sj::encode_frame(record);
    // Nothing is queued unless both the record and its callback are.
    w.open.waiting.push_back({std::move(result), std::move(done)});
    try {
        w.open.bytes += frame;
    } catch (...) {
        w.open.waiting.pop_back();
        throw;
    }
    ++w.open.records;
    w.open.last = published;
    w.tentative = published;
    lock.unlock();
    w.work.notify_one();
    return std::nullopt;
}

UpdateResult ChallengeStore::commit(std::unique_lock<std::mutex>& lock,
                                    std::shared_ptr<Snapshot> next,
                                    const std::vector<DnsName>& touched,
                                    std::vector<DnsName> changed) {
    auto promise = std::make_shared<std::promise<UpdateResult>>();
    auto future = promise->get_future();
    auto at_once = commit(lock, std::move(next), touched, std::move(changed),
                          [promise](UpdateResult r) { promise->set_value(std::move(r)); });
    if (at_once) {
        return std::move(*at_once);
    }
    if (lock.owns_lock()) {
        lock.unlock();
    }
    return future.get();
}

void ChallengeStore::run_committer() {
    Writer& w = *writer_;
    std::unique_lock lock(w.mu);
    for (;;) {  // bounded by the destructor: it returns once stopping with nothing queued
        w.work.wait(lock, [&w] { return w.open.records > 0 || w.stopping; });
        if (w.open.records == 0) {
            return;
        }
        Writer::Batch batch = std::exchange(w.open, Writer::Batch{});
        lock.unlock();
        std::string error;
        const bool ok = w.journal->append_durable(batch.bytes, &error);
        lock.lock();
        Writer::Batch behind;  // queued on top of a failed batch: fails too
        if (ok) {
            current_.store(batch.last);
            w.journal_records += batch.records;
            if (w.compaction_due()) {
                compact();
            }
        } else {
            log_error("acmezone: cannot make ", batch.records,
                      " update(s) durable, answering SERVFAIL: ", error);
            behind = std::exchange(w.open, Writer::Batch{});
            w.tentative = current_.load();
        }
        const std::uint32_t serial = current_.load()->serial;
        lock.unlock();
        auto finish = [](Writer::Waiting& x, std::optional<UpdateResult> failed) {
            try {
                x.done(failed ? std::move(*failed) : std::move(x.result));
            } catch (const std::exception& e) {
                log_error("acmezone: an update's completion failed: ", e.what());
            }
        };
        for (auto& x : batch.waiting) {
            finish(x, ok ? std::nullopt
                         : std::optional(
                               failure(kRcodeServFail, "journal write failed: " + error, serial)));
        }
        for (auto& x : behind.waiting) {
            finish(x, failure(
                          kRcodeServFail,
                          "journal write failed: an update queued before this one failed: " + error,
                          serial));
        }
        lock.lock();
    }
}

UpdateResult ChallengeStore::apply(const std::vector<Prerequisite>& prerequisites,
                                   const std::vector<Change>& changes, Clock::time_point now) {
    auto promise = std::make_shared<std::promise<UpdateResult>>();
    auto future = promise->get_future();
    auto result = apply_async(
        prerequisites, changes, [promise](UpdateResult r) { promise->set_value(std::move(r)); },
        now);
    return result ? std::move(*result) : future.get();
}

std::optional<UpdateResult> ChallengeStore::apply_async(
    const std::vector<Prerequisite>& prerequisites, const std::vector<Change>& changes,
    ApplyDone done, Clock::time_point now) {
    Writer& w = *writer_;
    std::unique_lock lock(w.mu);
    const std::shared_ptr<const Snapshot> base_owner = w.tentative;  // kept alive past commit()
    const Snapshot& base = *base_owner;

    for (const auto& p : prerequisites) {
        std::vector<TxtValue> live = live_values(base, p.name, now);
        const std::string& n = p.name.text();
        switch (p.kind) {
            case Prerequisite::Kind::name_in_use:
                if (live.empty()) {
                    return failure(kRcodeNxDomain, "prerequisite failed: " + n + " is not in use",
                                   base.serial);
                }
                break;
            case Prerequisite::Kind::name_not_in_use:
                if (!live.empty()) {
                    return failure(kRcodeYxDomain, "prerequisite failed: " + n + " is in use",
                                   base.serial);
                }
                break;
            case Prerequisite::Kind::txt_exists:
                if (live.empty()) {
                    return failure(kRcodeNxRrset, "prerequisite failed: " + n + " has no TXT",
                                   base.serial);
                }
                break;
            case Prerequisite::Kind::txt_not_exists:
                if (!live.empty()) {
                    return failure(kRcodeYxRrset, "prerequisite failed: " + n + " has TXT",
                                   base.serial);
                }
                break;
            case Prerequisite::Kind::txt_equals: {
                std::set<TxtData> want(p.values.begin(), p.values.end());
                if (live.empty() || data_set(live) != want) {
                    return failure(kRcodeNxRrset,
                                   "prerequisite failed: the TXT set at " + n + " differs",
                                   base.serial);
                }
                break;
            }
        }
    }

    // Apply the changes to the touched names only, then check the limits.
    std::vector<DnsName> touched;
    std::unordered_map<DnsName, std::vector<TxtValue>> work;
    const Clock::time_point expires = expiry_for(now, options_.lifetime);
    for (const auto& c : changes) {
        auto it = work.find(c.name);
        if (it == work.end()) {
            it = work.emplace(c.name, live_values(base, c.name, now)).first;
            touched.push_back(c.name);
        }
        auto& values = it->second;
        switch (c.op) {
            case Change::Op::add: {
                if (auto bad = check_txt(c.data)) {
                    return failure(kRcodeFormErr, c.name.text() + ": " + *bad, base.serial);
                }
                auto v = std::find_if(values.begin(), values.end(),
                                      [&](const TxtValue& x) { return x.data == c.data; });
                if (v != values.end()) {
                    v->expires = expires;  // renew
                } else {
                    values.push_back({c.data, expires});
                }
                break;
            }
            case Change::Op::delete_value:
                std::erase_if(values, [&](const TxtValue& x) { return x.data == c.data; });
                break;
            case Change::Op::delete_txt:
            case Change::Op::delete_name:
                values.clear();
                break;
        }
    }

    std::size_t total = base.value_count();
    bool differs = false;
    UpdateResult result;
    for (const auto& name : touched) {
        const auto& values = work.at(name);
        const std::vector<TxtValue> none;
        const auto old = base.find(name);
        const auto& before = old ? *old : none;
        std::size_t live_before = live_values(base, name, now).size();
        if (values.size() > live_before && values.size() > options_.max_values_per_name) {
            return failure(kRcodeRefused,
                           name.text() + " would hold " + std::to_string(values.size()) +
                               " TXT values (max-values-per-name is " +
                               std::to_string(options_.max_values_per_name) + ")",
                           base.serial);
        }
        total = total - before.size() + values.size();
        if (!same_values(before, values)) {
            differs = true;
        }
        std::vector<TxtValue> live_old = live_values(base, name, now);
        if (data_set(live_old) != data_set(values)) {
            result.changed.push_back(name);
        }
    }
    if (total > base.value_count() && total > options_.max_values) {
        return failure(kRcodeRefused,
                       "the store would hold " + std::to_string(total) +
                           " TXT values (max-values is " + std::to_string(options_.max_values) +
                           ")",
                       base.serial);
    }
    if (!differs) {
        result.serial = base.serial;
        return result;  // nothing to do: NOERROR, nothing journaled
    }

    auto next = std::make_shared<Snapshot>(base);
    for (const auto& name : touched) {
        next->set(name, std::move(work.at(name)));
    }
    next->serial = next_serial(base.serial, now);
    return commit(lock, std::move(next), touched, std::move(result.changed), std::move(done));
}

void ChallengeStore::purge_expired(Clock::time_point now) {
    Writer& w = *writer_;
    auto has_expired = [now](const std::vector<TxtValue>& values) {
        return std::any_of(values.begin(), values.end(),
                           [now](const TxtValue& v) { return v.expires <= now; });
    };
    // The search runs without the writers' mutex, on a table that cannot
    // change, and reads only the pages and buckets whose earliest expiry has
    // passed (usually none); only the names it found are looked at again, under the
    // mutex, in the newest table (a writer may have renewed or removed them
    // meanwhile; what expired in between waits for the next pass).
    std::shared_ptr<const Snapshot> scanned;
    {
        std::lock_guard lock(w.mu);
        scanned = w.tentative;
    }
    std::vector<DnsName> candidates = scanned->expired_names(now);
    scanned.reset();
    if (candidates.empty()) {
        return;
    }
    std::unique_lock lock(w.mu);
    const std::shared_ptr<const Snapshot> base_owner = w.tentative;  // kept alive past commit()
    const Snapshot& base = *base_owner;
    std::vector<DnsName> touched;
    for (auto& name : candidates) {
        const auto values = base.find(name);
        if (values && has_expired(*values)) {
            touched.push_back(std::move(name));
        }
    }
    if (touched.empty()) {
        return;
    }
    auto next = std::make_shared<Snapshot>(base);
    for (const auto& name : touched) {
        next->set(name, live_values(base, name, now));
    }
    next->serial = next_serial(base.serial, now);
    UpdateResult r = commit(lock, std::move(next), touched, {});
    if (r.rcode == kRcodeNoError) {
        log_debug("acmezone: purged expired values at ", touched.size(), " name(s), serial ",
                  r.serial);
    }
}

}  // namespace acmezone::plugin
