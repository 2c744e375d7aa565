// The challenge store's writer: see challenge_store.h for the model,
// challenge_table.h for the table, store_journal.h for the files.
//
// Rules. apply_async() decides an UPDATE on a Draft of the names it reads
// (each read once from the base table): check_prerequisites(), then
// apply_changes(), then check_limits(), each one function below, called in
// that order; the first failure answers and leaves nothing behind.
//
// Writers. One mutex (Writer::mu) serializes every writer. A writer builds
// the next table from `tentative` — the newest accepted state, which may be
// ahead of the published one by the updates waiting for their fsync — as a
// copy that shares every bucket it does not touch (challenge_table.h), so a
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
#include <cstddef>
#include <future>
#include <iterator>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <unordered_map>
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

// ---- The RFC 2136 rules, on a draft of the names an UPDATE touches ------------

// What one UPDATE does to the names it reads, built on `base` without
// changing it: each name's values read once (stored, and the live ones among
// them) and, for the names the changes touch, the values they will hold.
class Draft {
  public:
    struct Name {
        std::vector<TxtValue> stored;  // in the base table, expired or not
        std::vector<TxtValue> live;    // the unexpired ones
        std::vector<TxtValue> next;    // what the changes leave (touched names)
        bool touched = false;
    };

    Draft(const Snapshot& base, Clock::time_point now) : base_(base), now_(now) {}

    const Snapshot& base() const { return base_; }
    // The name's values in the base table, read on first use.
    const Name& read(const DnsName& name) { return entry(name); }
    // The values the name will hold (its live values until a change edits them).
    std::vector<TxtValue>& next(const DnsName& name) {
        Name& n = entry(name);
        if (!n.touched) {
            n.touched = true;
            n.next = n.live;
            touched_.push_back(name);
        }
        return n.next;
    }
    const Name& at(const DnsName& name) const { return names_.at(name); }
    // The names the changes touch, in the order they first name them.
    const std::vector<DnsName>& touched() const { return touched_; }

  private:
    Name& entry(const DnsName& name) {
        auto [it, fresh] = names_.try_emplace(name);
        if (fresh) {
            if (auto stored = base_.find(name)) {
                it->second.stored = *stored;
            }
            std::copy_if(it->second.stored.begin(), it->second.stored.end(),
                         std::back_inserter(it->second.live),
                         [this](const TxtValue& v) { return v.expires > now_; });
        }
        return it->second;
    }

    const Snapshot& base_;
    Clock::time_point now_;
    std::unordered_map<DnsName, Name> names_;
    std::vector<DnsName> touched_;
};

// RFC 2136 §3.2.5: one prerequisite against the live TXT values at its name.
std::optional<UpdateResult> check_prerequisite(const Prerequisite& p,
                                               const std::vector<TxtValue>& live,
                                               std::uint32_t serial) {
    const std::string& n = p.name.text();
    switch (p.kind) {
        case Prerequisite::Kind::name_in_use:
            if (live.empty()) {
                return failure(kRcodeNxDomain, "prerequisite failed: " + n + " is not in use",
                               serial);
            }
            break;
        case Prerequisite::Kind::name_not_in_use:
            if (!live.empty()) {
                return failure(kRcodeYxDomain, "prerequisite failed: " + n + " is in use", serial);
            }
            break;
        case Prerequisite::Kind::txt_exists:
            if (live.empty()) {
                return failure(kRcodeNxRrset, "prerequisite failed: " + n + " has no TXT", serial);
            }
            break;
        case Prerequisite::Kind::txt_not_exists:
            if (!live.empty()) {
                return failure(kRcodeYxRrset, "prerequisite failed: " + n + " has TXT", serial);
            }
            break;
        case Prerequisite::Kind::txt_equals:
            if (live.empty() ||
                data_set(live) != std::set<TxtData>(p.values.begin(), p.values.end())) {
                return failure(kRcodeNxRrset,
                               "prerequisite failed: the TXT set at " + n + " differs", serial);
            }
            break;
    }
    return std::nullopt;
}

// RFC 2136 §3.2: every prerequisite, in order; the first that fails answers.
std::optional<UpdateResult> check_prerequisites(Draft& draft,
                                                const std::vector<Prerequisite>& prerequisites) {
    for (const auto& p : prerequisites) {
        if (auto failed = check_prerequisite(p, draft.read(p.name).live, draft.base().serial)) {
            return failed;
        }
    }
    return std::nullopt;
}

