// libFuzzer target: what the issuer reads from the CA's answers.
//
// AcmeClient reads every body through parse_json (jsoncpp with its
// default settings; acme_client.h) and then one of
// the parsers acme_client.h exposes: parse_order (new order, finalize, poll),
// parse_authorization (authorizations, with their challenges and errors) and
// AcmeProblem::from_json (problem documents, nested subproblems). The
// directory and account answers are only looked up key by key (no parser of
// their own is exposed); their look-ups are repeated here. The CA's headers
// go through parse_retry_after and find_link (http_client.h): the input's
// first line is used as a Retry-After value and as a Link header too.
//
// The input is one body; every parser sees it. Normal outcomes: AcmeError
// (the documented refusal of a malformed answer) and a body that is not
// JSON. Anything else thrown, and any sanitizer report, is a finding. The
// time given to parse_retry_after is fixed, for determinism.
#include <json/value.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "issuer/acme/acme_client.h"
#include "issuer/acme/http_client.h"
#include "issuer/json/json_text.h"

namespace {

using namespace acmezone::issuer;

constexpr const char* kUrl = "https://ca.test/acme/x/1";

void read_problem(const Json::Value& doc) {
    const AcmeProblem p = AcmeProblem::from_json(doc, 0);
    (void)p.to_string();
    (void)p.short_type();
    (void)AcmeProblem::from_json(doc, 429).to_string();
}

void read_authorization(const Json::Value& doc) {
    try {
        const AcmeAuthorization a = parse_authorization(doc, kUrl);
        (void)a.find_challenge("dns-01");
        if (const auto e = a.first_error()) {
            (void)e->to_string();
        }
    } catch (const AcmeError& e) {
        (void)e.problem().to_string();
    }
}

void read_order(const Json::Value& doc) {
    try {
        const AcmeOrder o = parse_order(doc, kUrl);
        if (o.error) {
            (void)o.error->to_string();
        }
    } catch (const AcmeError& e) {
        (void)e.problem().to_string();
    }
}

// What fetch_directory() and account_url() read of those answers.
void read_directory(const Json::Value& doc) {
    if (!doc.isObject()) {
        return;
    }
    for (const char* key : {"newNonce", "newAccount", "newOrder", "revokeCert", "keyChange"}) {
        const Json::Value& v = doc[key];
        if (v.isString()) {
            (void)v.asString();
        }
    }
    const Json::Value& meta = doc["meta"];
    if (meta.isObject() && meta["termsOfService"].isString()) {
        (void)meta["termsOfService"].asString();
    }
    if (doc["status"].isString()) {
        (void)doc["status"].asString();
    }
}

void read_headers(const std::string& line) {
    const auto at = std::chrono::system_clock::time_point(std::chrono::seconds(1767225600));
    (void)parse_retry_after(line, at);
    const std::vector<std::string> links{line, "<" + std::string(kUrl) + ">;rel=\"up\"", line};
    for (const char* rel : {"up", "index", "alternate"}) {
        (void)find_link(links, rel);
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string body(reinterpret_cast<const char*>(data), size);
    read_headers(body.substr(0, body.find('\n')));

    const std::optional<Json::Value> parsed = parse_json(body);
    if (!parsed) {
        return 0;  // "not JSON": the client reports the HTTP status instead
    }
    const Json::Value& doc = *parsed;
    read_problem(doc);
    read_authorization(doc);
    read_order(doc);
    read_directory(doc);
    return 0;
}
