// The challenge table: see challenge_table.h for the model and the layout.
#include "plugin/challenge_table.h"

#include <algorithm>
#include <limits>
#include <new>
#include <stdexcept>
#include <tuple>
#include <utility>

namespace acmezone::plugin {

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

// The one bucket walker: calls f(bucket) for every bucket of `pages` whose
// earliest expiry is at or before `due_by` (kNever: every bucket), skipping
// whole pages whose earliest expiry says they hold none.
template <class P, class F>
void for_each_bucket(const std::array<std::shared_ptr<const P>, Snapshot::kPages>& pages, F&& f,
                     std::int64_t due_by = kNever) {
    for (const auto& page : pages) {
        if (!page || page->earliest > due_by) {
            continue;
        }
        for (const auto& bucket : page->buckets) {
            if (bucket && bucket->earliest <= due_by) {
                f(*bucket);
            }
        }
    }
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
    for_each_bucket(names_, [&](const NamePage::Bucket& bucket) {
        for (const NameEntry& e : bucket.entries) {
            f(name_of(e.key()), decode_values(*e.block));
        }
    });
}

void Snapshot::for_each_encoded(
    const std::function<void(std::string_view, std::uint32_t, std::string_view)>& f) const {
    for_each_bucket(names_, [&](const NamePage::Bucket& bucket) {
        for (const NameEntry& e : bucket.entries) {
            f(e.key(), e.block->count(), e.block->values());
        }
    });
}

std::vector<DnsName> Snapshot::expired_names(Clock::time_point now,
                                             std::size_t* buckets_read) const {
    const std::int64_t t = now.time_since_epoch().count();
    std::vector<DnsName> out;
    for_each_bucket(
        names_,
        [&](const NamePage::Bucket& bucket) {
            if (buckets_read) {
                ++*buckets_read;
            }
            for (const NameEntry& e : bucket.entries) {
                if (e.earliest() <= t) {
                    out.push_back(name_of(e.key()));
                }
            }
        },
        t);
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

}  // namespace acmezone::plugin
