// See acme_client.h.
#include "issuer/acme/acme_client.h"

#include <algorithm>
#include <memory>

#include "common/base64.h"
#include "common/interrupt.h"
#include "common/log.h"
#include "issuer/acme/jws.h"
#include "issuer/certs/cert_check.h"
#include "issuer/json/json_text.h"

namespace acmezone::issuer {
namespace {

constexpr const char* kAcmeErrorPrefix = "urn:ietf:params:acme:error:";
constexpr int kMaxBadNonceRetries = 10;
constexpr int kMaxAttempts = 1000;  // a backstop; the deadline ends retries first
constexpr std::chrono::seconds kMaxRetryInterval{60};

std::string str(const Json::Value& v, const char* key) {
    const Json::Value& m = v[key];
    return m.isString() ? m.asString() : std::string();
}

std::string required(const Json::Value& v, const char* key, const std::string& what) {
    const Json::Value& m = v[key];
    if (!m.isString() || m.asString().empty()) {
        throw AcmeError(what + ": the CA's answer has no \"" + key + "\"");
    }
    return m.asString();
}

std::optional<AcmeProblem> optional_problem(const Json::Value& v) {
    if (v.isObject()) {
        return AcmeProblem::from_json(v, 0);
    }
    return std::nullopt;
}

// badNonce is retried at once kMaxBadNonceRetries times, then like these
// (with a backoff, until the deadline): a CA rejecting half of all nonces
// makes 11 in a row about once in 2000 requests.
bool retryable(const AcmeProblem& p) {
    const std::string t = p.short_type();
    return t == "rateLimited" || t == "serverInternal" || t == "badNonce" || p.status >= 500;
}

std::string seconds_text(std::chrono::steady_clock::duration d) {
    return std::to_string(std::chrono::duration_cast<std::chrono::seconds>(d).count()) + " s";
}

}  // namespace

std::string AcmeProblem::short_type() const {
    if (type.rfind(kAcmeErrorPrefix, 0) == 0) {
        return type.substr(std::string_view(kAcmeErrorPrefix).size());
    }
    return type;
}

std::string AcmeProblem::to_string() const {
    std::string out = short_type().empty() ? std::string("error") : short_type();
    if (!detail.empty()) {
        out += ": " + detail;
    }
    if (status != 0) {
        out += " (HTTP " + std::to_string(status) + ")";
    }
    for (const std::string& s : subproblems) {
        out += "; " + s;
    }
    return out;
}

AcmeProblem AcmeProblem::from_json(const Json::Value& doc, long http_status) {
    AcmeProblem p;
    p.status = http_status;
    if (!doc.isObject()) {
        return p;
    }
    p.type = str(doc, "type");
    p.detail = str(doc, "detail");
    if (p.status == 0 && doc["status"].isInt()) {  // isIntegral() admits what asInt() throws on
        p.status = doc["status"].asInt();
    }
    const Json::Value& subs = doc["subproblems"];
    if (subs.isArray()) {
        for (const Json::Value& s : subs) {
            if (!s.isObject()) {
                continue;  // operator[] on a non-object would throw Json::LogicError
            }
            AcmeProblem sp = from_json(s, 0);
            std::string id = s["identifier"].isObject() ? str(s["identifier"], "value") : "";
            p.subproblems.push_back((id.empty() ? "" : id + ": ") + sp.short_type() + ": " +
                                    sp.detail);
        }
    }
    return p;
}

const AcmeChallenge* AcmeAuthorization::find_challenge(const std::string& type) const {
    for (const AcmeChallenge& c : challenges) {
        if (c.type == type) {
            return &c;
        }
    }
    return nullptr;
}

std::optional<AcmeProblem> AcmeAuthorization::first_error() const {
    for (const AcmeChallenge& c : challenges) {
        if (c.error) {
            return c.error;
        }
    }
    return std::nullopt;
}

AcmeAuthorization parse_authorization(const Json::Value& doc, const std::string& url) {
    const std::string what = "authorization " + url;
    if (!doc.isObject()) {
        throw AcmeError(what + ": the CA's answer is not a JSON object");
    }
    AcmeAuthorization a;
    a.url = url;
    a.status = required(doc, "status", what);
    if (!doc["identifier"].isObject()) {
        throw AcmeError(what + ": the CA's answer has no \"identifier\"");
    }
    a.identifier = required(doc["identifier"], "value", what);
    a.wildcard = doc["wildcard"].isBool() && doc["wildcard"].asBool();
    const Json::Value& chals = doc["challenges"];
    if (chals.isArray()) {
        for (const Json::Value& c : chals) {
            if (!c.isObject()) {
                continue;
            }
            AcmeChallenge ch;
            ch.type = str(c, "type");
            ch.url = str(c, "url");
            ch.token = str(c, "token");
            ch.status = str(c, "status");
            ch.error = optional_problem(c["error"]);
            a.challenges.push_back(std::move(ch));
        }
    }
    return a;
}

AcmeOrder parse_order(const Json::Value& doc, const std::string& url) {
    const std::string what = "order " + url;
    if (!doc.isObject()) {
        throw AcmeError(what + ": the CA's answer is not a JSON object");
    }
    AcmeOrder o;
    o.url = url;
    o.status = required(doc, "status", what);
    o.finalize = required(doc, "finalize", what);
    o.certificate = str(doc, "certificate");
    const Json::Value& authz = doc["authorizations"];
    if (!authz.isArray()) {
        throw AcmeError(what + ": the CA's answer has no \"authorizations\"");
    }
    for (const Json::Value& a : authz) {
        if (a.isString()) {
            o.authorizations.push_back(a.asString());
        }
    }
    o.error = optional_problem(doc["error"]);
    return o;
}

AcmeClient::AcmeClient(HttpClient& http, const AccountKey& key, AcmeSettings settings)
    : http_(http), key_(key), settings_(std::move(settings)) {}

Json::Value AcmeClient::directory_member(const std::string& name) {
    auto directory = directory_.lock();
    if (directory->isNull()) {
        *directory = fetch_directory();
    }
    const Json::Value& d = *directory;
    return d[name];
}

Json::Value AcmeClient::fetch_directory() {
    const auto deadline = Clock::now() + settings_.retry_deadline;
    auto backoff = settings_.retry_initial;
    std::string last;
    for (int attempt = 1; attempt <= kMaxAttempts; ++attempt) {
        std::optional<std::chrono::seconds> hint;
        try {
            HttpResponse r = http_.get(settings_.directory_url);
            keep_nonce(r);
            auto doc = parse_json(r.body);
            if (r.status == 200 && doc && doc->isObject() && (*doc)["newNonce"].isString()) {
                return *doc;
            }
            last = "HTTP " + std::to_string(r.status) +
                   (doc ? std::string(" (not an ACME directory)") : std::string(" (not JSON)"));
            if (r.status < 500) {
                throw AcmeError("ACME directory " + settings_.directory_url + ": " + last);
            }
            hint = r.retry_after;
        } catch (const HttpError& e) {
            last = e.what();
        }
        auto wait = hint ? std::chrono::duration_cast<std::chrono::milliseconds>(*hint) : backoff;
        if (Clock::now() + wait > deadline) {
            break;
        }
        log_warning("ACME directory: ", last, "; retrying in ", wait.count(), " ms");
        sleep_or_interrupt(wait);
        backoff = std::min<std::chrono::milliseconds>(backoff * 2, kMaxRetryInterval);
    }
    throw AcmeError("ACME directory " + settings_.directory_url + ": " + last);
}

std::string AcmeClient::directory_entry(const std::string& name) {
    const Json::Value v = directory_member(name);
    if (!v.isString()) {
        throw AcmeError("ACME directory " + settings_.directory_url + " has no \"" + name + "\"");
    }
    return v.asString();
}

void AcmeClient::keep_nonce(const HttpResponse& response) {
    if (response.replay_nonce.empty()) {
        return;
    }
    auto nonces = nonces_.lock();
    nonces->push_back(response.replay_nonce);
    while (nonces->size() > 64) {  // old nonces are the likeliest to have expired
        nonces->pop_front();
    }
}

std::string AcmeClient::take_nonce() {
    {
        auto nonces = nonces_.lock();
        if (!nonces->empty()) {
            std::string n = std::move(nonces->back());
            nonces->pop_back();
            return n;
        }
    }
    const std::string url = directory_entry("newNonce");
    HttpResponse r = http_.head(url);
    if (r.replay_nonce.empty()) {
        if (r.status >= 500) {
            throw HttpError("newNonce " + url + ": HTTP " + std::to_string(r.status));
        }
        throw AcmeError("newNonce " + url + ": HTTP " + std::to_string(r.status) +
                        " without a Replay-Nonce header");
    }
    return r.replay_nonce;
}

AcmeClient::Reply AcmeClient::post(const std::string& url,
                                   const std::optional<Json::Value>& payload,
                                   const std::string& context, bool use_jwk) {
    std::optional<std::string> kid;
    if (!use_jwk) {
        kid = account_url();
    }
    const auto start = Clock::now();
    const auto deadline = start + settings_.retry_deadline;
    auto backoff = settings_.retry_initial;
    int bad_nonces = 0;
    std::string last;
    std::optional<AcmeProblem> last_problem;
    for (int attempt = 1; attempt <= kMaxAttempts; ++attempt) {
        std::optional<std::chrono::seconds> hint;
        try {
            const std::string nonce = take_nonce();
            const std::string body =
                to_json_text(jws_sign(key_, JwsRequest{url, nonce, kid, payload}));
            HttpResponse r = http_.post_jose(url, body);
            keep_nonce(r);
            log_debug("ACME POST ", url, " -> ", r.status);
            auto doc = parse_json(r.body);
            if (r.status >= 200 && r.status < 300) {
                if (!doc && !r.body.empty() && r.content_type.find("json") != std::string::npos) {
                    // Not retried: for newOrder or finalize the CA may have acted.
                    throw AcmeError(context + ": the CA's answer is not JSON (HTTP " +
                                    std::to_string(r.status) + ", " +
                                    std::to_string(r.body.size()) + " octets of " + r.content_type +
                                    ")");
                }
                Reply reply;
                reply.json = doc.value_or(Json::Value());
                reply.http = std::move(r);
                return reply;
            }
            AcmeProblem problem = AcmeProblem::from_json(doc.value_or(Json::Value()), r.status);
            if (problem.short_type() == "badNonce" && ++bad_nonces <= kMaxBadNonceRetries) {
                log_debug("ACME ", context, ": badNonce, retrying with a fresh nonce");
                continue;
            }
            problem.retry_after = r.retry_after;
            if (!retryable(problem)) {
                throw AcmeError(context, problem);
            }
            last = problem.to_string();
            last_problem = problem;
            hint = r.retry_after;
        } catch (const HttpError& e) {
            last = e.what();
            last_problem.reset();
        }
        auto wait = hint ? std::chrono::duration_cast<std::chrono::milliseconds>(*hint) : backoff;
        if (Clock::now() + wait > deadline) {
            std::string why = " (gave up after " + std::to_string(attempt) + " attempts in " +
                              seconds_text(Clock::now() - start) +
                              (hint ? "; the CA's Retry-After of " + std::to_string(hint->count()) +
                                          " s goes past the retry deadline"
                                    : std::string()) +
                              ")";
            if (last_problem) {
                throw AcmeError(context + why, *last_problem);
            }
            throw AcmeError(context + why + ": " + last);
        }
        log_warning("ACME ", context, ": ", last, "; retrying in ", wait.count(), " ms");
        sleep_or_interrupt(wait);
        backoff = std::min<std::chrono::milliseconds>(backoff * 2, kMaxRetryInterval);
    }
    throw AcmeError(context + ": too many attempts: " + last);
}

void AcmeClient::ensure_account() {
    (void)account_url();
}

std::string AcmeClient::account_url() {
    auto account_url = account_url_.lock();
    if (!account_url->empty()) {
        return *account_url;
    }
    Json::Value payload(Json::objectValue);
    payload["termsOfServiceAgreed"] = true;
    if (!settings_.contact.empty()) {
        Json::Value contact(Json::arrayValue);
        for (const std::string& c : settings_.contact) {
            contact.append(c);
        }
        payload["contact"] = contact;
    }
    const std::string url = directory_entry("newAccount");
    if (settings_.eab) {
        payload["externalAccountBinding"] = settings_.eab->bind(key_.public_jwk(), url);
    }
    Reply r = post(url, payload, "newAccount", /*use_jwk=*/true);
    if (r.http.location.empty()) {
        throw AcmeError("newAccount " + url + ": the CA answered without a Location header");
    }
    *account_url = r.http.location;
    log_info("ACME account ", *account_url, r.http.status == 201 ? " (created)" : " (existing)");
    return *account_url;
}

AcmeOrder AcmeClient::new_order(const std::vector<DnsName>& names, const std::string& replaces) {
    Json::Value ids(Json::arrayValue);
    for (const DnsName& n : names) {
        Json::Value id(Json::objectValue);
        id["type"] = "dns";
        id["value"] = n.text();
        ids.append(id);
    }
    Json::Value payload(Json::objectValue);
    payload["identifiers"] = ids;
    if (!replaces.empty()) {
        payload["replaces"] = replaces;
    }
    const std::string url = directory_entry("newOrder");
    std::unique_lock gate(order_gate_);
    Reply r =
        post(url, payload, replaces.empty() ? "newOrder" : "newOrder (replacing " + replaces + ")");
    gate.unlock();
    if (r.http.location.empty()) {
        throw AcmeError("newOrder: the CA answered without a Location header");
    }
    return parse_order(r.json, r.http.location);
}

AcmeAuthorization AcmeClient::get_authorization(const std::string& url) {
    std::shared_lock gate(order_gate_);
    Reply r = post(url, std::nullopt, "authorization " + url);
    return parse_authorization(r.json, url);
}

void AcmeClient::respond(const AcmeChallenge& challenge) {
    post(challenge.url, Json::Value(Json::objectValue), "challenge " + challenge.url);
}

namespace {

template <typename Fetch, typename Done>
auto poll_until(Fetch fetch, Done done, std::chrono::steady_clock::time_point deadline,
                std::chrono::milliseconds initial, std::chrono::milliseconds cap,
                const std::string& what) {
    auto interval = initial;
    for (int round = 0; round < kMaxAttempts * 10; ++round) {
        auto [value, retry_after] = fetch();
        if (done(value)) {
            return value;
        }
        auto wait =
            retry_after
                ? std::min<std::chrono::milliseconds>(
                      std::chrono::duration_cast<std::chrono::milliseconds>(*retry_after), cap)
                : interval;
        if (std::chrono::steady_clock::now() + wait > deadline) {
            throw AcmeError(what + ": still \"" + value.status + "\" at the deadline");
        }
        sleep_or_interrupt(wait);
        interval = std::min<std::chrono::milliseconds>(interval * 3 / 2, cap);
    }
    throw AcmeError(what + ": too many polls");
}

}  // namespace

AcmeAuthorization AcmeClient::poll_authorization(const std::string& url,
                                                 Clock::time_point deadline) {
    return poll_until(
        [&] {
            std::shared_lock gate(order_gate_);
            Reply r = post(url, std::nullopt, "authorization " + url);
            return std::pair{parse_authorization(r.json, url), r.http.retry_after};
        },
        [](const AcmeAuthorization& a) { return a.status != "pending"; }, deadline,
        settings_.poll_initial, settings_.poll_max, "authorization " + url);
}

AcmeOrder AcmeClient::finalize(const AcmeOrder& order, const std::string& csr_der) {
    Json::Value payload(Json::objectValue);
    payload["csr"] = base64url_encode(csr_der);
    Reply r = post(order.finalize, payload, "finalize " + order.finalize);
    return parse_order(r.json, order.url);
}

AcmeOrder AcmeClient::poll_order(const std::string& url, Clock::time_point deadline,
                                 bool stop_at_ready) {
    return poll_until(
        [&] {
            Reply r = post(url, std::nullopt, "order " + url);
            return std::pair{parse_order(r.json, url), r.http.retry_after};
        },
        [stop_at_ready](const AcmeOrder& o) {
            return o.status != "pending" && o.status != "processing" &&
                   (stop_at_ready || o.status != "ready");
        },
        deadline, settings_.poll_initial, settings_.poll_max, "order " + url);
}

void AcmeClient::wait_about(Clock::duration took, Clock::time_point deadline) const {
    using std::chrono::milliseconds;
    const auto wait = std::clamp(std::chrono::duration_cast<milliseconds>(took), milliseconds(10),
                                 std::max(settings_.poll_initial, milliseconds(10)));
    if (Clock::now() + wait < deadline) {
        sleep_or_interrupt(wait);
    }
}

AcmeOrder AcmeClient::poll_finalized_order(const std::string& url, Clock::duration finalize_took,
                                           Clock::time_point deadline) {
    wait_about(finalize_took, deadline);
    return poll_order(url, deadline);
}

AcmeOrder AcmeClient::poll_validated_order(const std::string& url, Clock::duration responses_took,
                                           Clock::time_point deadline) {
    wait_about(responses_took, deadline);
    return poll_order(url, deadline, /*stop_at_ready=*/true);
}

std::string AcmeClient::download_certificate(const std::string& url,
                                             const std::string& preferred_issuer_cn) {
    auto fetch = [&](const std::string& u) {
        Reply r = post(u, std::nullopt, "certificate " + u);
        if (r.http.body.find("-----BEGIN CERTIFICATE-----") == std::string::npos) {
            throw AcmeError("certificate " + u + ": the CA's answer is not a PEM chain (" +
                            r.http.content_type + ")");
        }
        return r;
    };
    Reply r = fetch(url);
    if (preferred_issuer_cn.empty()) {
        return r.http.body;
    }
    std::string tops = chain_top_issuer_cn(r.http.body);
    if (tops == preferred_issuer_cn) {
        return r.http.body;
    }
    const std::vector<std::string> alternates = find_links(r.http.links, "alternate");
    for (const std::string& alt : alternates) {
        Reply a = fetch(alt);
        const std::string cn = chain_top_issuer_cn(a.http.body);
        if (cn == preferred_issuer_cn) {
            log_info("certificate ", url, ": using the alternate chain ", alt, " (issuer \"", cn,
                     "\")");
            return a.http.body;
        }
        tops += "\", \"" + cn;
    }
    log_warning("certificate ", url, ": no chain of ", alternates.size() + 1, " leads to issuer \"",
                preferred_issuer_cn, "\" (offered: \"", tops, "\"): using the default chain");
    return r.http.body;
}

std::string AcmeClient::dns01_value(const std::string& token) const {
    return dns01_txt_value(token, key_.thumbprint());
}

std::optional<std::string> AcmeClient::renewal_info_url() {
    const Json::Value v = directory_member("renewalInfo");
    if (!v.isString() || v.asString().empty()) {
        return std::nullopt;
    }
    return v.asString();
}

AcmeClient::RenewalInfoReply AcmeClient::get_renewal_info(const std::string& cert_id) {
    auto base = renewal_info_url();
    if (!base) {
        throw AcmeError("renewalInfo: the CA's directory has none");
    }
    std::string url = *base;
    if (url.empty() || url.back() != '/') {
        url += '/';
    }
    url += cert_id;
    HttpResponse r;
    try {
        r = http_.get(url);
    } catch (const HttpError& e) {
        throw AcmeError("renewalInfo " + url + ": " + e.what());
    }
    keep_nonce(r);
    auto doc = parse_json(r.body);
    if (r.status != 200) {
        throw AcmeError("renewalInfo " + url,
                        AcmeProblem::from_json(doc.value_or(Json::Value()), r.status));
    }
    if (!doc) {
        throw AcmeError("renewalInfo " + url + ": the CA's answer is not JSON");
    }
    return RenewalInfoReply{*doc, r.retry_after};
}

AcmeOrder AcmeClient::get_order(const std::string& url) {
    Reply r = post(url, std::nullopt, "order " + url);
    return parse_order(r.json, url);
}

void AcmeClient::deactivate_authorization(const std::string& url) {
    Json::Value payload(Json::objectValue);
    payload["status"] = "deactivated";
    std::shared_lock gate(order_gate_);
    post(url, payload, "deactivating authorization " + url);
}

}  // namespace acmezone::issuer
