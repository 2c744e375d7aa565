// See status_command.h.
#include "issuer/cli/status_command.h"

#include <json/value.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <exception>
#include <iomanip>
#include <mutex>
#include <sstream>
#include <thread>
#include <utility>
#include <vector>

#include "common/name_path.h"
#include "common/parallel.h"
#include "common/utc_time.h"
#include "issuer/certs/cert_store.h"
#include "issuer/certs/ct.h"
#include "issuer/json/json_styled.h"
#include "issuer/pass/runner.h"
#include "issuer/pass/standby.h"
#include "issuer/pass/zone_status.h"

namespace acmezone::issuer {
namespace {

double days_between(SysTime from, SysTime to) {
    return std::chrono::duration<double>(to - from).count() / 86400.0;
}

// Waiting for a rate limit (rate_budget.h) rather than for a renewal.
bool deferred(const ZoneStatus& st, SysTime now) {
    return !st.saved.deferred_by.empty() && st.saved.retry_at && *st.saved.retry_at > now;
}

Json::Value optional_time(const std::optional<SysTime>& t) {
    return t ? Json::Value(format_utc(*t)) : Json::Value(Json::nullValue);
}

// The leaf's SCTs: without a log list, as the zone's certificate summary
// holds them (cert_summary.h: parsed when the certificate changed); with one,
// read from the chain and verified against it now.
CtReport ct_report(const CertStore& store, const ZoneStatus& st, KeyType type,
                   const CtLogList* logs) {
    if (logs == nullptr) {
        for (const CertSummary& c : st.current.certs) {
            if (c.type == type && c.scts) {
                return CtReport{*c.scts, std::nullopt};
            }
        }
    }
    return read_scts(store.current_chain(st.zone, type), logs);
}

// A certificate's Certificate Transparency (ct.h): "sct_count", "ct_logs"
// (the distinct logs that count), "scts" (each with its log and status) and
// "ct_problem" ("" when the policy holds).
void put_ct(const CertStore& store, const ZoneStatus& st, KeyType type, const CtLogList* logs,
            Json::Value& j) {
    try {
        const CtReport report = ct_report(store, st, type, logs);
        Json::Value counted(Json::arrayValue);
        for (const std::string& log : report.counted_logs()) {
            counted.append(log);
        }
        Json::Value scts(Json::arrayValue);
        for (const SctInfo& sct : report.scts) {
            Json::Value one(Json::objectValue);
            one["log_id"] = sct.log_id;
            one["log"] = sct.log_name;
            one["timestamp"] = format_utc(sct.timestamp);
            one["status"] = std::string(to_string(sct.status));
            scts.append(std::move(one));
        }
        j["sct_count"] = static_cast<Json::UInt>(report.scts.size());
        j["ct_logs"] = std::move(counted);
        j["scts"] = std::move(scts);
        j["ct_problem"] = ct_policy_failure(report);
    } catch (const std::exception& e) {
        j["sct_count"] = Json::Value::null;
        j["ct_problem"] = e.what();
    }
}

// "certificates": each certificate's ARI window and SCTs; the one whose
// renewal time decides also as the zone's "ari_cert_id" and "ari_window".
void put_certificates(const IssuerConfig& config, const CtLogList* ct_logs, const ZoneStatus& st,
                      Json::Value& z) {
    const CertStore store(config.certs_dir);
    Json::Value certs(Json::arrayValue);
    for (const ZoneStatus::Certificate& c : st.certs) {
        Json::Value j(Json::objectValue);
        put_ct(store, st, c.key_type, ct_logs, j);
        j["key_type"] = std::string(to_string(c.key_type));
        j["ari_cert_id"] = c.cert_id;
        j["renew_at"] = optional_time(c.renew_at);
        j["renew_basis"] = c.renew_basis;
        const AriState* a = c.cert_id.empty() ? nullptr : st.saved.ari_for(c.cert_id);
        if (a && a->window_start) {
            Json::Value w(Json::objectValue);
            w["start"] = format_utc(*a->window_start);
            w["end"] = optional_time(a->window_end);
            j["ari_window"] = w;
            if (c.renew_at == st.renew_at && !z.isMember("ari_window")) {
                z["ari_cert_id"] = c.cert_id;
                z["ari_window"] = w;
            }
        }
        certs.append(std::move(j));
    }
    z["certificates"] = std::move(certs);
}

// Each configured key type's certificate, as zone_status read it:
// [{"key_type": "ecdsa-p256", "not_after": "..." or null}, ...], and as text
// for the table (" [ecdsa-p256 rsa-2048]"; "" with one key type).
const ZoneStatus::Certificate* certificate_of_type(const ZoneStatus& st, KeyType type) {
    for (const ZoneStatus::Certificate& c : st.certs) {
        if (c.key_type == type) {
            return &c;
        }
    }
    return nullptr;
}

Json::Value key_types_json(const IssuerConfig& config, const ZoneStatus& st) {
    Json::Value list(Json::arrayValue);
    for (KeyType type : config.key_types) {
        Json::Value row(Json::objectValue);
        row["key_type"] = std::string(to_string(type));
        const ZoneStatus::Certificate* c = certificate_of_type(st, type);
        row["not_after"] = c ? Json::Value(format_utc(c->not_after)) : Json::Value::null;
        list.append(std::move(row));
    }
    return list;
}

std::string key_types_text(const IssuerConfig& config, const ZoneStatus& st) {
    if (config.key_types.size() < 2) {
        return "";
    }
    std::string out;
    for (KeyType type : config.key_types) {
        out += (out.empty() ? "" : " ") + std::string(to_string(type)) +
               (certificate_of_type(st, type) ? "" : " (missing)");
    }
    return " [" + out + "]";
}

// The certificate's part of a zone's object.
void put_cert(const ZoneStatus& st, SysTime now, Json::Value& z) {
    Json::Value names(Json::arrayValue);
    if (st.cert) {
        for (const std::string& n : st.cert->dns_names) {
            names.append(n);
        }
        z["not_before"] = format_utc(st.cert->not_before);
        z["not_after"] = format_utc(st.cert->not_after);
        z["days_left"] = std::floor(days_between(now, st.cert->not_after) * 10) / 10;
        z["serial"] = st.cert->serial_hex;
        z["issuer"] = st.cert->issuer;
    } else {
        z["not_after"] = Json::Value::null;
        z["days_left"] = Json::Value::null;
    }
    z["names"] = std::move(names);
}

// With [acme] standby-directory, the zone's standby set (pass/standby.h):
// "standby": {"present", "problem", "ca", "next_from", "not_after",
// "key_types", "renew_at", "renew_basis", "last_error", "failures",
// "retry_at"}; next_from:
// the directory its next standby set is ordered from.
Json::Value standby_json(const IssuerConfig& config, const ZoneStatus& st, const ZoneCaRoles& roles,
                         SysTime now) {
    const StandbyView v = standby_view(config, CertStore(config.certs_dir), st.zone, st.saved, now);
    Json::Value j(Json::objectValue);
    j["present"] = v.present;
    j["problem"] = v.problem;
    j["ca"] = v.ca;
    j["next_from"] = role_directory(config, roles.standby);
    j["not_after"] = optional_time(v.not_after);
    Json::Value types(Json::arrayValue);
    for (KeyType t : v.types) {
        types.append(std::string(to_string(t)));
    }
    j["key_types"] = std::move(types);
    j["renew_at"] = v.present ? Json::Value(format_utc(v.wanted_at)) : Json::Value::null;
    j["renew_basis"] = v.renew_basis;
    j["last_error"] = st.saved.standby.last_error;
    j["failures"] = st.saved.standby.failures;
    j["retry_at"] = optional_time(st.saved.standby.retry_at);
    j["missing_since"] =
        v.present ? Json::Value::null : optional_time(st.saved.standby.notified_missing);
    return j;
}

// With standby-directory: the zone has been without a usable standby set
// for longer than standby-grace (since the first pass that found it so).
bool standby_missing_too_long(const IssuerConfig& config, const ZoneStatus& st, SysTime now) {
    const auto since = st.saved.standby.notified_missing;
    return config.standby && since && now - *since > config.standby->grace &&
           !standby_view(config, CertStore(config.certs_dir), st.zone, st.saved, now).present;
}

// The table's remark on the standby set: "standby: CA until T" or
// "standby missing (why)".
std::string standby_text(const IssuerConfig& config, const ZoneStatus& st, SysTime now) {
    const StandbyView v = standby_view(config, CertStore(config.certs_dir), st.zone, st.saved, now);
    if (v.present) {
        return "  standby: " + (v.ca.empty() ? std::string("?") : v.ca) + " until " +
               format_utc(*v.not_after) + (v.wanted_at <= now ? " (due)" : "");
    }
    const auto& since = st.saved.standby.notified_missing;
    return "  standby " +
           (v.problem == "missing" ? std::string("missing") : "not usable (" + v.problem + ")") +
           (since ? " since " + format_utc(*since) : std::string()) +
           (st.saved.standby.last_error.empty() ? "" : ": " + st.saved.standby.last_error);
}

// "listed" ([zones] zone, zones-file) or "catalog CATALOG".
std::string zone_source(const IssuerConfig& config, const DnsName& zone) {
    const auto it = config.catalog_of.find(zone);
    return it == config.catalog_of.end() ? "listed" : "catalog " + it->second.text();
}

// The catalog a member's RFC 9432 coo property moves it to, if any.
const DnsName* coo_of(const IssuerConfig& config, const DnsName& zone) {
    const auto it = config.coo_of.find(zone);
    return it == config.coo_of.end() ? nullptr : &it->second;
}

std::string certs_of(const IssuerConfig& config, const DnsName& zone) {
    return (config.certs_dir / path_component(zone)).string();
}

Json::Value zone_json(const IssuerConfig& config, const CtLogList* ct_logs, const ZoneStatus& st,
                      SysTime now) {
    Json::Value z(Json::objectValue);
    z["zone"] = st.zone.text();
    z["source"] = zone_source(config, st.zone);
    if (const DnsName* coo = coo_of(config, st.zone)) {
        z["coo"] = coo->text();
    }
    z["state"] = std::string(to_string(st.state));
    put_cert(st, now, z);
    if (!st.problem.empty()) {
        z["problem"] = st.problem;
    }
    z["renew_at"] = optional_time(st.renew_at);
    z["renew_basis"] = st.renew_basis;
    z["next_action"] = st.next_action;
    z["next_attempt"] = format_utc(st.next_attempt);
    z["last_result"] = std::string(to_string(st.saved.last_result));
    z["last_attempt"] = st.saved.last_attempt ? format_utc(*st.saved.last_attempt) : "";
    z["last_error"] = st.saved.last_error;
    z["failures"] = st.saved.failures;
    z["retry_at"] = optional_time(st.saved.retry_at);
    put_certificates(config, ct_logs, st, z);
    z["resume_order"] = st.saved.resume_order;
    z["order_in_flight"] =
        st.saved.order ? Json::Value(st.saved.order->order_url) : Json::Value::null;
    z["key_types"] = key_types_json(config, st);
    z["deploy_hook_error"] = st.saved.deploy_hook_error;
    if (deferred(st, now)) {
        z["deferred_until"] = format_utc(*st.saved.retry_at);
        z["deferred_by"] = st.saved.deferred_by;
    }
    // The directory the live set is renewed from (the first CA's, which may
    // fall over to the fallback; the standby CA's for a switched zone, whose
    // next standby set comes from the first CA): ca_session.h zone_ca_roles.
    const ZoneCaRoles roles = zone_ca_roles(config, st.saved.ca);
    const bool live_from_standby_ca = roles.live == CaRole::standby;
    z["renews_from"] = role_directory(config, roles.live);
    if (!st.saved.ca.empty()) {
        z["ca"] = st.saved.ca;
        z["ca_fallback"] = st.saved.ca != config.directory && !live_from_standby_ca;
        z["ca_standby"] = live_from_standby_ca;
    }
    if (config.standby) {
        z["standby"] = standby_json(config, st, roles, now);
    }
    return z;
}

// What follows a zone's names in the table: problem, deferral, fallback CA,
// the last attempt's failure, the deploy hook's.
void print_remarks(const IssuerConfig& config, const ZoneStatus& st, SysTime now,
                   std::ostream& out) {
    if (!st.problem.empty()) {
        out << "  (" << st.problem << ")";
    }
    if (deferred(st, now)) {
        out << "  deferred until " << format_utc(*st.saved.retry_at) << ": "
            << st.saved.deferred_by;
    }
    const ZoneCaRoles roles = zone_ca_roles(config, st.saved.ca);
    if (roles.live == CaRole::standby) {  // switched: renewed from the standby CA
        out << "  (live set switched to the standby CA " << st.saved.ca
            << ", renewed from it; next standby set from " << config.directory << ")";
    } else if (!roles.note.empty()) {
        out << "  (" << roles.note << ")";
    } else if (!st.saved.ca.empty() && st.saved.ca != config.directory) {
        out << "  (issued by the fallback CA " << st.saved.ca << ")";
    }
    if (st.saved.last_result == LastResult::failed ||
        st.saved.last_result == LastResult::interrupted) {
        out << "  last attempt "
            << (st.saved.last_attempt ? format_utc(*st.saved.last_attempt) : "?") << " "
            << to_string(st.saved.last_result) << " (" << st.saved.failures
            << " in a row): " << st.saved.last_error;
    }
    if (!st.saved.deploy_hook_error.empty()) {
        out << "  " << st.saved.deploy_hook_error;
    }
    if (config.standby) {
        out << standby_text(config, st, now);
    }
}

// The table's line for a zone (with its newline).
std::string table_line(const IssuerConfig& config, const ZoneStatus& st, SysTime now) {
    std::string names;
    for (const std::string& n : st.cert ? st.cert->dns_names : std::vector<std::string>{}) {
        names += (names.empty() ? "" : ", ") + n;
    }
    std::ostringstream days;
    if (st.cert) {
        days << std::fixed << std::setprecision(1) << days_between(now, st.cert->not_after);
    }
    const std::string next =
        st.next_action + " " + (st.next_attempt <= now ? "now" : format_utc(st.next_attempt));
    std::ostringstream out;
    out << std::left << std::setw(32) << st.zone.text() << std::setw(9) << to_string(st.state)
        << std::setw(22) << (st.cert ? format_utc(st.cert->not_after) : "-") << std::setw(10)
        << (st.cert ? days.str() : "-") << std::setw(30) << next << (names.empty() ? "-" : names)
        << key_types_text(config, st);
    if (const auto it = config.catalog_of.find(st.zone); it != config.catalog_of.end()) {
        out << "  (from catalog " << it->second.text();
        if (const DnsName* coo = coo_of(config, st.zone)) {
            out << "; coo: moving to catalog " << coo->text();
        }
        out << ")";
    }
    print_remarks(config, st, now, out);
    out << "\n";
    return std::move(out).str();
}

// The JSON text of one zone's object, indented as an element of the
// top-level array ("  {\n    \"ca\" : ...\n  }"), as jsoncpp's styled writer
// has always written it for status (json_styled.h).
std::string object_text(const Json::Value& z) {
    std::string text;
    text.reserve(4096);  // a zone's object is 1.5 KB with one key type
    text += "  ";
    // precision 15: days_left 9.9, not 9.9000000000000004
    append_styled_json(text, z, {.indentation = "  ", .precision = 15, .depth = 1});
    return text;
}

// One zone as status shows it, worked out on any thread.
struct ZoneRow {
    bool ok = false;   // valid, and not without a standby set for too long
    std::string text;  // its JSON object (object_text) or its table line
};

// Reading a zone (its state file, its certificates' summary checked against
// the store) and writing its object is most of status's work, and needs
// nothing of the other zones: a few threads do it for a batch of zones at a
// time, which is then printed in order, so that only a batch of rows is in
// memory at once.
constexpr std::size_t kBatch = 256;

// Every configured zone's row, in order, handed to `print` a batch at a time.
template <typename Print>
void each_zone_row(const IssuerConfig& config, const CtLogList* ct_logs, bool json, SysTime now,
                   Print print) {
    const std::size_t threads = std::clamp(std::thread::hardware_concurrency(), 1U, 8U);
    std::vector<ZoneRow> rows;
    for (std::size_t from = 0; from < config.zones.size(); from += kBatch) {
        const std::size_t count = std::min(kBatch, config.zones.size() - from);
        rows.assign(count, ZoneRow{});
        std::mutex failed_mutex;
        std::exception_ptr failed;
        for_each_index_parallel(threads, count, [&](std::size_t i) {
            try {
                const ZoneStatus st = zone_status(config, config.zones[from + i], now);
                rows[i].ok =
                    st.state == CertState::valid && !standby_missing_too_long(config, st, now);
                rows[i].text = json ? object_text(zone_json(config, ct_logs, st, now))
                                    : table_line(config, st, now);
            } catch (...) {
                const std::lock_guard lock(failed_mutex);
                failed = failed ? failed : std::current_exception();
            }
        });
        if (failed) {
            std::rethrow_exception(failed);
        }
        print(rows);
    }
}

}  // namespace

int status_command(const IssuerConfig& config, bool json, std::ostream& out) {
    const auto now = std::chrono::system_clock::now();
    const auto ct_logs =
        json && config.ct_log_list ? CtLogList::load(*config.ct_log_list) : nullptr;
    bool all_valid = true;
    bool first = true;
    if (!json) {
        out << std::left << std::setw(32) << "ZONE" << std::setw(9) << "STATE" << std::setw(22)
            << "NOT AFTER" << std::setw(10) << "DAYS LEFT" << std::setw(30) << "NEXT"
            << "NAMES / LAST ERROR\n";
    }
    each_zone_row(config, ct_logs.get(), json, now, [&](const std::vector<ZoneRow>& rows) {
        for (const ZoneRow& row : rows) {
            all_valid = all_valid && row.ok;
            if (json) {
                out << (first ? "[\n" : ",\n");
            }
            out << row.text;
            first = false;
        }
    });
    for (const auto& left : config.left) {
        if (json) {
            Json::Value z(Json::objectValue);
            z["zone"] = left.zone.text();
            z["source"] = "catalog " + left.catalog.text();
            z["state"] = "left the catalog";
            z["certificates"] = certs_of(config, left.zone);
            out << (first ? "[\n" : ",\n") << object_text(z);
            first = false;
        } else {
            out << std::left << std::setw(32) << left.zone.text() << "left the catalog "
                << left.catalog.text() << ": not renewed; its certificates stay in "
                << certs_of(config, left.zone) << "\n";
        }
    }
    if (json) {
        out << (first ? "[]\n" : "\n]\n");
    }
    return all_valid ? kExitOk : kExitFailed;
}

}  // namespace acmezone::issuer
