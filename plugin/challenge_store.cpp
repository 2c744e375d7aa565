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
#include <optional>
#include <set>
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
    std::vector<TxtValue> out;
    if (const auto* values = s.find(name)) {
        for (const auto& v : *values) {
            if (v.expires > now) {
                out.push_back(v);
            }
        }
    }
    return out;
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

std::size_t hash_of(const DnsName& name) {
    return std::hash<DnsName>{}(name);
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

template <class V>
const V* Snapshot::ShardedMap<V>::find(const DnsName& name, std::size_t hash) const {
    const Bucket* bucket = bucket_at(hash % kBuckets);
    if (!bucket) {
        return nullptr;
    }
    auto it = std::lower_bound(bucket->entries.begin(), bucket->entries.end(), hash,
                               [](const Entry& e, std::size_t h) { return e.hash < h; });
    for (; it != bucket->entries.end() && it->hash == hash; ++it) {
        if (it->name == name) {
            return &it->value;
        }
    }
    return nullptr;
}

template <class V>
const void* Snapshot::ShardedMap<V>::bucket_address(const DnsName& name) const {
    return bucket_at(hash_of(name) % kBuckets);
}

template <class V>
typename Snapshot::ShardedMap<V>::Bucket& Snapshot::ShardedMap<V>::own_bucket(std::size_t hash) {
    // A page or bucket whose only holder is this (unpublished) map is edited
    // in place; the acquire fence orders the edit after whatever a thread
    // that dropped the other reference last did with it.
    auto& page_ptr = pages_[(hash % kBuckets) / kBucketsPerPage];
    if (!page_ptr) {
        page_ptr = std::make_shared<Page>();
    } else if (page_ptr.use_count() != 1) {
        page_ptr = std::make_shared<Page>(*page_ptr);
    }
    std::atomic_thread_fence(std::memory_order_acquire);
    auto& page = const_cast<Page&>(*page_ptr);  // made here non-const, held only here
    auto& bucket_ptr = page.buckets[hash % kBucketsPerPage];
    if (!bucket_ptr) {
        bucket_ptr = std::make_shared<Bucket>();
    } else if (bucket_ptr.use_count() != 1) {
        // Room for one more entry: copying exactly and then inserting would
        // double the capacity, and a published bucket keeps what it has.
        auto copy = std::make_shared<Bucket>();
        copy->entries.reserve(bucket_ptr->entries.size() + 1);
        copy->entries.assign(bucket_ptr->entries.begin(), bucket_ptr->entries.end());
        bucket_ptr = std::move(copy);
    }
    std::atomic_thread_fence(std::memory_order_acquire);
    return const_cast<Bucket&>(*bucket_ptr);
}

template <class V>
V& Snapshot::ShardedMap<V>::edit(const DnsName& name, std::size_t hash) {
    Bucket& bucket = own_bucket(hash);
    auto it = std::lower_bound(
        bucket.entries.begin(), bucket.entries.end(), std::tie(hash, name),
        [](const Entry& e, const auto& key) { return std::tie(e.hash, e.name) < key; });
    if (it == bucket.entries.end() || it->hash != hash || it->name != name) {
        it = bucket.entries.insert(it, Entry{hash, name, V{}});
        ++size_;
    }
    return it->value;
}

template <class V>
void Snapshot::ShardedMap<V>::erase(const DnsName& name, std::size_t hash) {
    if (!find(name, hash)) {
        return;
    }
    Bucket& bucket = own_bucket(hash);
    auto it = std::find_if(bucket.entries.begin(), bucket.entries.end(),
                           [&](const Entry& e) { return e.hash == hash && e.name == name; });
    bucket.entries.erase(it);
    --size_;
    // An emptied bucket stays allocated: it costs a few words, and the next
    // name hashed there reuses it.
}

template class Snapshot::ShardedMap<std::vector<TxtValue>>;
template class Snapshot::ShardedMap<std::uint32_t>;

const std::vector<TxtValue>* Snapshot::find(const DnsName& owner) const {
    return names_.find(owner, hash_of(owner));
}

std::vector<const TxtValue*> Snapshot::values_at(const DnsName& owner,
                                                 Clock::time_point now) const {
    std::vector<const TxtValue*> out;
    if (const auto* values = find(owner)) {
        for (const auto& v : *values) {
            if (v.expires > now) {
                out.push_back(&v);
            }
        }
    }
    return out;
}

bool Snapshot::has_descendants(const DnsName& name) const {
    return descendants_.find(name, hash_of(name)) != nullptr;
}

void Snapshot::set(const DnsName& name, std::vector<TxtValue> values) {
    const std::size_t hash = hash_of(name);
    const std::vector<TxtValue>* old = names_.find(name, hash);
    if (old) {
        value_count_ -= old->size();
    }
    value_count_ += values.size();
    if (values.empty()) {
        if (old) {
            names_.erase(name, hash);
            for (auto p = name.parent(); p; p = p->parent()) {
                const std::size_t h = hash_of(*p);
                const std::uint32_t* count = descendants_.find(*p, h);
                if (count && *count == 1) {
                    descendants_.erase(*p, h);
                } else if (count) {
                    --descendants_.edit(*p, h);
                }
            }
        }
        return;
    }
    names_.edit(name, hash) = std::move(values);
    if (!old) {
        for (auto p = name.parent(); p; p = p->parent()) {
            ++descendants_.edit(*p, hash_of(*p));
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
            state->serial = sj::decode_snapshot_each(
                read_file(snap_path), snap_path.string(),
                [&state](sj::NameState&& ns) { state->set(ns.name, std::move(ns.values)); });
        }
        std::string existing;
        w.journal = std::make_unique<sj::JournalFile>(dir / "journal", &existing);
        sj::Decoded d = sj::decode_frames(existing);
        for (auto& r : d.records) {
            if (r.serial <= state->serial) {
                continue;  // already in the snapshot (compaction cut short)
            }
            for (auto& ns : r.names) {
                state->set(ns.name, std::move(ns.values));
            }
            state->serial = r.serial;
        }
        w.journal_records = d.records.size();
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
    std::vector<DnsName> expired;
    state->for_each([&](const DnsName& name, const std::vector<TxtValue>& values) {
        for (const auto& v : values) {
            if (v.expires <= now) {
                expired.push_back(name);
                break;
            }
        }
    });
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
        write_file_atomic(path, sj::encode_snapshot(*snap), 0600);
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
        const auto* values = next->find(name);
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
        const auto* old = base.find(name);
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
    // The whole-table scan runs without the writers' mutex, on a table that
    // cannot change; only the names it found are looked at again, under the
    // mutex, in the newest table (a writer may have renewed or removed them
    // meanwhile; what expired in between waits for the next pass).
    std::shared_ptr<const Snapshot> scanned;
    {
        std::lock_guard lock(w.mu);
        scanned = w.tentative;
    }
    std::vector<DnsName> candidates;
    scanned->for_each([&](const DnsName& name, const std::vector<TxtValue>& values) {
        if (has_expired(values)) {
            candidates.push_back(name);
        }
    });
    scanned.reset();
    if (candidates.empty()) {
        return;
    }
    std::unique_lock lock(w.mu);
    const std::shared_ptr<const Snapshot> base_owner = w.tentative;  // kept alive past commit()
    const Snapshot& base = *base_owner;
    std::vector<DnsName> touched;
    for (auto& name : candidates) {
        const auto* values = base.find(name);
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
