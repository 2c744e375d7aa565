// See check_command.h.
#include "issuer/cli/check_command.h"

#include <json/reader.h>
#include <json/value.h>
#include <json/writer.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <iomanip>
#include <map>
#include <mutex>
#include <sstream>
#include <thread>

#include "common/error.h"
#include "common/log.h"
#include "issuer/ca/ca_session.h"
#include "issuer/dns/challenge_dns.h"
#include "issuer/dns/precheck.h"

namespace acmezone::issuer {

std::vector<std::string> ca_caa_identities(const IssuerConfig& config, HttpClient& http) {
    if (!config.caa_identities.empty()) {
        return config.caa_identities;
    }
    std::vector<std::string> out;
    try {
        HttpResponse r = http.get(config.directory);
        Json::CharReaderBuilder b;
        Json::Value doc;
        std::string errs;
        std::istringstream in(r.body);
        if (r.status != 200 || !Json::parseFromStream(b, in, &doc, &errs) || !doc.isObject()) {
            log_warning("ACME directory ", config.directory, ": HTTP ", r.status,
                        ", not a directory: CAA records cannot be matched to the CA");
            return out;
        }
        const Json::Value& ids = doc["meta"]["caaIdentities"];
        for (const Json::Value& id : ids.isArray() ? ids : Json::Value(Json::arrayValue)) {
            if (id.isString()) {
                out.push_back(id.asString());
            }
        }
        if (out.empty()) {
            log_debug("ACME directory ", config.directory,
                      " lists no meta.caaIdentities; [acme] caa-identity can supply them");
        }
    } catch (const std::exception& e) {
        log_warning("ACME directory ", config.directory, ": ", e.what(),
                    ": CAA records cannot be matched to the CA");
    }
    return out;
}

int check_command(const IssuerConfig& config, const std::vector<std::string>& names, bool json,
                  std::ostream& out) {
    std::vector<DnsName> zones;
    for (const std::string& text : names) {
        std::string error;
        auto zone = DnsName::try_parse(text, &error);
        if (!zone) {
            throw ConfigError("check: invalid zone name \"" + text + "\": " + error);
        }
        if (std::find(config.zones.begin(), config.zones.end(), *zone) == config.zones.end()) {
            throw ConfigError("check: " + zone->text() +
                              " is not a configured zone (add it to [zones] in " + config.origin +
                              ")");
        }
        if (std::find(zones.begin(), zones.end(), *zone) == zones.end()) {
            zones.push_back(*zone);
        }
    }
    if (zones.empty()) {
        zones = config.zones;
    }

    HttpClient http(http_settings(config));
    const std::vector<std::string> identities = ca_caa_identities(config, http);
    const ChallengeDns dns(config.dns);

    std::vector<PrecheckReport> reports(zones.size());
    std::atomic<std::size_t> next{0};
    auto worker = [&] {
        for (std::size_t i = next++; i < zones.size(); i = next++) {
            try {
                reports[i] = precheck_zone(zones[i], dns, identities);
            } catch (const std::exception& e) {
                reports[i].zone = zones[i];
                reports[i].findings.push_back(
                    {"check", Finding::Result::failed, e.what(), "see the message"});
            }
        }
    };
    {
        std::vector<std::jthread> threads;
        const std::size_t n = std::min<std::size_t>(config.parallel, zones.size());
        for (std::size_t t = 0; t < n; ++t) {
            threads.emplace_back(worker);
        }
    }  // joined: every report is complete

    bool any_failed = false;
    Json::Value list(Json::arrayValue);
    for (const PrecheckReport& r : reports) {
        any_failed = any_failed || r.failed();
        if (json) {
            Json::Value z(Json::objectValue);
            z["zone"] = r.zone.text();
            z["ok"] = !r.failed();
            Json::Value findings(Json::arrayValue);
            for (const Finding& f : r.findings) {
                Json::Value jf(Json::objectValue);
                jf["check"] = f.check;
                jf["result"] =
                    f.result == Finding::Result::failed ? "failed" : Finding::result_name(f.result);
                jf["what"] = f.what;
                jf["fix"] = f.fix;
                findings.append(jf);
            }
            z["findings"] = findings;
            list.append(z);
            continue;
        }
        out << r.zone.text() << ": " << (r.failed() ? "FAILED" : "ok") << "\n";
        for (const Finding& f : r.findings) {
            out << "  " << std::left << std::setw(9) << Finding::result_name(f.result)
                << std::setw(16) << f.check << f.what << "\n";
            if (!f.fix.empty()) {
                out << std::string(2 + 9, ' ') << "fix: " << f.fix << "\n";
            }
        }
    }
    if (json) {
        Json::StreamWriterBuilder w;
        w["indentation"] = "  ";
        out << Json::writeString(w, list) << "\n";
    }
    return any_failed ? 1 : 0;
}

std::optional<std::string> precheck_before_order(const IssuerConfig& config, const DnsName& zone) {
    // The CA's CAA identities, asked once per directory and configured list
    // (a SIGHUP that changes caa-identity takes effect), and again after an
    // hour, so a daemon running for months follows a CA that changes them.
    struct Known {
        std::vector<std::string> identities;
        std::chrono::steady_clock::time_point fetched;
    };
    constexpr auto kRefresh = std::chrono::hours(1);
    static std::mutex mutex;
    static std::map<std::string, Known> known;
    std::string key = config.directory;
    for (const std::string& id : config.caa_identities) {
        key += "\n" + id;
    }
    std::vector<std::string> identities;
    {
        std::lock_guard lock(mutex);
        const auto now = std::chrono::steady_clock::now();
        auto it = known.find(key);
        if (it == known.end() || now - it->second.fetched >= kRefresh) {
            HttpClient http(http_settings(config));
            Known fresh{ca_caa_identities(config, http), now};  // throws: nothing kept
            it = known.insert_or_assign(key, std::move(fresh)).first;
        }
        identities = it->second.identities;
    }
    const ChallengeDns dns(config.dns);
    const PrecheckReport report = precheck_zone(zone, dns, identities);
    for (const Finding& f : report.findings) {
        if (f.result == Finding::Result::warning) {
            log_info(zone.text(), ": check before ordering: ", f.check, ": ", f.what,
                     f.fix.empty() ? "" : " (" + f.fix + ")");
        }
    }
    if (!report.failed()) {
        log_debug(zone.text(), ": checks before ordering passed");
        return std::nullopt;
    }
    return "checks before ordering failed: " + report.failure_text();
}

}  // namespace acmezone::issuer