// RFC 2136 §3.4.2: one change to the values its name will hold; a reason
// when the TXT data is malformed (FORMERR).
std::optional<std::string> apply_change(const Change& c, std::vector<TxtValue>& values,
                                        Clock::time_point expires) {
    switch (c.op) {
        case Change::Op::add: {
            if (auto bad = check_txt(c.data)) {
                return bad;
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
    return std::nullopt;
}

// RFC 2136 §3.4.2: every change, in order, to the touched names only.
std::optional<UpdateResult> apply_changes(Draft& draft, const std::vector<Change>& changes,
                                          Clock::time_point expires) {
    for (const auto& c : changes) {
        if (auto bad = apply_change(c, draft.next(c.name), expires)) {
            return failure(kRcodeFormErr, c.name.text() + ": " + *bad, draft.base().serial);
        }
    }
    return std::nullopt;
}

// Values stored (expired or not, as max_values counts them) per quota zone
// (StoreOptions::zone_of) in the writers' newest table: kept up to date by
// every accepted change and purge, counted afresh from a table on opening
// and after a failed write.
class ZoneCounts {
  public:
    using Deltas = std::unordered_map<DnsName, std::ptrdiff_t>;

    void recount(const Snapshot& table, const StoreOptions& options) {
        counts_.clear();
        if (!options.zone_of) {
            return;
        }
        table.for_each([&](const DnsName& name, const std::vector<TxtValue>& values) {
            if (auto zone = options.zone_of(name)) {
                counts_[*zone] += values.size();
            }
        });
    }
    std::size_t at(const DnsName& zone) const {
        auto it = counts_.find(zone);
        return it == counts_.end() ? 0 : it->second;
    }
    void apply(const Deltas& deltas) {
        for (const auto& [zone, delta] : deltas) {
            auto& n = counts_[zone];
            n = static_cast<std::size_t>(static_cast<std::ptrdiff_t>(n) + delta);
            if (n == 0) {
                counts_.erase(zone);
            }
        }
    }

  private:
    std::unordered_map<DnsName, std::size_t> counts_;
};

// How many values each quota zone gains (or loses) when `stored` becomes
// `next` at each name (sizes(name) gives the two counts).
template <class Names, class Sizes>
ZoneCounts::Deltas zone_deltas(const Names& names, const StoreOptions& options, Sizes sizes) {
    ZoneCounts::Deltas out;
    if (!options.zone_of) {
        return out;
    }
    for (const auto& name : names) {
        const auto [before, after] = sizes(name);
        if (before != after) {
            if (auto zone = options.zone_of(name)) {
                out[*zone] +=
                    static_cast<std::ptrdiff_t>(after) - static_cast<std::ptrdiff_t>(before);
            }
        }
    }
    return out;
}

ZoneCounts::Deltas draft_zone_deltas(const Draft& draft, const StoreOptions& options) {
    return zone_deltas(draft.touched(), options, [&draft](const DnsName& name) {
        const Draft::Name& n = draft.at(name);
        return std::pair(n.stored.size(), n.next.size());
    });
}

// The store's limits, all here: REFUSED when a name would grow past
// max_values_per_name live values, a quota zone past max_values_per_zone
// values, or the store past max_values values. Shrinking is always allowed.
std::optional<UpdateResult> check_limits(const Draft& draft, const StoreOptions& options,
                                         const ZoneCounts& zones,
                                         const ZoneCounts::Deltas& deltas) {
    const Snapshot& base = draft.base();
    for (const auto& [zone, delta] : deltas) {
        const std::size_t now_held = zones.at(zone);
        const auto after = static_cast<std::size_t>(static_cast<std::ptrdiff_t>(now_held) + delta);
        if (delta > 0 && after > options.max_values_per_zone) {
            return failure(kRcodeRefused,
                           "zone " + zone.text() + " would hold " + std::to_string(after) +
                               " TXT values (max-values-per-zone is " +
                               std::to_string(options.max_values_per_zone) + ")",
                           base.serial);
        }
    }
    std::size_t total = base.value_count();
    for (const auto& name : draft.touched()) {
        const Draft::Name& n = draft.at(name);
        if (n.next.size() > n.live.size() && n.next.size() > options.max_values_per_name) {
            return failure(kRcodeRefused,
                           name.text() + " would hold " + std::to_string(n.next.size()) +
                               " TXT values (max-values-per-name is " +
                               std::to_string(options.max_values_per_name) + ")",
                           base.serial);
        }
        total = total - n.stored.size() + n.next.size();
    }
    if (total > base.value_count() && total > options.max_values) {
        return failure(kRcodeRefused,
                       "the store would hold " + std::to_string(total) +
                           " TXT values (max-values is " + std::to_string(options.max_values) + ")",
                       base.serial);
    }
    return std::nullopt;
}

// The touched names whose served TXT set changes (for the answer's log and
// NOTIFY).
std::vector<DnsName> served_changes(const Draft& draft) {
    std::vector<DnsName> out;
    for (const auto& name : draft.touched()) {
        const Draft::Name& n = draft.at(name);
        if (data_set(n.live) != data_set(n.next)) {
            out.push_back(name);
        }
    }
    return out;
}

// True when some touched name's stored values change (else nothing is
// journaled: a renewal moves an expiry, so it does change them).
bool alters_table(const Draft& draft) {
    return std::any_of(draft.touched().begin(), draft.touched().end(), [&](const DnsName& name) {
        const Draft::Name& n = draft.at(name);
        return !same_values(n.stored, n.next);
    });
}

}  // namespace

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
    ZoneCounts zones;                  // per quota zone, in `tentative`

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
    w.zones.recount(*state, options_);
    if (w.compaction_due()) {
        compact(nullptr);  // no other thread yet
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

void ChallengeStore::compact(std::unique_lock<std::mutex>* lock) {
    Writer& w = *writer_;
    auto snap = current_.load();
    auto path = options_.state_dir / "snapshot";
    // Without the writers' mutex: writers keep queueing their records in
    // the open batch meanwhile (they wait for their answers, not for the
    // mutex). Only this thread appends to the journal, so it holds exactly
    // the records up to snap's serial when it is cut.
    if (lock != nullptr) {
        lock->unlock();
    }
    std::string error;
    bool written = true;
    try {
        sj::write_snapshot_file(path, *snap);
    } catch (const std::exception& e) {
        written = false;
        error = e.what();
    }
    const bool cut = written && w.journal->truncate(0, &error);
    if (lock != nullptr) {
        lock->lock();
    }
    if (!written) {
        log_warning("acmezone: cannot write ", path.string(), " (", error,
                    "); the journal keeps growing until it can");
        w.back_off(options_);
        return;
    }
    if (!cut) {
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
                compact(&lock);
            }
        } else {
            log_error("acmezone: cannot make ", batch.records,
                      " update(s) durable, answering SERVFAIL: ", error);
            behind = std::exchange(w.open, Writer::Batch{});
            w.tentative = current_.load();
            w.zones.recount(*w.tentative, options_);
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
    const std::shared_ptr<const Snapshot> base = w.tentative;  // kept alive past commit()
    Draft draft(*base, now);
    if (auto failed = check_prerequisites(draft, prerequisites)) {
        return failed;
    }
    if (auto failed = apply_changes(draft, changes, expiry_for(now, options_.lifetime))) {
        return failed;
    }
    const ZoneCounts::Deltas deltas = draft_zone_deltas(draft, options_);
    if (auto failed = check_limits(draft, options_, w.zones, deltas)) {
        return failed;
    }
    std::vector<DnsName> changed = served_changes(draft);
    if (!alters_table(draft)) {
        UpdateResult result;
        result.serial = base->serial;
        result.changed = std::move(changed);
        return result;  // nothing to do: NOERROR, nothing journaled
    }
    auto next = std::make_shared<Snapshot>(*base);
    for (const auto& name : draft.touched()) {
        next->set(name, draft.at(name).next);
    }
    next->serial = next_serial(base->serial, now);
    w.zones.apply(deltas);  // a failed write counts them afresh
    return commit(lock, std::move(next), draft.touched(), std::move(changed), std::move(done));
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
    w.zones.apply(zone_deltas(touched, options_, [&](const DnsName& name) {
        const auto before = base.find(name);
        const auto after = next->find(name);
        return std::pair(before ? before->size() : 0, after ? after->size() : 0);
    }));
    UpdateResult r = commit(lock, std::move(next), touched, {});
    if (r.rcode == kRcodeNoError) {
        log_debug("acmezone: purged expired values at ", touched.size(), " name(s), serial ",
                  r.serial);
    }
}

}  // namespace acmezone::plugin
