// See check_command.h.
#include "issuer/cli/check_command.h"

#include <json/value.h>
#include <json/writer.h>

#include <algorithm>
#include <iomanip>

#include "common/error.h"
#include "common/log.h"
#include "common/parallel.h"
#include "issuer/ca/ca_session.h"
#include "issuer/dns/challenge_dns.h"
#include "issuer/dns/precheck.h"

namespace acmezone::issuer {

namespace {

// The configured zones `names` names (all of them when none), each once.
std::vector<DnsName> checked_zones(const IssuerConfig& config,
                                   const std::vector<std::string>& names) {
    std::vector<DnsName> zones = configured_zones_named(config, names, "check");
    if (zones.empty()) {
        zones = config.zones;
    }
    return zones;
}

// precheck_zone for each zone, up to `parallel` at once, in the order given.
std::vector<PrecheckReport> run_checks(const IssuerConfig& config,
                                       const std::vector<DnsName>& zones) {
    const std::vector<std::string> identities = open_ca_session_to_look(config)->caa_identities();
    const ChallengeDns dns(config.dns);
    std::vector<PrecheckReport> reports(zones.size());
    for_each_index_parallel(config.parallel, zones.size(), [&](std::size_t i) {
        try {
            reports[i] = precheck_zone(zones[i], dns, identities);
        } catch (const std::exception& e) {
            reports[i].zone = zones[i];
            reports[i].findings.push_back(
                {"check", Finding::Result::failed, e.what(), "see the message"});
        }
    });  // returns once every report is complete
    return reports;
}

Json::Value report_json(const PrecheckReport& r) {
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
    return z;
}

void print_report(const PrecheckReport& r, std::ostream& out) {
    out << r.zone.text() << ": " << (r.failed() ? "FAILED" : "ok") << "\n";
    for (const Finding& f : r.findings) {
        out << "  " << std::left << std::setw(9) << Finding::result_name(f.result) << std::setw(16)
            << f.check << f.what << "\n";
        if (!f.fix.empty()) {
            out << std::string(2 + 9, ' ') << "fix: " << f.fix << "\n";
        }
    }
}

}  // namespace

int check_command(const IssuerConfig& config, const std::vector<std::string>& names, bool json,
                  std::ostream& out) {
    const std::vector<PrecheckReport> reports = run_checks(config, checked_zones(config, names));
    bool any_failed = false;
    Json::Value list(Json::arrayValue);
    for (const PrecheckReport& r : reports) {
        any_failed = any_failed || r.failed();
        if (json) {
            list.append(report_json(r));
        } else {
            print_report(r, out);
        }
    }
    if (json) {
        Json::StreamWriterBuilder w;
        w["indentation"] = "  ";
        out << Json::writeString(w, list) << "\n";
    }
    return any_failed ? 1 : 0;
}

}  // namespace acmezone::issuer
