// See rate_budget.h.
#include "issuer/ca/rate_budget.h"

#include <json/value.h>
#include <json/writer.h>
#include <libpsl.h>

#include <algorithm>
#include <ctime>
#include <map>
#include <memory>
#include <set>
#include <system_error>

#include "common/file_io.h"
#include "common/lock_guarded.h"
#include "common/log.h"
#include "common/utc_time.h"
#include "issuer/json/json_text.h"

namespace acmezone::issuer {
namespace fs = std::filesystem;
using Clock = std::chrono::system_clock;

namespace {

constexpr std::chrono::hours kOrdersWindow{3};
constexpr std::chrono::hours kCertsWindow{24 * 7};
constexpr std::chrono::hours kFailedAuthzWindow{1};
constexpr std::chrono::hours kLongestWindow = kCertsWindow;

std::string bare(const DnsName& n) {
    const std::string& t = n.text();
    return t.rfind("*.", 0) == 0 ? t.substr(2) : t;
}

std::vector<std::string> name_set(const std::vector<DnsName>& names) {
    std::vector<std::string> out;
    for (const DnsName& n : names) {
        out.push_back(n.text());
    }
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
    return out;
}

const char* renewal_name(Renewal r) {
    switch (r) {
        case Renewal::yes:
            return "yes";
        case Renewal::ari:
            return "ari";
        case Renewal::no:
            break;
    }
    return "no";
}

Renewal renewal_from(const std::string& s) {
    return s == "yes" ? Renewal::yes : s == "ari" ? Renewal::ari : Renewal::no;
}

// A sliding-window limit: `times` are the events that count (any order).
// Returns the time when one more event is allowed, or nullopt when it is now.
std::optional<Clock::time_point> window_full(std::vector<Clock::time_point> times, unsigned limit,
                                             Clock::duration window, Clock::time_point now) {
    if (limit == 0) {
        return std::nullopt;
    }
    times.erase(std::remove_if(times.begin(), times.end(),
                               [&](Clock::time_point t) { return t + window <= now; }),
                times.end());
    if (times.size() < limit) {
        return std::nullopt;
    }
    std::sort(times.begin(), times.end());
    // With `limit` - 1 events left in the window, one more may go.
    return times[times.size() - limit] + window;
}

struct Refusal {
    Clock::time_point until;
    std::string why;
};

void add(std::vector<Refusal>& out, std::optional<Clock::time_point> until, std::string why) {
    if (until) {
        out.push_back({*until, std::move(why)});
    }
}

std::string used(std::size_t count, unsigned limit, const char* window) {
    return " (" + std::to_string(count) + " of " + std::to_string(limit) + " used in " + window +
           ")";
}

template <typename Pred>
std::vector<Clock::time_point> times_of(const std::vector<RateBudget::Event>& events,
                                        Clock::duration window, Clock::time_point now, Pred pred) {
    std::vector<Clock::time_point> out;
    for (const RateBudget::Event& e : events) {
        if (e.time + window > now && pred(e)) {
            out.push_back(e.time);
        }
    }
    return out;
}

std::string quoted(const std::string& s) {
    return Json::valueToQuotedString(s.c_str());
}

// The four lists of a ledger, as the file names them.
struct EventList {
    const char* key;
    std::vector<RateBudget::Event> RateBudget::Ledger::*list;
    bool cert;     // has "domain" and "renewal"
    bool refusal;  // has "until" and "detail"
};
constexpr EventList kLists[] = {
    {"orders", &RateBudget::Ledger::orders, false, false},
    {"certificates", &RateBudget::Ledger::certs, true, false},
    {"failed-authorizations", &RateBudget::Ledger::failed_authz, false, false},
    {"ca-refusals", &RateBudget::Ledger::ca_refusals, false, true},
};

// One event as compact JSON text, written straight into `out`.
void append_event(std::string& out, const RateBudget::Event& e, const EventList& kind) {
    out += "{\"time\":";
    out += std::to_string(to_unix_seconds(e.time));
    out += ",\"names\":[";
    for (std::size_t i = 0; i < e.names.size(); ++i) {
        out += (i ? "," : "") + quoted(e.names[i]);
    }
    out += ']';
    if (kind.cert) {
        out +=
            ",\"domain\":" + quoted(e.domain) + ",\"renewal\":\"" + renewal_name(e.renewal) + '"';
    }
    if (kind.refusal) {
        out += ",\"until\":" + std::to_string(to_unix_seconds(e.until)) +
               ",\"detail\":" + quoted(e.detail);
    }
    out += '}';
}

// One CA's section of the file, as JSON text (a ledger of 20,000 events is a
// few MiB: no Json::Value of it is built). `generation` names the journal
// lines it holds (see RateBudget::save()).
std::string section_text(const RateBudget::Ledger& l, Clock::time_point now,
                         std::uint64_t generation) {
    std::string out = "{";
    for (const EventList& kind : kLists) {
        out += quoted(kind.key) + ":[";
        bool first = true;
        for (const RateBudget::Event& e : l.*kind.list) {
            out += first ? "" : ",";
            first = false;
            append_event(out, e, kind);
        }
        out += "],\n";
    }
    out += "\"generation\":" + std::to_string(generation);
    out += ",\n\"written\":" + quoted(format_utc(now)) + "}";
    return out;
}

RateBudget::Event event_from_json(const Json::Value& v) {
    // Every event names what it counts (decide() and remaining() read
    // a failed authorization's one name as names[0]).
    if (!v.isObject() || !v["time"].isInt64() || !v["names"].isArray() || v["names"].empty()) {
        throw std::runtime_error("an event without \"time\" or \"names\"");
    }
    RateBudget::Event e;
    e.time = from_unix_seconds(v["time"].asInt64());
    for (const Json::Value& n : v["names"]) {
        if (!n.isString()) {
            throw std::runtime_error("a name that is not a string");
        }
        e.names.push_back(n.asString());
    }
    if (v["domain"].isString()) {
        e.domain = v["domain"].asString();
    }
    if (v["renewal"].isString()) {
        e.renewal = renewal_from(v["renewal"].asString());
    }
    if (v["until"].isInt64()) {
        e.until = from_unix_seconds(v["until"].asInt64());
    }
    if (v["detail"].isString()) {
        e.detail = v["detail"].asString();
    }
    return e;
}

std::vector<RateBudget::Event> events_from_json(const Json::Value& list) {
    std::vector<RateBudget::Event> out;
    if (list.isArray()) {
        for (const Json::Value& v : list) {
            out.push_back(event_from_json(v));
        }
    }
    return out;
}

const EventList* list_named(const std::string& key) {
    for (const EventList& kind : kLists) {
        if (key == kind.key) {
            return &kind;
        }
    }
    return nullptr;
}

// The journal beside the file: rate-budget.json → rate-budget.journal.
fs::path journal_of(const fs::path& file) {
    fs::path j = file;
    return j.replace_extension(".journal");
}

// The journal's text; nullopt when there is none. Throws std::system_error
// when it cannot be read.
std::optional<std::string> read_journal(const fs::path& journal) {
    try {
        return read_file(journal);
    } catch (const std::system_error& e) {
        if (e.code() == std::errc::no_such_file_or_directory) {
            return std::nullopt;
        }
        throw;
    }
}

// One journal line: an event recorded for `ca_url` after the snapshot of
// generation `generation` was written.
std::string journal_line(const std::string& ca_url, std::uint64_t generation, const EventList& kind,
                         const RateBudget::Event& e) {
    std::string out = "{\"ca\":" + quoted(ca_url) + ",\"g\":" + std::to_string(generation) +
                      ",\"list\":" + quoted(kind.key) + ",\"event\":";
    append_event(out, e, kind);
    out += "}\n";
    return out;
}

struct JournalLine {
    std::string ca;
    std::uint64_t generation = 0;
    const EventList* kind = nullptr;
    Json::Value event;
};

// A line of the journal, or nullopt (with `why`) when it cannot be read.
std::optional<JournalLine> parse_journal_line(std::string_view text, std::string* why) {
    std::optional<Json::Value> v = parse_json(text, why);
    if (!v) {
        return std::nullopt;
    }
    JournalLine line;
    if (!v->isObject() || !(*v)["ca"].isString() || !(*v)["g"].isUInt64() ||
        !(*v)["list"].isString() || !(line.kind = list_named((*v)["list"].asString()))) {
        *why = "not a journal line (\"ca\", \"g\", \"list\", \"event\")";
        return std::nullopt;
    }
    line.ca = (*v)["ca"].asString();
    line.generation = (*v)["g"].asUInt64();
    line.event = (*v)["event"];
    return line;
}

// Calls f(line number, text) for each non-empty line of `text`.
template <typename F>
void for_each_line(std::string_view text, F f) {
    std::size_t number = 0;
    while (!text.empty()) {
        const std::size_t end = text.find('\n');
        const std::string_view line = text.substr(0, end);
        ++number;
        if (!line.empty()) {
            f(number, line);
        }
        text.remove_prefix(end == std::string_view::npos ? text.size() : end + 1);
    }
}

// The rate budget files of this process. Two budgets (the first CA's and
// the fallback's) may write one file, each its own section: the file's
// sections are kept here as text (CA URL → its section's JSON), filled from
// the file when a budget loads it and updated by each write, so a write
// serialises only the writer's own section and never parses the file again
// (it did, every second of a pass: at 20,000 events a few MiB parsed and
// built as Json::Value per write, in whichever thread recorded). Every
// writer of the file in this process comes through here, under one lock
// (budget_files().lock()), and one pass at a time holds the state directory.
class BudgetFiles {
  public:
    // The whole file, or an empty object when it is missing; throws when it
    // is unreadable or not a JSON object. What it read becomes the file's
    // known sections (an unreadable file: none, as it will be replaced).
    Json::Value read(const fs::path& file) {
        std::map<std::string, std::string>& known = sections_[file];
        known.clear();
        std::error_code ec;
        if (!fs::exists(file, ec)) {
            return Json::Value(Json::objectValue);
        }
        std::string why;
        std::optional<Json::Value> parsed = parse_json(read_file(file), &why);
        if (!parsed) {
            throw std::runtime_error("not JSON: " + why);
        }
        Json::Value doc = *std::move(parsed);
        if (!doc.isObject() || (doc.isMember("cas") && !doc["cas"].isObject())) {
            throw std::runtime_error("not a rate budget (no \"cas\" object)");
        }
        Json::StreamWriterBuilder w;
        w["indentation"] = "";
        for (const std::string& url : doc["cas"].getMemberNames()) {
            known[url] = Json::writeString(w, doc["cas"][url]);
        }
        return doc;
    }
    // Appends journal lines (see RateBudget::save()).
    void append_journal(const fs::path& file, std::string_view lines) {
        append_lines_durable(journal_of(file), lines, 0644);
    }
    // Replaces `ca_url`'s section with `text` (of generation `generation`)
    // and writes the file: the other sections as last read or written. Then
    // the journal loses `ca_url`'s lines of older generations, which the
    // section now holds.
    void write_section(const fs::path& file, const std::string& ca_url, std::string text,
                       std::uint64_t generation) {
        auto found = sections_.find(file);
        if (found == sections_.end()) {
            try {
                read(file);  // not loaded by a budget in this process (tests)
            } catch (const std::exception&) {
                sections_[file].clear();  // reported when loaded; replaced now
            }
            found = sections_.find(file);
        }
        found->second[ca_url] = std::move(text);
        std::string doc = "{\"version\":1,\"cas\":{";
        bool first = true;
        for (const auto& [url, section] : found->second) {
            doc += (first ? "\n" : ",\n") + quoted(url) + ":" + section;
            first = false;
        }
        doc += "}}\n";
        write_file_atomic(file, doc, 0644);
        drop_journal_lines(file, ca_url, generation);
    }

