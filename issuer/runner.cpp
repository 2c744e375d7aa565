// See runner.h.
#include "issuer/runner.h"

#include <json/reader.h>
#include <json/value.h>
#include <json/writer.h>

#include <atomic>
#include <cmath>
#include <ctime>
#include <iomanip>
#include <memory>
#include <thread>

#include "common/error.h"
#include "common/file_io.h"
#include "common/log.h"
#include "issuer/account_key.h"
#include "issuer/acme_client.h"
#include "issuer/cert_store.h"
#include "issuer/challenge_dns.h"
#include "issuer/http_client.h"
#include "issuer/interrupt.h"
#include "issuer/issuance.h"
#include "issuer/progress.h"

namespace acmezone::issuer {
namespace fs = std::filesystem;
using std::chrono::system_clock;

namespace {

std::string iso8601(system_clock::time_point t) {
    std::time_t tt = system_clock::to_time_t(t);
    std::tm tm{};
    gmtime_r(&tt, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

double days_between(system_clock::time_point from, system_clock::time_point to) {
    return std::chrono::duration<double>(to - from).count() / 86400.0;
}

fs::path state_file(const IssuerConfig& c, const DnsName& zone) {
    return c.state_dir / "zones" / (zone.text() + ".json");
}

}  // namespace

bool renewal_due(const CertInfo& cert, system_clock::time_point now) {
    const auto lifetime = cert.not_after - cert.not_before;
    return now >= cert.not_after - lifetime / 3;
}

Runner::Runner(IssuerConfig config) : config_(std::move(config)) {}

ZoneStatus Runner::zone_status(const DnsName& zone, system_clock::time_point now) const {
    ZoneStatus st;
    st.zone = zone;
    CertStore store(config_.certs_dir);
    try {
        st.cert = store.current(zone);
        if (!st.cert) {
            st.state = "missing";
        } else {
            std::vector<std::string> want;
            for (const DnsName& n : certificate_names(zone)) {
                want.push_back(n.text());
            }
            std::sort(want.begin(), want.end());
            if (st.cert->dns_names != want) {
                st.state = "invalid";
                st.problem = "names do not match {" + zone.text() + ", *." + zone.text() + "}";
            } else if (now >= st.cert->not_after) {
                st.state = "expired";
            } else if (renewal_due(*st.cert, now)) {
                st.state = "due";
            } else {
                st.state = "valid";
            }
        }
    } catch (const std::exception& e) {
        st.state = "invalid";
        st.problem = e.what();
    }
    // The last attempt, if any.
    std::error_code ec;
    const fs::path sf = state_file(config_, zone);
    if (fs::exists(sf, ec)) {
        try {
            Json::CharReaderBuilder b;
            Json::Value doc;
            std::string errs;
            std::istringstream in(read_file(sf));
            if (Json::parseFromStream(b, in, &doc, &errs) && doc.isObject()) {
                st.last_result = doc["result"].asString();
                st.last_attempt = doc["time"].asString();
                st.last_error = doc["error"].asString();
            }
        } catch (const std::exception& e) {
            log_warning(sf.string(), ": ", e.what());
        }
    }
    return st;
}

void Runner::record_attempt(const DnsName& zone, bool ok, const std::string& error) const {
    Json::Value doc(Json::objectValue);
    doc["zone"] = zone.text();
    doc["time"] = iso8601(system_clock::now());
    doc["result"] = ok ? "ok" : "failed";
    doc["error"] = error;
    Json::StreamWriterBuilder w;
    try {
        ensure_directory(config_.state_dir / "zones", 0700);
        write_file_atomic(state_file(config_, zone), Json::writeString(w, doc) + "\n", 0644);
    } catch (const std::exception& e) {
        log_warning(zone.text(), ": could not record the attempt: ", e.what());
    }
}

int Runner::issue_zones(const std::vector<DnsName>& zones) {
    if (zones.empty()) {
        return kExitOk;
    }
    ensure_directory(config_.state_dir, 0700);
    ensure_directory(config_.certs_dir, 0755);
    const AccountKey account = AccountKey::load_or_create(config_.account_key_path());

    HttpSettings hs;
    if (config_.ca_file) {
        hs.ca_file = config_.ca_file->string();
    }
    hs.timeout = config_.http_timeout;
    HttpClient http(hs);
    AcmeSettings as;
    as.directory_url = config_.directory;
    as.contact = config_.contact;
    as.retry_deadline = config_.retry_deadline;
    AcmeClient acme(http, account, as);
    const ChallengeDns dns(config_.dns);
    CertStore store(config_.certs_dir);
    IssuanceServices services{
        acme, dns, store, config_.key_type, config_.trust_file, config_.validation_timeout};

    Progress progress(zones.size(), Progress::stderr_is_terminal());
    std::atomic<std::size_t> next{0};
    std::atomic<std::size_t> failed{0};
    auto worker = [&] {
        for (std::size_t i = next++; i < zones.size(); i = next++) {
            const DnsName& zone = zones[i];
            if (interrupted()) {
                ++failed;
                log_warning(zone.text(), ": not started (interrupted)");
                continue;
            }
            progress.start(zone);
            try {
                CertInfo info = issue_certificate(
                    zone, services, [&](const std::string& step) { progress.step(zone, step); });
                record_attempt(zone, true, "");
                progress.finish(zone, true,
                                "issued, valid until " + iso8601(info.not_after) + ", stored in " +
                                    store.zone_dir(zone).string());
            } catch (const std::exception& e) {
                ++failed;
                record_attempt(zone, false, e.what());
                progress.finish(zone, false, e.what());
            }
        }
    };
    const std::size_t n = std::min<std::size_t>(config_.parallel, zones.size());
    std::vector<std::thread> threads;
    for (std::size_t t = 0; t < n; ++t) {
        threads.emplace_back(worker);
    }
    for (auto& t : threads) {
        t.join();
    }
    const HttpStats hs_done = http.stats();
    log_info("ACME: ", hs_done.requests, " HTTPS request(s) over ", hs_done.connections,
             " connection(s) for ", zones.size(), " zone(s)");
    if (failed > 0) {
        log_error(failed.load(), " of ", zones.size(), " zone(s) failed");
        return kExitFailed;
    }
    return kExitOk;
}

int Runner::run() {
    const auto now = system_clock::now();
    std::vector<DnsName> todo;
    for (const DnsName& zone : config_.zones) {
        ZoneStatus st = zone_status(zone, now);
        if (st.needs_issuing()) {
            todo.push_back(zone);
        } else {
            log_info(zone.text(), ": valid until ", iso8601(st.cert->not_after), ", not due");
        }
    }
    return issue_zones(todo);
}

int Runner::issue(const std::vector<std::string>& names, bool force) {
    const auto now = system_clock::now();
    std::vector<DnsName> todo;
    for (const std::string& text : names) {
        std::string error;
        auto zone = DnsName::try_parse(text, &error);
        if (!zone) {
            throw ConfigError("issue: invalid zone name \"" + text + "\": " + error);
        }
        if (std::find(config_.zones.begin(), config_.zones.end(), *zone) == config_.zones.end()) {
            throw ConfigError("issue: " + zone->text() +
                              " is not a configured zone (add it to [zones] in " + config_.origin +
                              ")");
        }
        if (std::find(todo.begin(), todo.end(), *zone) != todo.end()) {
            continue;
        }
        ZoneStatus st = zone_status(*zone, now);
        if (force || st.needs_issuing()) {
            todo.push_back(*zone);
        } else {
            log_info(zone->text(), ": valid until ", iso8601(st.cert->not_after),
                     ", not due (--force to issue anyway)");
        }
    }
    return issue_zones(todo);
}

int Runner::status(bool json, std::ostream& out) {
    const auto now = system_clock::now();
    bool all_valid = true;
    Json::Value list(Json::arrayValue);
    std::vector<ZoneStatus> rows;
    for (const DnsName& zone : config_.zones) {
        rows.push_back(zone_status(zone, now));
        all_valid = all_valid && rows.back().state == "valid";
    }
    if (json) {
        for (const ZoneStatus& st : rows) {
            Json::Value z(Json::objectValue);
            z["zone"] = st.zone.text();
            z["state"] = st.state;
            Json::Value names(Json::arrayValue);
            if (st.cert) {
                for (const std::string& n : st.cert->dns_names) {
                    names.append(n);
                }
                z["not_before"] = iso8601(st.cert->not_before);
                z["not_after"] = iso8601(st.cert->not_after);
                z["days_left"] = std::floor(days_between(now, st.cert->not_after) * 10) / 10;
                z["serial"] = st.cert->serial_hex;
                z["issuer"] = st.cert->issuer;
            } else {
                z["not_after"] = Json::Value::null;
                z["days_left"] = Json::Value::null;
            }
            z["names"] = names;
            if (!st.problem.empty()) {
                z["problem"] = st.problem;
            }
            z["last_result"] = st.last_result;
            z["last_attempt"] = st.last_attempt;
            z["last_error"] = st.last_error;
            list.append(z);
        }
        Json::StreamWriterBuilder w;
        w["indentation"] = "  ";
        out << Json::writeString(w, list) << "\n";
    } else {
        out << std::left << std::setw(32) << "ZONE" << std::setw(9) << "STATE" << std::setw(22)
            << "NOT AFTER" << std::setw(10) << "DAYS LEFT"
            << "NAMES / LAST ERROR\n";
        for (const ZoneStatus& st : rows) {
            std::string names;
            for (const std::string& n : st.cert ? st.cert->dns_names : std::vector<std::string>{}) {
                names += (names.empty() ? "" : ", ") + n;
            }
            std::ostringstream days;
            if (st.cert) {
                days << std::fixed << std::setprecision(1) << days_between(now, st.cert->not_after);
            }
            out << std::left << std::setw(32) << st.zone.text() << std::setw(9) << st.state
                << std::setw(22) << (st.cert ? iso8601(st.cert->not_after) : "-") << std::setw(10)
                << (st.cert ? days.str() : "-") << (names.empty() ? "-" : names);
            if (!st.problem.empty()) {
                out << "  (" << st.problem << ")";
            }
            if (st.last_result == "failed") {
                out << "  last attempt " << st.last_attempt << " failed: " << st.last_error;
            }
            out << "\n";
        }
    }
    return all_valid ? kExitOk : kExitFailed;
}

}  // namespace acmezone::issuer
