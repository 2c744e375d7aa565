// The fleet view: which host last fetched which version of each zone, and
// when. `serve` records every answered zone request of a host (200: it now
// holds that version; 304: it holds the served one) and keeps the record in
// STATE-DIR/fleet.json, which `acmezone-issuer status --fleet` reads (another
// process):
//
//     {"format": 1, "written": "2026-12-05T08:00:00Z",
//      "zones": {"example.com": {"web1.example.net":
//                    {"version": "3", "status": 200, "at": "2026-12-05T07:59:58Z"}}}}
//
// A host is its client certificate's first name (client_identity.h). A host
// is outdated for a zone when the version it last fetched is older than the
// one served now (staging.h): it has not fetched the current one.
//
// The file is written atomically (common/file_io.h) by server.cpp at most
// once every few seconds when something changed, and at SIGTERM; never per
// request. No lock: one thread (serve's) owns a FleetView.
#pragma once

#include <chrono>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace acmezone::issuer {

struct HostFetch {
    unsigned long version = 0;  // the version it holds, as far as serve knows
    unsigned status = 0;        // 200 or 304
    std::chrono::system_clock::time_point at;
};

// zone (text) -> host -> its last fetch.
using FleetHosts = std::map<std::string, HostFetch>;
using FleetZones = std::map<std::string, FleetHosts>;

struct FleetView {
    FleetZones zones;
    std::optional<std::chrono::system_clock::time_point> written;  // as read back

    // A 200 or 304 answered to `host` for `zone` with `version`.
    void record(const std::string& zone, const std::string& host, unsigned long version,
                unsigned status, std::chrono::system_clock::time_point at);
};

// Whether `fetch` holds a version older than `served` (nullopt: nothing is
// served now, so no host is behind).
bool outdated(const HostFetch& fetch, const std::optional<unsigned long>& served);
// How many of `hosts` are outdated.
unsigned count_outdated(const FleetHosts& hosts, const std::optional<unsigned long>& served);

// The JSON text above, with `written` = `now`.
std::string fleet_to_json(const FleetView& view, std::chrono::system_clock::time_point now);
// The view `text` holds; throws std::runtime_error saying what is wrong.
FleetView fleet_from_json(std::string_view text);

// STATE-DIR/fleet.json.
std::filesystem::path fleet_file(const std::filesystem::path& state_dir);
// The view in `path`; an empty view when the file does not exist. Throws
// std::runtime_error naming the path when it cannot be read or parsed.
FleetView load_fleet(const std::filesystem::path& path);

}  // namespace acmezone::issuer
