// See zone_state.h.
#include "issuer/pass/zone_state.h"

#include <json/writer.h>

#include <algorithm>
#include <memory>
#include <string_view>
#include <system_error>
#include <utility>

#include "common/file_io.h"
#include "common/log.h"
#include "common/name_path.h"
#include "common/utc_time.h"
#include "issuer/json/json_text.h"

namespace acmezone::issuer {
namespace fs = std::filesystem;
namespace {

// Readers that ignore (with a warning) a field of the wrong type.
struct FieldReader {
    const Json::Value& doc;
    const std::string& origin;

    void warn(const char* key, const char* want) const {
        log_warning(origin, ": field \"", key, "\" is not ", want, "; ignored");
    }
    std::string string(const char* key) const {
        const Json::Value& v = doc[key];
        if (v.isNull()) {
            return {};
        }
        if (!v.isString()) {
            warn(key, "a string");
            return {};
        }
        return v.asString();
    }
    std::optional<SysTime> time(const char* key) const {
        const Json::Value& v = doc[key];
        if (v.isNull()) {
            return std::nullopt;
        }
        auto t = v.isString() ? parse_utc(v.asString()) : std::nullopt;
        if (!t) {
            warn(key, "a time (YYYY-MM-DDTHH:MM:SSZ)");
        }
        return t;
    }
    unsigned count(const char* key) const {
        const Json::Value& v = doc[key];
        if (v.isNull()) {
            return 0;
        }
        if (!v.isUInt()) {
            warn(key, "a count");
            return 0;
        }
        return v.asUInt();
    }
    std::vector<std::string> strings(const char* key) const {
        std::vector<std::string> out;
        const Json::Value& v = doc[key];
        if (v.isNull()) {
            return out;
        }
        if (!v.isArray()) {
            warn(key, "a list of strings");
            return out;
        }
        for (const Json::Value& s : v) {
            if (!s.isString()) {
                warn(key, "a list of strings");
                return {};
            }
            out.push_back(s.asString());
        }
        return out;
    }
};

void put_time(Json::Value& doc, const char* key, const std::optional<SysTime>& t) {
    if (t) {
        doc[key] = format_utc(*t);
    } else {
        doc.removeMember(key);
    }
}

void put_string(Json::Value& doc, const char* key, const std::string& s) {
    if (s.empty()) {
        doc.removeMember(key);
    } else {
        doc[key] = s;
    }
}

// An order in flight as written in the file ("order", "standby"."order").
Json::Value order_json(const InFlightOrder& order) {
    Json::Value o(Json::objectValue);
    o["url"] = order.order_url;
    put_string(o, "key_type", order.key_type);
    o["owner"] = order.owner;
    o["values"] = Json::Value(Json::arrayValue);
    for (const std::string& v : order.values) {
        o["values"].append(v);
    }
    o["controls"] = Json::Value(Json::arrayValue);
    for (const std::string& c : order.controls) {
        o["controls"].append(c);
    }
    put_time(o, "started", order.started);
    return o;
}

// `key` of `doc` read as an order in flight: nullopt when absent (and, with
// a warning, when not an object).
std::optional<InFlightOrder> order_from(const FieldReader& r, const char* key) {
    const Json::Value& v = r.doc[key];
    if (!v.isObject()) {
        if (!v.isNull()) {
            r.warn(key, "an object");
        }
        return std::nullopt;
    }
    const std::string where = r.origin + ": " + key;
    const FieldReader o{v, where};
    InFlightOrder f;
    f.order_url = o.string("url");
    f.key_type = o.string("key_type");
    f.owner = o.string("owner");
    f.values = o.strings("values");
    f.controls = o.strings("controls");
    f.started = o.time("started");
    return f;
}

// "ari" of `r`: the renewal information kept per certificate (a list; an
// object, as one certificate's entry was written before two key types, is
// read as a list of one).
std::vector<AriState> ari_from(const FieldReader& r) {
    std::vector<AriState> out;
    const Json::Value& ari = r.doc["ari"];
    if (ari.isObject() || ari.isArray()) {
        const std::string where = r.origin + ": ari";
        auto read = [&](const Json::Value& v) {
            if (!v.isObject()) {
                r.warn("ari", "a list of objects");
                return;
            }
            const FieldReader a{v, where};
            AriState e;
            e.cert_id = a.string("cert_id");
            e.directory = a.string("directory");
            e.window_start = a.time("window_start");
            e.window_end = a.time("window_end");
            e.renew_at = a.time("renew_at");
            e.next_poll = a.time("next_poll");
            e.explanation_url = a.string("explanation_url");
            if (!e.cert_id.empty()) {
                out.push_back(std::move(e));
            }
        };
        if (ari.isObject()) {
            read(ari);
        } else {
            for (const Json::Value& v : ari) {
                read(v);
            }
        }
    } else if (!ari.isNull()) {
        r.warn("ari", "a list of objects");
    }
    return out;
}

Json::Value ari_json(const std::vector<AriState>& ari) {
    Json::Value list(Json::arrayValue);
    for (const AriState& e : ari) {
        Json::Value a(Json::objectValue);
        put_string(a, "cert_id", e.cert_id);
        put_string(a, "directory", e.directory);
        put_time(a, "window_start", e.window_start);
        put_time(a, "window_end", e.window_end);
        put_time(a, "renew_at", e.renew_at);
        put_time(a, "next_poll", e.next_poll);
        put_string(a, "explanation_url", e.explanation_url);
        list.append(a);
    }
    return list;
}

StandbyState standby_from(const FieldReader& r) {
    StandbyState sb;
    const Json::Value& v = r.doc["standby"];
    if (!v.isObject()) {
        if (!v.isNull()) {
            r.warn("standby", "an object");
        }
        return sb;
    }
    const std::string where = r.origin + ": standby";
    const FieldReader s{v, where};
    sb.ca = s.string("ca");
    sb.last_attempt = s.time("last_attempt");
    sb.last_success = s.time("last_success");
    sb.last_error = s.string("last_error");
    sb.failures = s.count("failures");
    sb.retry_at = s.time("retry_at");
    sb.order = order_from(s, "order");
    sb.notified_missing = s.time("notified_missing");
    sb.switched_at = s.time("switched_at");
    sb.ari = ari_from(s);
    return sb;
}

Json::Value standby_json(const StandbyState& sb) {
    Json::Value j(Json::objectValue);
    put_string(j, "ca", sb.ca);
    put_time(j, "last_attempt", sb.last_attempt);
    put_time(j, "last_success", sb.last_success);
    put_string(j, "last_error", sb.last_error);
    j["failures"] = sb.failures;
    put_time(j, "retry_at", sb.retry_at);
    if (sb.order) {
        j["order"] = order_json(*sb.order);
    }
    put_time(j, "notified_missing", sb.notified_missing);
    put_time(j, "switched_at", sb.switched_at);
    if (!sb.ari.empty()) {
        j["ari"] = ari_json(sb.ari);
    }
    return j;
}

const char* const kKnown[] = {
    "last_attempt",      "last_result",  "last_error",      "last_success",      "failures",
    "retry_at",          "ari",          "order",           "deploy_hook_error", "notified_failed",
    "notified_expiring", "resume_order", "resume_key_type", "deferred_by",       "ca",
    "current",           "standby"};

}  // namespace

ZoneState ZoneState::from_json(const Json::Value& doc, const std::string& origin) {
    ZoneState s;
    if (!doc.isObject()) {
        log_warning(origin, ": not a JSON object; read as an empty state");
        return s;
    }
    // Only the unknown members are copied (copying the document and removing
    // the known ones copied its certificates' summary too, once a zone).
    for (auto it = doc.begin(); it != doc.end(); ++it) {
        const char* end = nullptr;
        const char* name = it.memberName(&end);
        const std::string_view key(name, static_cast<std::size_t>(end - name));
        if (std::find(std::begin(kKnown), std::end(kKnown), key) == std::end(kKnown)) {
            s.extra[std::string(key)] = *it;
        }
    }
    const FieldReader r{doc, origin};
    s.last_attempt = r.time("last_attempt");
    s.last_result = last_result_from_string(r.string("last_result"));
    s.last_error = r.string("last_error");
    s.last_success = r.time("last_success");
    s.failures = r.count("failures");
    s.retry_at = r.time("retry_at");
    s.deferred_by = r.string("deferred_by");
    s.ca = r.string("ca");
    s.deploy_hook_error = r.string("deploy_hook_error");
    s.notified_failed = r.time("notified_failed");
    s.notified_expiring = r.time("notified_expiring");
    s.ari = ari_from(r);
    s.order = order_from(r, "order");
    s.standby = standby_from(r);
    s.resume_order = r.string("resume_order");
    s.resume_key_type = r.string("resume_key_type");
    if (doc.isMember("current")) {
        s.current = current_summary_from_json(doc["current"]);
        if (!s.current) {  // a cache: read the store instead, and write it anew
            log_debug(origin, ": \"current\" is not a summary this version reads; ignored");
        }
    }
    return s;
}

Json::Value ZoneState::to_json() const {
    Json::Value doc = extra.isObject() ? extra : Json::Value(Json::objectValue);
    put_time(doc, "last_attempt", last_attempt);
    put_string(doc, "last_result", std::string(to_string(last_result)));
    put_string(doc, "last_error", last_error);
    put_time(doc, "last_success", last_success);
    doc["failures"] = failures;
    put_time(doc, "retry_at", retry_at);
    put_string(doc, "deferred_by", deferred_by);
    put_string(doc, "ca", ca);
    put_string(doc, "deploy_hook_error", deploy_hook_error);
    put_time(doc, "notified_failed", notified_failed);
    put_time(doc, "notified_expiring", notified_expiring);
    if (ari.empty()) {
        doc.removeMember("ari");
    } else {
        doc["ari"] = ari_json(ari);
    }
    if (order) {
        doc["order"] = order_json(*order);
    } else {
        doc.removeMember("order");
    }
    if (standby.empty()) {
        doc.removeMember("standby");
    } else {
        doc["standby"] = standby_json(standby);
    }
    put_string(doc, "resume_order", resume_order);
    put_string(doc, "resume_key_type", resume_key_type);
    if (current) {
        doc["current"] = issuer::to_json(*current);
    } else {
        doc.removeMember("current");
    }
    return doc;
}

const AriState* ZoneState::ari_for(const std::string& cert_id) const {
    for (const AriState& e : ari) {
        if (e.cert_id == cert_id) {
            return &e;
        }
    }
    return nullptr;
}

AriState* ZoneState::ari_for(const std::string& cert_id) {
    return const_cast<AriState*>(std::as_const(*this).ari_for(cert_id));
}

ZoneStateStore::ZoneStateStore(fs::path state_dir) : dir_(std::move(state_dir) / "zones") {}

fs::path ZoneStateStore::file(const DnsName& zone) const {
    return dir_ / (path_component(zone) + ".json");  // one component (name_path.h)
}

ZoneState ZoneStateStore::load(const DnsName& zone) const {
    const fs::path path = file(zone);
    try {
        std::string text;
        try {
            text = read_file_swapped(path);  // no stat first: status loads every zone's
        } catch (const std::system_error& e) {
            if (e.code() == std::errc::no_such_file_or_directory) {
                return {};
            }
            throw;
        }
        std::string why;
        const std::optional<Json::Value> doc = parse_json(text, &why);
        if (!doc) {
            log_warning(path.string(), ": not valid JSON (", why,
                        "); read as an empty state, rewritten after the next attempt");
            return {};
        }
        return ZoneState::from_json(*doc, path.string());
    } catch (const std::exception& e) {
        log_warning(path.string(), ": ", e.what(), "; read as an empty state");
        return {};
    }
}

bool ZoneStateStore::may_record_order(const DnsName& zone) const {
    try {
        // A member name in the file is written as "order" (to_json); inside
        // a string value its quotes would be escaped.
        return read_file_swapped(file(zone)).find("\"order\"") != std::string::npos;
    } catch (const std::system_error& e) {
        return e.code() != std::errc::no_such_file_or_directory;  // load() reports the rest
    }
}

void ZoneStateStore::save(const DnsName& zone, const ZoneState& state) const {
    ensure_directory(dir_, 0700);
    Json::StreamWriterBuilder w;
    w["indentation"] = "  ";
    write_file_swapped(file(zone), Json::writeString(w, state.to_json()) + "\n", 0600);
}

std::string_view to_string(LastResult r) {
    switch (r) {
        case LastResult::ok:
            return "ok";
        case LastResult::failed:
            return "failed";
        case LastResult::interrupted:
            return "interrupted";
        case LastResult::none:
            break;
    }
    return "";
}

LastResult last_result_from_string(std::string_view text) {
    for (LastResult r : {LastResult::ok, LastResult::failed, LastResult::interrupted}) {
        if (text == to_string(r)) {
            return r;
        }
    }
    return LastResult::none;
}

// Touches retry_at and deferred_by only: a deferral is not an attempt.
void ZoneState::record_deferral(const std::string& reason, SysTime until) {
    retry_at = until;
    deferred_by = reason;
}

void ZoneState::record_attempt(SysTime now) {
    last_attempt = now;
}

bool ZoneState::record_ordered(const std::string& key_type) {
    if (resume_order.empty() || resume_key_type != key_type) {
        return false;
    }
    resume_order.clear();  // resumed or abandoned: done with it
    resume_key_type.clear();
    return true;
}

void ZoneState::record_in_flight(InFlightOrder o) {
    order = std::move(o);
}

void ZoneState::record_unpublished() {
    order.reset();
}

// The failure count, backoff and deferral end; the old certificates' ARI
// windows are moot; a crash's order is done with, whatever its key type.
void ZoneState::record_success(const std::string& issuing_ca, SysTime now) {
    last_result = LastResult::ok;
    last_error.clear();
    last_success = now;
    failures = 0;
    retry_at.reset();
    deferred_by.clear();
    ca = issuing_ca;
    ari.clear();
    resume_order.clear();
    resume_key_type.clear();
}

void ZoneState::record_failure(const std::string& error, SysTime now,
                               const ScheduleSettings& schedule, double jitter) {
    last_error = error;
    last_result = LastResult::failed;
    ++failures;
    retry_at = now + retry_delay(failures, jitter, schedule);
    deferred_by.clear();
}

void ZoneState::record_interruption(const std::string& error) {
    last_error = error;
    last_result = LastResult::interrupted;
}

// Never earlier than the backoff record_failure set.
void ZoneState::record_ca_refusal(const std::string& reason, SysTime until) {
    if (!retry_at || *retry_at < until) {
        retry_at = until;
    }
    deferred_by = reason;
}

}  // namespace acmezone::issuer
