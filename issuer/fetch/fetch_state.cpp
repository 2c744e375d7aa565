// See fetch_state.h.
#include "issuer/fetch/fetch_state.h"

#include <json/json.h>

#include <algorithm>
#include <memory>

#include "common/file_io.h"
#include "common/log.h"
#include "common/utc_time.h"
#include "issuer/certs/cert_store.h"
#include "issuer/json/json_text.h"

namespace acmezone::issuer {
namespace fs = std::filesystem;
namespace {

std::string text_of(const Json::Value& v, const char* name) {
    const Json::Value& m = v[name];
    return m.isString() ? m.asString() : "";
}

}  // namespace

fs::path fetch_state_path(const fs::path& target) {
    return target / ".fetch-state.json";
}

FetchState parse_fetch_state(std::string_view text) {
    FetchState state;
    const std::optional<Json::Value> v = parse_json(text, nullptr, {.max_depth = 20});
    if (!v || !v->isObject() || !(*v)["zones"].isObject()) {
        return state;
    }
    const Json::Value& zones = (*v)["zones"];
    for (const std::string& name : zones.getMemberNames()) {
        const Json::Value& z = zones[name];
        if (!z.isObject() || !DnsName::try_parse(name)) {
            continue;
        }
        state[name] = ZoneFetchRecord{text_of(z, "last_fetch"), text_of(z, "last_success"),
                                      text_of(z, "last_error"), text_of(z, "server")};
    }
    return state;
}

FetchState read_fetch_state(const fs::path& target) {
    std::error_code ec;
    if (!fs::exists(fetch_state_path(target), ec)) {
        return {};
    }
    try {
        return parse_fetch_state(read_file(fetch_state_path(target)));
    } catch (const std::exception& e) {
        log_warning(e.what(), " (the fetch state starts empty)");
        return {};
    }
}

void write_fetch_state(const fs::path& target, const FetchState& state) {
    Json::Value zones(Json::objectValue);
    for (const auto& [name, r] : state) {
        Json::Value z;
        z["last_fetch"] = r.last_fetch;
        z["last_success"] = r.last_success;
        z["last_error"] = r.last_error;
        z["server"] = r.server;
        zones[name] = z;
    }
    Json::Value root;
    root["zones"] = zones;
    Json::StreamWriterBuilder w;
    w["indentation"] = "  ";
    write_file_atomic(fetch_state_path(target), Json::writeString(w, root) + "\n", 0644);
}

int print_fetch_status(const fs::path& target, const std::vector<DnsName>& zones, bool json,
                       std::ostream& out) {
    const FetchState state = read_fetch_state(target);
    std::vector<DnsName> all = zones;
    for (const auto& [name, record] : state) {
        const DnsName z = DnsName::parse(name);
        if (std::find(all.begin(), all.end(), z) == all.end()) {
            all.push_back(z);
        }
    }
    const CertStore store(target);
    int status = 0;
    Json::Value list(Json::arrayValue);
    for (const DnsName& zone : all) {
        const auto it = state.find(zone.text());
        const ZoneFetchRecord r = it == state.end() ? ZoneFetchRecord{} : it->second;
        const auto version = store.current_version(zone);
        std::string not_after;
        try {
            if (auto info = store.current(zone)) {
                not_after = format_utc(info->not_after);
            }
        } catch (const std::exception&) {
            not_after = "";  // a broken cert.pem: shown as no expiry
        }
        if (!version || !r.last_error.empty()) {
            status = 1;
        }
        if (json) {
            Json::Value z;
            z["zone"] = zone.text();
            z["version"] = version ? Json::Value(std::to_string(*version)) : Json::Value();
            z["not_after"] = not_after.empty() ? Json::Value() : Json::Value(not_after);
            z["last_fetch"] = r.last_fetch;
            z["last_success"] = r.last_success;
            z["last_error"] = r.last_error;
            z["server"] = r.server;
            list.append(z);
            continue;
        }
        out << zone.text() << ": "
            << (version ? "version " + std::to_string(*version) : std::string("not installed"))
            << (not_after.empty() ? "" : ", expires " + not_after) << ", last fetch "
            << (r.last_fetch.empty() ? "never" : r.last_fetch)
            << (r.server.empty() ? "" : " (" + r.server + ")") << ", last success "
            << (r.last_success.empty() ? "never" : r.last_success)
            << (r.last_error.empty() ? "" : ", last error: " + r.last_error) << "\n";
    }
    if (json) {
        Json::Value root;
        root["zones"] = list;
        Json::StreamWriterBuilder w;
        w["indentation"] = "  ";
        out << Json::writeString(w, root) << "\n";
    }
    return status;
}

}  // namespace acmezone::issuer
