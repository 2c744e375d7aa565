// See fleet_command.h.
#include "issuer/cli/fleet_command.h"

#include <json/value.h>
#include <json/writer.h>

#include <iomanip>

#include "common/error.h"
#include "common/utc_time.h"
#include "issuer/pass/runner.h"
#include "issuer/serve/fleet_view.h"
#include "issuer/serve/zone_answers.h"

namespace acmezone::issuer {
namespace {

// One configured zone: the version served now and the hosts that fetched it.
struct ZoneFleet {
    DnsName zone;
    std::optional<unsigned long> serving;
    const FleetHosts* hosts = nullptr;  // nullptr: none
    unsigned outdated = 0;
};

Json::Value zone_json(const ZoneFleet& z) {
    Json::Value j(Json::objectValue);
    j["zone"] = z.zone.text();
    j["serving"] = z.serving ? Json::Value(std::to_string(*z.serving)) : Json::Value::null;
    j["hosts_outdated"] = z.outdated;
    Json::Value hosts(Json::arrayValue);
    for (const auto& [host, f] : z.hosts ? *z.hosts : FleetHosts{}) {
        Json::Value h(Json::objectValue);
        h["host"] = host;
        h["version"] = std::to_string(f.version);
        h["last_fetch"] = format_utc(f.at);
        h["last_status"] = f.status;
        h["outdated"] = outdated(f, z.serving);
        hosts.append(h);
    }
    j["hosts"] = hosts;
    return j;
}

void print_zone(const ZoneFleet& z, std::ostream& out) {
    const std::size_t n = z.hosts ? z.hosts->size() : 0;
    out << z.zone.text() << ": "
        << (z.serving ? "serving version " + std::to_string(*z.serving) : "nothing served") << "; "
        << n << (n == 1 ? " host, " : " hosts, ") << z.outdated << " outdated\n";
    for (const auto& [host, f] : z.hosts ? *z.hosts : FleetHosts{}) {
        out << "  " << std::left << std::setw(40) << host << " version " << std::setw(6)
            << f.version << " last fetch " << format_utc(f.at) << " (" << f.status << ")"
            << (outdated(f, z.serving) ? "  outdated" : "") << "\n";
    }
}

}  // namespace

int fleet_status_command(const IssuerConfig& config, bool json, std::ostream& out) {
    if (!config.serve) {
        throw ConfigError(config.origin +
                          ": status --fleet needs the [serve] section serve runs with");
    }
    const auto path = fleet_file(config.state_dir);
    FleetView view;
    try {
        view = load_fleet(path);
    } catch (const std::exception& e) {
        throw ConfigError(std::string(e.what()) + " (serve rewrites it within seconds)");
    }
    const ZoneAnswers answers(config);
    std::vector<ZoneFleet> zones;
    bool any_outdated = false;
    for (const DnsName& zone : config.zones) {
        ZoneFleet z{zone, answers.served_version(zone)};
        if (const auto it = view.zones.find(zone.text()); it != view.zones.end()) {
            z.hosts = &it->second;
            z.outdated = count_outdated(it->second, z.serving);
        }
        any_outdated = any_outdated || z.outdated > 0;
        zones.push_back(z);
    }
    if (json) {
        Json::Value root(Json::objectValue);
        root["fleet_file"] = path.string();
        root["written"] = view.written ? Json::Value(format_utc(*view.written)) : Json::Value::null;
        Json::Value list(Json::arrayValue);
        for (const ZoneFleet& z : zones) {
            list.append(zone_json(z));
        }
        root["zones"] = list;
        Json::StreamWriterBuilder w;
        w["indentation"] = "  ";
        out << Json::writeString(w, root) << "\n";
    } else {
        out << "fleet view of " << path.string() << ", written "
            << (view.written ? format_utc(*view.written) : "never (serve answered no fetch yet)")
            << "\n";
        for (const ZoneFleet& z : zones) {
            print_zone(z, out);
        }
    }
    return any_outdated ? kExitFailed : kExitOk;
}

}  // namespace acmezone::issuer
