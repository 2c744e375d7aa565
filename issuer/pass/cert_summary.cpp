// See cert_summary.h.
#include "issuer/pass/cert_summary.h"

#include <openssl/pem.h>
#include <openssl/x509.h>

#include <algorithm>
#include <system_error>

#include "common/file_io.h"
#include "common/log.h"
#include "common/utc_time.h"
#include "issuer/acme/ari.h"

namespace acmezone::issuer {
namespace fs = std::filesystem;
namespace {

Json::Value stamp_json(const FileStamp& s) {
    Json::Value j(Json::objectValue);
    j["device"] = Json::UInt64{s.device};
    j["inode"] = Json::UInt64{s.inode};
    j["size"] = Json::UInt64{s.size};
    j["mtime_ns"] = Json::Int64{s.mtime_ns};
    return j;
}

std::optional<FileStamp> stamp_from(const Json::Value& j) {
    if (!j.isObject() || !j["device"].isUInt64() || !j["inode"].isUInt64() ||
        !j["size"].isUInt64() || !j["mtime_ns"].isInt64()) {
        return std::nullopt;
    }
    return FileStamp{j["device"].asUInt64(), j["inode"].asUInt64(), j["size"].asUInt64(),
                     j["mtime_ns"].asInt64()};
}

Json::Value info_json(const CertInfo& info) {
    Json::Value j(Json::objectValue);
    j["names"] = Json::Value(Json::arrayValue);
    for (const std::string& n : info.dns_names) {
        j["names"].append(n);
    }
    j["not_before"] = format_utc(info.not_before);
    j["not_after"] = format_utc(info.not_after);
    j["serial"] = info.serial_hex;
    j["issuer"] = info.issuer;
    return j;
}

std::optional<CertInfo> info_from(const Json::Value& j) {
    if (!j.isObject() || !j["names"].isArray() || !j["not_before"].isString() ||
        !j["not_after"].isString() || !j["serial"].isString() || !j["issuer"].isString()) {
        return std::nullopt;
    }
    CertInfo info;
    for (const Json::Value& n : j["names"]) {
        if (!n.isString()) {
            return std::nullopt;
        }
        info.dns_names.push_back(n.asString());
    }
    const auto not_before = parse_utc(j["not_before"].asString());
    const auto not_after = parse_utc(j["not_after"].asString());
    if (!not_before || !not_after) {
        return std::nullopt;
    }
    info.not_before = *not_before;
    info.not_after = *not_after;
    info.serial_hex = j["serial"].asString();
    info.issuer = j["issuer"].asString();
    return info;
}

Json::Value cert_json(const CertSummary& c) {
    Json::Value j = info_json(c.info);
    j["file"] = c.file;
    j["stamp"] = stamp_json(c.stamp);
    j["key_type"] = std::string(to_string(c.type));
    j["top_level"] = c.top_level;
    j["cert_id"] = c.cert_id;
    if (c.scts) {
        j["scts"] = Json::Value(Json::arrayValue);
        for (const SctInfo& s : *c.scts) {
            Json::Value one(Json::objectValue);
            one["log_id"] = s.log_id;
            one["timestamp_ms"] = Json::Int64{std::chrono::duration_cast<std::chrono::milliseconds>(
                                                  s.timestamp.time_since_epoch())
                                                  .count()};
            j["scts"].append(one);
        }
    } else {
        j["sct_error"] = c.sct_error;
    }
    return j;
}

std::optional<CertSummary> cert_from(const Json::Value& j) {
    if (!j.isObject() || !j["file"].isString() || !j["key_type"].isString() ||
        !j["top_level"].isBool() || !j["cert_id"].isString()) {
        return std::nullopt;
    }
    const auto info = info_from(j);
    const auto stamp = stamp_from(j["stamp"]);
    const auto type = key_type_from_name(j["key_type"].asString());
    if (!info || !stamp || !type) {
        return std::nullopt;
    }
    CertSummary c;
    c.file = j["file"].asString();
    c.stamp = *stamp;
    c.type = *type;
    c.top_level = j["top_level"].asBool();
    c.info = *info;
    c.cert_id = j["cert_id"].asString();
    if (j["scts"].isArray()) {
        std::vector<SctInfo> scts;
        for (const Json::Value& s : j["scts"]) {
            if (!s.isObject() || !s["log_id"].isString() || !s["timestamp_ms"].isInt64()) {
                return std::nullopt;
            }
            SctInfo sct;
            sct.log_id = s["log_id"].asString();
            sct.timestamp = std::chrono::system_clock::time_point(
                std::chrono::milliseconds(s["timestamp_ms"].asInt64()));
            scts.push_back(std::move(sct));
        }
        c.scts = std::move(scts);
    } else if (j["sct_error"].isString()) {
        c.sct_error = j["sct_error"].asString();
    } else {
        return std::nullopt;
    }
    return c;
}

// Every file `s` was read from is as it was then.
bool still_describes(const fs::path& current, const CurrentSummary& s) {
    for (const CertSummary& c : s.certs) {
        if (file_stamp(current / c.file) != c.stamp) {
            return false;
        }
    }
    return !s.top_stamp || file_stamp(current / "cert.pem") == s.top_stamp;
}

// "" when there is none (status asks this of every zone).
std::string current_target(const fs::path& zone_dir) {
    return read_link(zone_dir / "current").value_or("");
}

}  // namespace

Json::Value to_json(const CurrentSummary& s) {
    Json::Value j(Json::objectValue);
    j["version"] = s.version;
    j["certs"] = Json::Value(Json::arrayValue);
    for (const CertSummary& c : s.certs) {
        j["certs"].append(cert_json(c));
    }
    if (s.top) {
        j["top"] = info_json(*s.top);
        if (s.top_stamp) {
            j["top"]["stamp"] = stamp_json(*s.top_stamp);
        }
    }
    return j;
}

std::optional<CurrentSummary> current_summary_from_json(const Json::Value& doc) {
    if (!doc.isObject() || !doc["version"].isString() || !doc["certs"].isArray()) {
        return std::nullopt;
    }
    CurrentSummary s;
    s.version = doc["version"].asString();
    for (const Json::Value& j : doc["certs"]) {
        auto c = cert_from(j);
        if (!c) {
            return std::nullopt;
        }
        s.certs.push_back(std::move(*c));
    }
    if (doc.isMember("top")) {
        s.top = info_from(doc["top"]);
        if (!s.top) {
            return std::nullopt;
        }
        if (doc["top"].isMember("stamp")) {
            s.top_stamp = stamp_from(doc["top"]["stamp"]);
            if (!s.top_stamp) {
                return std::nullopt;
            }
        }
    }
    return s;
}

namespace {

// The top-level cert.pem of a version with key-type directories. The store
// links it to the first key type's cert.pem (cert_store.h): when it is one of
// `all`'s files, that one's facts, with no parse; else (a version written
// before the link) read and parsed.
void read_top(const CertStore& store, const DnsName& zone,
              const std::vector<CertStore::Current>& all, CurrentSummary& summary) {
    const fs::path current = store.zone_dir(zone) / "current";
    if (const auto top = file_stamp(current / "cert.pem")) {
        for (const CertStore::Current& c : all) {
            const auto stamp = file_stamp(current / std::string(to_string(c.type)) / "cert.pem");
            if (stamp && stamp->device == top->device && stamp->inode == top->inode) {
                summary.top = c.info;
                summary.top_stamp = top;
                return;
            }
        }
    }
    summary.top = store.current(zone);
    if (summary.top) {
        summary.top_stamp = file_stamp(current / "cert.pem");
        if (!summary.top_stamp) {
            summary.version.clear();
        }
    }
}

}  // namespace

CurrentRead read_current(const CertStore& store, const DnsName& zone,
                         const std::optional<CurrentSummary>& cached) {
    const fs::path zone_dir = store.zone_dir(zone);
    const fs::path current = zone_dir / "current";
    const std::string version = current_target(zone_dir);
    if (cached && cached->version == version && still_describes(current, *cached)) {
        return CurrentRead{*cached, true};
    }
    CurrentRead r;
    r.summary.version = version;
    if (version.empty()) {
        // Nothing to parse, so nothing worth a state write: kept only in
        // place of a summary that described a version (a zone never issued
        // gets no state file from this; a first pass over 1,000 zones wrote
        // 1,000 of them before ordering anything).
        r.from_cache = !cached || (cached->version.empty() && cached->certs.empty());
        r.keep = !r.from_cache;
        return r;
    }
    // Stamps are taken after the reads: the version `current` names is never
    // modified, so when `current` still names it afterwards, the stamps are
    // the stamps of what was read (else nothing is kept: version "").
    const std::vector<CertStore::Current> all = store.current_all(zone);
    for (const CertStore::Current& c : all) {
        CertSummary s;
        s.file = c.top_level ? "fullchain.pem" : std::string(to_string(c.type)) + "/fullchain.pem";
        s.type = c.type;
        s.top_level = c.top_level;
        s.info = c.info;
        try {
            s.cert_id = ari_cert_id(c.leaf.get());
        } catch (const std::exception& e) {
            log_debug(zone.text(), ": ", to_string(c.type), ": no ARI certID: ", e.what());
        }
        try {
            s.scts = read_scts(c.leaf.get()).scts;  // the leaf parsed once
        } catch (const std::exception& e) {
            s.sct_error = e.what();
        }
        const auto stamp = file_stamp(current / s.file);
        if (!stamp) {
            r.summary.version.clear();
        } else {
            s.stamp = *stamp;
        }
        r.summary.certs.push_back(std::move(s));
    }
    if (all.size() == 1 && all.front().top_level) {
        r.summary.top = all.front().info;
    } else {
        read_top(store, zone, all, r.summary);
    }
    if (current_target(zone_dir) != version) {
        r.summary.version.clear();  // switched meanwhile: read again next time
    }
    r.keep = !r.summary.version.empty();
    return r;
}

std::optional<CurrentSummary> summary_of_stored(const StoredSet& stored, const DnsName& zone) {
    if (current_target(stored.zone_dir) != stored.version) {
        return std::nullopt;  // switched since (another store): read the store
    }
    // As CertStore::current_all lists them: the key-type directories by
    // name, or a version without them its one certificate.
    std::vector<const StoredSet::Cert*> certs;
    for (const StoredSet::Cert& c : stored.certs) {
        if (c.type) {
            certs.push_back(&c);
        }
    }
    const bool top_level = certs.empty();
    if (top_level && !stored.certs.empty()) {
        certs.push_back(&stored.certs.front());
    }
    if (!top_level) {
        std::sort(certs.begin(), certs.end(),
                  [](const StoredSet::Cert* a, const StoredSet::Cert* b) {
                      return to_string(*a->type) < to_string(*b->type);
                  });
    }
    CurrentSummary summary;
    summary.version = stored.version;
    for (const StoredSet::Cert* c : certs) {
        const auto blocks = split_pem_chain(c->fullchain_pem);
        if (blocks.empty()) {
            return std::nullopt;
        }
        X509Ptr leaf;
        try {
            leaf = parse_leaf(blocks.front());  // as the issuance's check parsed it
        } catch (const CertCheckError&) {
            return std::nullopt;
        }
        CertSummary s;
        s.type = c->type ? *c->type : KeyType::ecdsa_p256;
        if (!c->type) {
            const auto type = key_type_of(X509_get0_pubkey(leaf.get()));
            if (!type) {
                return std::nullopt;  // a key of no known type: as read_current() says
            }
            s.type = *type;
        }
        s.file = top_level ? "fullchain.pem" : std::string(to_string(s.type)) + "/fullchain.pem";
        s.top_level = top_level;
        s.stamp = c->fullchain_stamp;
        s.info = read_certificate(leaf.get());
        try {
            s.cert_id = ari_cert_id(leaf.get());
        } catch (const std::exception& e) {
            log_debug(zone.text(), ": ", to_string(s.type), ": no ARI certID: ", e.what());
        }
        try {
            s.scts = read_scts(leaf.get()).scts;
        } catch (const std::exception& e) {
            s.sct_error = e.what();
        }
        summary.certs.push_back(std::move(s));
    }
    if (top_level) {
        if (!summary.certs.empty()) {
            summary.top = summary.certs.front().info;
        }
    } else {
        // The top-level cert.pem is the first key type's, linked (cert_store.h).
        const StoredSet::Cert& first = stored.certs.front();
        for (const CertSummary& s : summary.certs) {
            if (first.type && s.type == *first.type) {
                summary.top = s.info;
                summary.top_stamp = first.cert_stamp;
            }
        }
    }
    return summary;
}

}  // namespace acmezone::issuer