  private:
    // Rewrites the journal without `ca_url`'s lines older than `generation`
    // (and without lines it cannot read); removes it when nothing is left. A
    // crash before this leaves lines the section already holds: a load skips
    // them by their generation.
    static void drop_journal_lines(const fs::path& file, const std::string& ca_url,
                                   std::uint64_t generation) {
        const fs::path journal = journal_of(file);
        const std::optional<std::string> read = read_journal(journal);
        if (!read) {
            return;
        }
        const std::string& text = *read;
        std::string kept;
        for_each_line(text, [&](std::size_t, std::string_view line) {
            std::string why;
            std::optional<JournalLine> parsed = parse_journal_line(line, &why);
            if (parsed && (parsed->ca != ca_url || parsed->generation >= generation)) {
                kept.append(line).push_back('\n');
            }
        });
        if (kept.size() == text.size()) {
            return;
        }
        if (kept.empty()) {
            fs::remove(journal);
        } else {
            write_file_atomic(journal, kept, 0644);
        }
    }

    std::map<fs::path, std::map<std::string, std::string>> sections_;
};

LockGuarded<BudgetFiles>& budget_files() {
    static LockGuarded<BudgetFiles> files;
    return files;
}

void prune(RateBudget::Ledger& l, Clock::time_point now) {
    auto old = [&](Clock::duration window) {
        return [&, window](const RateBudget::Event& e) { return e.time + window <= now; };
    };
    std::erase_if(l.orders, old(kOrdersWindow));
    std::erase_if(l.certs, old(kLongestWindow));
    std::erase_if(l.failed_authz, old(kFailedAuthzWindow));
    std::erase_if(l.ca_refusals, [&](const RateBudget::Event& e) { return e.until <= now; });
}

struct PslDeleter {
    void operator()(psl_ctx_t* p) const { psl_free(p); }
};

const psl_ctx_t* psl() {
    // The newer of libpsl's built-in list and Debian's publicsuffix package.
    static const std::unique_ptr<psl_ctx_t, PslDeleter> ctx(psl_latest(nullptr));
    return ctx ? ctx.get() : psl_builtin();
}

}  // namespace

std::string registered_domain(const DnsName& name) {
    const std::string host = bare(name);
    const psl_ctx_t* ctx = psl();
    const char* reg = ctx ? psl_registrable_domain(ctx, host.c_str()) : nullptr;
    return reg ? std::string(reg) : host;
}

RateBudget::RateBudget(fs::path file, std::string ca_url, RateLimits limits)
    : file_(std::move(file)), ca_url_(std::move(ca_url)), limits_(limits) {
    auto state = state_.lock();
    try {
        const Json::Value doc = budget_files().lock()->read(file_);
        const Json::Value& section = doc["cas"][ca_url_];
        if (section.isObject()) {
            for (const EventList& kind : kLists) {
                state->ledger.*kind.list = events_from_json(section[kind.key]);
            }
            if (section["generation"].isUInt64()) {
                state->generation = section["generation"].asUInt64();
            }
        }
    } catch (const std::exception& e) {
        log_warning(file_.string(), ": rate budget unreadable, starting an empty one (", e.what(),
                    ")");
        state->ledger = Ledger{};
    }
    replay_journal(*state);
}

// The events recorded since the section was written: the journal's lines of
// this CA and of the section's generation, in the order they were appended.
// A line that cannot be read (cut short by a crash) is reported and skipped.
void RateBudget::replay_journal(State& state) {
    const fs::path journal = journal_of(file_);
    std::optional<std::string> text;
    try {
        text = read_journal(journal);
    } catch (const std::system_error& e) {
        log_warning(journal.string(), ": ", e.what());
    }
    if (!text) {
        return;
    }
    for_each_line(*text, [&](std::size_t number, std::string_view line) {
        std::string why;
        std::optional<JournalLine> parsed = parse_journal_line(line, &why);
        try {
            if (parsed && parsed->ca == ca_url_ && parsed->generation == state.generation) {
                (state.ledger.*parsed->kind->list).push_back(event_from_json(parsed->event));
            }
        } catch (const std::exception& e) {
            parsed.reset();
            why = e.what();
        }
        if (!parsed) {
            log_warning(journal.string(), ":", number, ": skipping a line that cannot be read (",
                        why, ")");
        }
    });
}

namespace {

// May `request` be ordered at `now`, given what `l` holds?
BudgetDecision decide(const RateBudget::Ledger& l, const RateLimits& limits,
                      const OrderRequest& request, Clock::time_point now) {
    using Event = RateBudget::Event;
    const std::vector<std::string> set = name_set(request.names);
    std::vector<Refusal> refusals;
    for (const Event& e : l.ca_refusals) {
        if (e.until > now && e.names == set) {
            refusals.push_back({e.until, "the CA answered rateLimited" +
                                             (e.detail.empty() ? "" : " (" + e.detail + ")")});
        }
    }
    // A limit of 0 is no limit: its events are not even counted.
    if (request.renewal != Renewal::ari && limits.orders_per_3h != 0) {
        auto orders = times_of(l.orders, kOrdersWindow, now, [](const Event&) { return true; });
        add(refusals, window_full(orders, limits.orders_per_3h, kOrdersWindow, now),
            "orders-per-3h" + used(orders.size(), limits.orders_per_3h, "3 h"));
    }

    if (limits.certs_per_nameset_per_week != 0) {
        auto same =
            times_of(l.certs, kCertsWindow, now, [&](const Event& e) { return e.names == set; });
        add(refusals, window_full(same, limits.certs_per_nameset_per_week, kCertsWindow, now),
            "certs-per-nameset-per-week" +
                used(same.size(), limits.certs_per_nameset_per_week, "7 days"));
    }

    std::vector<std::string> hosts;
    for (const DnsName& n : request.names) {
        hosts.push_back(bare(n));
    }
    std::sort(hosts.begin(), hosts.end());
    hosts.erase(std::unique(hosts.begin(), hosts.end()), hosts.end());
    for (const std::string& h : hosts) {
        if (limits.failed_authz_per_name_per_hour == 0) {
            break;
        }
        auto failed = times_of(l.failed_authz, kFailedAuthzWindow, now,
                               [&](const Event& e) { return e.names.at(0) == h; });
        add(refusals,
            window_full(failed, limits.failed_authz_per_name_per_hour, kFailedAuthzWindow, now),
            "failed-authz-per-name-per-hour for " + h +
                used(failed.size(), limits.failed_authz_per_name_per_hour, "1 h"));
    }

    if (request.renewal == Renewal::no && !request.names.empty() &&
        limits.certs_per_domain_per_week != 0) {
        const std::string domain = registered_domain(request.names.front());
        auto certs = times_of(l.certs, kCertsWindow, now,
                              [&](const Event& e) { return e.domain == domain; });
        add(refusals, window_full(certs, limits.certs_per_domain_per_week, kCertsWindow, now),
            "certs-per-domain-per-week for " + domain +
                used(certs.size(), limits.certs_per_domain_per_week, "7 days"));
    }
    BudgetDecision d;
    if (refusals.empty()) {
        return d;
    }
    d.allowed = false;
    d.not_before = now;
    for (const Refusal& r : refusals) {
        d.not_before = std::max(d.not_before, r.until);
        d.limit += (d.limit.empty() ? "" : "; ") + r.why;
    }
    return d;
}

}  // namespace

BudgetDecision RateBudget::check(const OrderRequest& request, Clock::time_point now) const {
    return decide(state_.lock()->ledger, limits_, request, now);
}

std::vector<BudgetDecision> RateBudget::plan(const std::vector<OrderRequest>& requests,
                                             Clock::time_point now) const {
    std::vector<BudgetDecision> out;
    if (limits_.unlimited()) {  // only the CA's refusals hold anything back: nothing to simulate
        auto state = state_.lock();
        for (const OrderRequest& r : requests) {
            out.push_back(decide(state->ledger, limits_, r, now));
        }
        return out;
    }
    Ledger sim = state_.lock()->ledger;
    for (const OrderRequest& r : requests) {
        out.push_back(decide(sim, limits_, r, now));
        if (out.back().allowed) {
            const std::vector<std::string> set = name_set(r.names);
            sim.orders.push_back({now, set, "", Renewal::no, {}, ""});  // as record_order
            const std::string domain = r.names.empty() ? "" : registered_domain(r.names.front());
            sim.certs.push_back({now, set, domain, r.renewal, {}, ""});
        }
    }
    return out;
}

void RateBudget::record_order(const std::vector<DnsName>& names, Clock::time_point now) {
    auto state = state_.lock();
    record(*state, List::orders, {now, name_set(names), "", Renewal::no, {}, ""}, now);
}

void RateBudget::record_issued(const std::vector<DnsName>& names, Renewal renewal,
                               Clock::time_point now) {
    const std::string domain = names.empty() ? "" : registered_domain(names.front());
    auto state = state_.lock();
    record(*state, List::certs, {now, name_set(names), domain, renewal, {}, ""}, now);
}

void RateBudget::record_failed_authorization(const DnsName& name, Clock::time_point now) {
    auto state = state_.lock();
    record(*state, List::failed_authz, {now, {bare(name)}, "", Renewal::no, {}, ""}, now);
}

void RateBudget::record_ca_refusal(const std::vector<DnsName>& names, Clock::time_point until,
                                   const std::string& detail, Clock::time_point now) {
    auto state = state_.lock();
    record(*state, List::ca_refusals, {now, name_set(names), "", Renewal::no, until, detail}, now);
}

RateBudget::Usage RateBudget::usage(const std::string& domain, Clock::time_point now) const {
    auto state = state_.lock();
    const Ledger& ledger = state->ledger;
    Usage u;
    u.orders_3h = static_cast<unsigned>(
        times_of(ledger.orders, kOrdersWindow, now, [](const Event&) { return true; }).size());
    u.certs_domain_week =
        static_cast<unsigned>(times_of(ledger.certs, kCertsWindow, now, [&](const Event& e) {
                                  return e.domain == domain;
                              }).size());
    return u;
}

std::vector<RateBudget::Remaining> RateBudget::remaining(
    const std::vector<std::vector<DnsName>>& name_sets, Clock::time_point now) const {
    auto state = state_.lock();
    const Ledger& ledger = state->ledger;
    std::vector<Remaining> out;
    std::set<std::pair<std::string, std::string>> seen;  // limit, scope
    auto put = [&](const char* limit, const std::string& scope, unsigned max, std::size_t used) {
        if (max == 0 || !seen.insert({limit, scope}).second) {
            return;
        }
        out.push_back({limit, scope, max, used >= max ? 0 : max - static_cast<unsigned>(used)});
    };
    put("orders-per-3h", "account", limits_.orders_per_3h,
        times_of(ledger.orders, kOrdersWindow, now, [](const Event&) { return true; }).size());
    for (const std::vector<DnsName>& names : name_sets) {
        if (names.empty()) {
            continue;
        }
        const std::string domain = registered_domain(names.front());
        put("certs-per-domain-per-week", domain, limits_.certs_per_domain_per_week,
            times_of(ledger.certs, kCertsWindow, now, [&](const Event& e) {
                return e.domain == domain;
            }).size());
        const std::vector<std::string> set = name_set(names);
        std::string joined;
        for (const std::string& n : set) {
            joined += (joined.empty() ? "" : ",") + n;
        }
        put("certs-per-nameset-per-week", joined, limits_.certs_per_nameset_per_week,
            times_of(ledger.certs, kCertsWindow, now, [&](const Event& e) {
                return e.names == set;
            }).size());
        for (const DnsName& n : names) {
            const std::string h = bare(n);
            put("failed-authz-per-name-per-hour", h, limits_.failed_authz_per_name_per_hour,
                times_of(ledger.failed_authz, kFailedAuthzWindow, now, [&](const Event& e) {
                    return e.names.at(0) == h;
                }).size());
        }
    }
    return out;
}

RateBudget::~RateBudget() {
    try {
        flush();
    } catch (const std::exception& e) {
        log_warning(file_.string(), ": ", e.what());
    }
}

void RateBudget::flush(Clock::time_point now) {
    auto state = state_.lock();
    if (state->dirty) {
        save(*state, now);
    }
}

void RateBudget::record(State& state, List list, Event event, Clock::time_point now) {
    const EventList& kind = kLists[static_cast<std::size_t>(list)];
    state.pending += journal_line(ca_url_, state.generation, kind, event);
    (state.ledger.*kind.list).push_back(std::move(event));
    state.dirty = true;
    // pruned as it is saved, at the latest time recorded or saved
    state.latest = std::max(state.latest, now);
    if (std::chrono::steady_clock::now() - state.last_append >= std::chrono::seconds(1)) {
        append_pending(state);
    }
}

void RateBudget::append_pending(State& state) {
    state.last_append = std::chrono::steady_clock::now();
    if (state.pending.empty()) {
        return;
    }
    try {
        budget_files().lock()->append_journal(file_, state.pending);
        state.pending.clear();
    } catch (const std::exception& e) {
        // kept for the next append or the section's write
        log_warning(file_.string(), ": could not append to the rate budget's journal: ", e.what());
    }
}

void RateBudget::save(State& state, Clock::time_point now) {
    state.latest = std::max(state.latest, now);
    prune(state.ledger, state.latest);
    const std::uint64_t next = state.generation + 1;
    std::string text = section_text(state.ledger, now, next);
    try {
        budget_files().lock()->write_section(file_, ca_url_, std::move(text), next);
        state.generation = next;
        state.pending.clear();
        state.dirty = false;
    } catch (const std::exception& e) {
        log_warning(file_.string(), ": could not write the rate budget: ", e.what());
        append_pending(state);
    }
}

}  // namespace acmezone::issuer
