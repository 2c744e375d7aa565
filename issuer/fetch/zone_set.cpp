// See zone_set.h.
#include "issuer/fetch/zone_set.h"

#include <json/json.h>
#include <openssl/crypto.h>
#include <openssl/pem.h>

#include <algorithm>
#include <memory>

#include "common/utc_time.h"
#include "issuer/certs/cert_check.h"
#include "issuer/certs/openssl_ptr.h"
#include "issuer/json/json_text.h"

namespace acmezone::issuer {
namespace {

constexpr const char* kFileNames[] = {"cert", "chain", "fullchain", "privkey"};

Json::Value parse_json_object(std::string_view body) {
    std::string why;
    std::optional<Json::Value> v = parse_json(body, &why, {.max_depth = 20, .strict = true});
    if (!v) {
        throw AnswerError("the answer is not JSON (" + why + ")");
    }
    if (!v->isObject()) {
        throw AnswerError("the answer is not a JSON object");
    }
    return *std::move(v);
}

const Json::Value& member(const Json::Value& object, const char* name, const std::string& where) {
    if (!object.isMember(name)) {
        throw AnswerError(where + "has no \"" + name + "\"");
    }
    return object[name];
}

std::string string_member(const Json::Value& object, const char* name, const std::string& where) {
    const Json::Value& v = member(object, name, where);
    if (!v.isString()) {
        throw AnswerError(where + "\"" + name + "\" is not a string");
    }
    return v.asString();
}

DnsName zone_member(const Json::Value& object, const std::string& where) {
    const std::string text = string_member(object, "zone", where);
    auto zone = DnsName::try_parse(text);
    if (!zone || zone->is_root()) {
        throw AnswerError(where + "\"zone\" is not a zone name");
    }
    return *zone;
}

unsigned long version_member(const Json::Value& object, const std::string& where) {
    auto n = parse_version(string_member(object, "version", where));
    if (!n) {
        throw AnswerError(where + "\"version\" is not a version number");
    }
    return *n;
}

KeySetFiles key_set(const std::string& type_name, const Json::Value& files) {
    const auto type = key_type_from_name(type_name);
    const std::string where = "key type \"" + type_name.substr(0, 40) + "\": ";
    if (!type) {
        throw AnswerError(where + "unknown (expected one of " + key_type_names() + ")");
    }
    if (!files.isObject()) {
        throw AnswerError(where + "not an object");
    }
    KeySetFiles k;
    k.type = *type;
    std::string* out[] = {&k.cert, &k.chain, &k.fullchain, &k.privkey};
    for (std::size_t i = 0; i < 4; ++i) {
        *out[i] = string_member(files, kFileNames[i], where);
    }
    return k;
}

// Whether the leaf of `cert_pem` carries `public_der` (a message of
// check_certificate() would speak of the issuer's CSR).
bool certifies(const std::string& cert_pem, const std::string& public_der) {
    BioPtr bio = memory_bio(cert_pem);
    X509Ptr x(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
    return x && public_key_der(X509_get0_pubkey(x.get())) == public_der;
}

void wipe(std::string& s) {
    OPENSSL_cleanse(s.data(), s.size());
    s.clear();
}

}  // namespace

ZoneSet::~ZoneSet() {
    for (KeySetFiles& k : keys) {
        wipe(k.privkey);
    }
}

std::optional<unsigned long> parse_version(std::string_view text) {
    if (text.empty() || text.size() > 12 || (text.size() > 1 && text[0] == '0') ||
        text.find_first_not_of("0123456789") != std::string_view::npos) {
        return std::nullopt;
    }
    const unsigned long n = std::stoul(std::string(text));
    if (n == 0 || n > kMaxVersion) {
        return std::nullopt;
    }
    return n;
}

ZoneSet parse_zone_set(std::string_view body) {
    const Json::Value v = parse_json_object(body);
    ZoneSet set;
    set.zone = zone_member(v, "");
    set.version = version_member(v, "");
    auto written = parse_utc(string_member(v, "written", ""));
    if (!written) {
        throw AnswerError("\"written\" is not a UTC time");
    }
    set.written = *written;
    const Json::Value& keys = member(v, "keys", "");
    if (!keys.isObject() || keys.empty()) {
        throw AnswerError("\"keys\" is not an object holding at least one key type");
    }
    for (const std::string& name : keys.getMemberNames()) {
        set.keys.push_back(key_set(name, keys[name]));
    }
    if (v.isMember("default_key_type")) {
        const Json::Value& d = v["default_key_type"];
        const auto type = d.isString() ? key_type_from_name(d.asString()) : std::nullopt;
        auto it = set.keys.end();
        if (type) {
            const KeyType wanted = *type;
            it = std::find_if(set.keys.begin(), set.keys.end(),
                              [wanted](const KeySetFiles& k) { return k.type == wanted; });
        }
        if (it == set.keys.end()) {
            throw AnswerError("\"default_key_type\" names none of the key types in \"keys\"");
        }
        std::rotate(set.keys.begin(), it, it + 1);
    }
    return set;
}

std::vector<ZoneListing> parse_zone_listing(std::string_view body) {
    const Json::Value v = parse_json_object(body);
    const Json::Value& zones = member(v, "zones", "");
    if (!zones.isArray()) {
        throw AnswerError("\"zones\" is not an array");
    }
    std::vector<ZoneListing> out;
    for (Json::ArrayIndex i = 0; i < zones.size(); ++i) {
        const std::string where = "zones[" + std::to_string(i) + "]: ";
        if (!zones[i].isObject()) {
            throw AnswerError(where + "not an object");
        }
        ZoneListing z{zone_member(zones[i], where), version_member(zones[i], where)};
        for (const ZoneListing& have : out) {
            if (have.zone == z.zone) {
                throw AnswerError(where + "zone " + z.zone.text() + " listed twice");
            }
        }
        out.push_back(std::move(z));
    }
    return out;
}

void check_zone_set(ZoneSet& set, const DnsName& asked,
                    const std::optional<std::string>& trust_file) {
    if (!(set.zone == asked)) {
        throw AnswerError("the answer is for zone " + set.zone.text() + ", not " + asked.text());
    }
    const auto wildcard = DnsName::try_parse("*." + asked.text());
    if (!wildcard) {
        throw AnswerError("zone " + asked.text() + " is too long to have a wildcard name");
    }
    const std::vector<DnsName> names{asked, *wildcard};
    bool first = true;
    for (const KeySetFiles& k : set.keys) {
        const std::string where = std::string(to_string(k.type)) + ": ";
        std::optional<CertKey> key;
        try {
            key.emplace(CertKey::from_pem(k.privkey, "the private key"));
        } catch (const std::exception& e) {
            throw AnswerError(where + e.what());
        }
        if (key_type_of(key->get()) != k.type) {
            throw AnswerError(where + "the private key is not of that type");
        }
        if (k.cert + k.chain != k.fullchain) {
            throw AnswerError(where + "fullchain is not cert followed by chain");
        }
        if (!certifies(k.cert, key->public_der())) {
            throw AnswerError(where + "the private key is not the certificate's key");
        }
        CertInfo info;
        try {
            if (split_pem_chain(k.cert).size() != 1) {
                throw CertCheckError("cert holds more than one certificate");
            }
            info = check_certificate(k.fullchain, key->public_der(), names, trust_file);
        } catch (const CertCheckError& e) {
            throw AnswerError(where + e.what());
        }
        if (first || info.not_after < set.not_after) {
            set.not_after = info.not_after;
        }
        first = false;
    }
}

}  // namespace acmezone::issuer
