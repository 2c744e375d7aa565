// See zone_answers.h.
#include "issuer/serve/zone_answers.h"

#include <json/json.h>

#include <algorithm>

#include "common/utc_time.h"
#include "issuer/certs/cert_check.h"
#include "issuer/serve/staging.h"

namespace acmezone::issuer {
namespace {

constexpr int kReadTries = 3;  // a version removed while read: take the new one

std::string to_json(const Json::Value& v) {
    Json::StreamWriterBuilder b;
    b["indentation"] = "";
    return Json::writeString(b, v) + "\n";
}

}  // namespace

ZoneAnswers::ZoneAnswers(const IssuerConfig& config, bool watch_store)
    : config_(config),
      store_(config.certs_dir),
      configured_(config.zones.begin(), config.zones.end()) {
    if (watch_store) {
        links_.emplace(store_);
    }
}

std::optional<unsigned long> ZoneAnswers::current_version(const DnsName& zone) const {
    return links_ ? links_->current_version(zone) : store_.current_version(zone);
}

std::string ZoneAnswers::not_after(const DnsName& zone, const StoredVersion& v) const {
    const auto found = not_after_.find(zone);
    if (found != not_after_.end() && found->second.first == v.number) {
        return found->second.second;
    }
    std::string text = format_utc(read_certificate(v.files.front().cert_pem).not_after);
    not_after_[zone] = {v.number, text};
    return text;
}

std::optional<StoredVersion> ZoneAnswers::read_version(const DnsName& zone, unsigned long n) const {
    const auto known = top_type_.find(zone);
    const bool hinted = known != top_type_.end() && known->second.number == n;
    auto v = store_.read_version(
        zone, n, hinted ? std::optional<KeyType>(known->second.type) : std::nullopt);
    if (v && hinted && v->written != known->second.written) {
        v = store_.read_version(zone, n);  // another directory of that number: looked at anew
    }
    if (v && v->files.size() == 1) {
        top_type_[zone] = {n, v->written, v->files.front().type};
    }
    return v;
}

std::optional<unsigned long> ZoneAnswers::served_version(const DnsName& zone) const {
    if (!configured_.contains(zone)) {
        return std::nullopt;
    }
    const auto current = current_version(zone);
    if (!current) {
        return std::nullopt;
    }
    const std::chrono::seconds stage_for = config_.serve->stage_for;
    if (stage_for.count() == 0) {
        return current;
    }
    const auto written = store_.version_written(zone, *current);
    if (!written) {
        return std::nullopt;
    }
    return version_to_serve({*current, *written}, store_.previous_version(zone), stage_for,
                            std::chrono::system_clock::now());
}

bool ZoneAnswers::may_fetch(const DnsName& zone,
                            const std::vector<std::string>& client_names) const {
    return configured_.contains(zone) && config_.serve->access.allowed(zone, client_names);
}

Answer ZoneAnswers::not_found() {
    return error(404, "no such zone");
}

Answer ZoneAnswers::error(unsigned status, const std::string& message) {
    Json::Value v;
    v["error"] = message;
    return Answer{status, to_json(v), "", ""};
}

Answer ZoneAnswers::zone_list(const std::vector<std::string>& client_names) const {
    Json::Value zones(Json::arrayValue);
    for (const DnsName& zone : config_.zones) {
        if (!may_fetch(zone, client_names)) {
            continue;
        }
        const auto n = served_version(zone);
        const auto v = n ? read_version(zone, *n) : std::nullopt;
        if (!v) {
            continue;
        }
        Json::Value z;
        z["zone"] = zone.text();
        z["version"] = std::to_string(v->number);
        z["not_after"] = not_after(zone, *v);
        zones.append(z);
    }
    Json::Value body;
    body["zones"] = zones;
    return Answer{200, to_json(body), "", ""};
}

Answer ZoneAnswers::zone(const DnsName& zone, const std::vector<std::string>& client_names,
                         const std::string& if_none_match) const {
    if (!may_fetch(zone, client_names)) {
        return not_found();
    }
    for (int attempt = 0; attempt < kReadTries; ++attempt) {
        const auto n = served_version(zone);
        if (!n) {
            return not_found();
        }
        const std::string version = std::to_string(*n);
        const std::string etag = "\"" + version + "\"";
        if (etag_matches(if_none_match, etag)) {
            return Answer{304, "", version, etag};
        }
        const auto v = read_version(zone, *n);
        if (!v) {
            continue;  // replaced since it was chosen
        }
        Json::Value body;
        body["zone"] = zone.text();
        body["version"] = version;
        body["written"] =
            format_utc(std::chrono::time_point_cast<std::chrono::seconds>(v->written));
        body["not_after"] = not_after(zone, *v);
        Json::Value keys(Json::objectValue);
        for (const VersionFiles& f : v->files) {
            Json::Value k;
            k["cert"] = f.cert_pem;
            k["chain"] = f.chain_pem;
            k["fullchain"] = f.fullchain_pem;
            k["privkey"] = f.privkey_pem;
            keys[std::string(to_string(f.type))] = k;
        }
        body["keys"] = keys;
        // The key type whose files are also at the top of the version.
        const bool has_first =
            std::any_of(v->files.begin(), v->files.end(),
                        [&](const VersionFiles& f) { return f.type == config_.key_type; });
        body["default_key_type"] =
            std::string(to_string(has_first ? config_.key_type : v->files.front().type));
        return Answer{200, to_json(body), version, etag};
    }
    return error(503, "the zone's versions changed while read; retry");
}

bool etag_matches(const std::string& if_none_match, const std::string& etag) {
    std::size_t pos = 0;
    while (pos < if_none_match.size()) {
        std::size_t comma = if_none_match.find(',', pos);
        if (comma == std::string::npos) {
            comma = if_none_match.size();
        }
        std::string item = if_none_match.substr(pos, comma - pos);
        pos = comma + 1;
        const auto first = item.find_first_not_of(" \t");
        if (first == std::string::npos) {
            continue;
        }
        item = item.substr(first, item.find_last_not_of(" \t") - first + 1);
        if (item.rfind("W/", 0) == 0) {
            item = item.substr(2);
        }
        if (item == "*" || item == etag) {
            return true;
        }
    }
    return false;
}

}  // namespace acmezone::issuer
