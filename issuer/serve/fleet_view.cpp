// See fleet_view.h.
#include "issuer/serve/fleet_view.h"

#include <json/json.h>

#include <charconv>
#include <stdexcept>
#include <system_error>

#include "common/file_io.h"
#include "common/utc_time.h"
#include "issuer/json/json_text.h"

namespace acmezone::issuer {
namespace {

constexpr int kFormat = 1;

std::optional<unsigned long> parse_version(const std::string& text) {
    unsigned long n = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
    if (ec != std::errc() || end != text.data() + text.size() || text.empty()) {
        return std::nullopt;
    }
    return n;
}

[[noreturn]] void bad(const std::string& what) {
    throw std::runtime_error("fleet view: " + what);
}

HostFetch host_fetch_from_json(const std::string& where, const Json::Value& h) {
    if (!h.isObject() || !h["version"].isString() || !h["status"].isUInt() || !h["at"].isString()) {
        bad(where + ": needs \"version\" (string), \"status\" (number) and \"at\" (time)");
    }
    const auto version = parse_version(h["version"].asString());
    const auto at = parse_utc(h["at"].asString());
    if (!version || !at) {
        bad(where + ": version \"" + h["version"].asString() + "\" or time \"" +
            h["at"].asString() + "\" unreadable");
    }
    return HostFetch{*version, h["status"].asUInt(), *at};
}

}  // namespace

void FleetView::record(const std::string& zone, const std::string& host, unsigned long version,
                       unsigned status, std::chrono::system_clock::time_point at) {
    zones[zone][host] = HostFetch{version, status, at};
}

bool outdated(const HostFetch& fetch, const std::optional<unsigned long>& served) {
    return served && fetch.version < *served;
}

unsigned count_outdated(const FleetHosts& hosts, const std::optional<unsigned long>& served) {
    unsigned n = 0;
    for (const auto& [host, fetch] : hosts) {
        n += outdated(fetch, served) ? 1 : 0;
    }
    return n;
}

std::string fleet_to_json(const FleetView& view, std::chrono::system_clock::time_point now) {
    Json::Value zones(Json::objectValue);
    for (const auto& [zone, hosts] : view.zones) {
        Json::Value z(Json::objectValue);
        for (const auto& [host, f] : hosts) {
            Json::Value h(Json::objectValue);
            h["version"] = std::to_string(f.version);
            h["status"] = f.status;
            h["at"] = format_utc(f.at);
            z[host] = h;
        }
        zones[zone] = z;
    }
    Json::Value root(Json::objectValue);
    root["format"] = kFormat;
    root["written"] = format_utc(now);
    root["zones"] = zones;
    Json::StreamWriterBuilder w;
    w["indentation"] = " ";
    return Json::writeString(w, root) + "\n";
}

FleetView fleet_from_json(std::string_view text) {
    std::string why;
    const std::optional<Json::Value> v = parse_json(text, &why, {.max_depth = 8, .strict = true});
    if (!v) {
        bad("not JSON: " + why);
    }
    if (!v->isObject() || !(*v)["format"].isInt() || (*v)["format"].asInt() != kFormat ||
        !(*v)["zones"].isObject()) {
        bad("not format " + std::to_string(kFormat) +
            " (an object with \"format\": " + std::to_string(kFormat) + " and \"zones\")");
    }
    FleetView view;
    view.written = parse_utc((*v)["written"].asString());
    const Json::Value& zones = (*v)["zones"];
    for (const std::string& zone : zones.getMemberNames()) {
        const Json::Value& hosts = zones[zone];
        if (!hosts.isObject()) {
            bad(zone + ": not an object of hosts");
        }
        FleetHosts& out = view.zones[zone];
        for (const std::string& host : hosts.getMemberNames()) {
            out[host] = host_fetch_from_json(zone + " " + host, hosts[host]);
        }
    }
    return view;
}

std::filesystem::path fleet_file(const std::filesystem::path& state_dir) {
    return state_dir / "fleet.json";
}

FleetView load_fleet(const std::filesystem::path& path) {
    std::error_code ec;
    if (!std::filesystem::exists(path, ec) && !ec) {
        return {};
    }
    try {
        return fleet_from_json(read_file(path));
    } catch (const std::exception& e) {
        throw std::runtime_error(path.string() + ": " + e.what());
    }
}

}  // namespace acmezone::issuer
