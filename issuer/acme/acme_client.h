// The ACME v2 protocol (RFC 8555), one request at a time, for many threads.
//
// AcmeClient knows the wire protocol and nothing of DNS or files:
//   - the directory (fetched once), nonces (a pool fed by every response's
//     Replay-Nonce; a `badNonce` answer is retried at once with a fresh one,
//     transparently, at most 10 times in a row);
//   - the account: newAccount with contact and termsOfServiceAgreed (§7.3),
//     and an externalAccountBinding when the settings hold an EabKey
//     (§7.3.4, see eab.h), created or found once, its URL used as "kid"
//     afterwards;
//   - orders, authorizations, challenges, finalize, certificate download;
//   - polling honours Retry-After, else backs off (250 ms growing to 5 s),
//     always within a deadline;
//   - `rateLimited`, `serverInternal`, HTTP 5xx and network errors are
//     retried with backoff (Retry-After honoured) until the retry deadline,
//     then thrown as AcmeError carrying the problem document's type and detail.
//
// Thread-safe: all zones in flight share one AcmeClient (and through it one
// HttpClient and one AccountKey).
#pragma once

#include <json/value.h>

#include <chrono>
#include <deque>
#include <optional>
#include <shared_mutex>
#include <stdexcept>
#include <string>
#include <vector>

#include "common/dns_name.h"
#include "common/lock_guarded.h"
#include "issuer/acme/account_key.h"
#include "issuer/acme/eab.h"
#include "issuer/acme/http_client.h"

namespace acmezone::issuer {

// An RFC 7807 problem document as ACME sends it.
struct AcmeProblem {
    std::string type;  // "urn:ietf:params:acme:error:rateLimited"
    std::string detail;
    long status = 0;
    std::vector<std::string> subproblems;  // "identifier: type: detail"
    // The answer's Retry-After, when it had one (for a rateLimited problem:
    // when the CA will take the request again).
    std::optional<std::chrono::seconds> retry_after;

    // "rateLimited" for the ACME namespace, else the whole type.
    std::string short_type() const;
    std::string to_string() const;  // "rateLimited: too many orders (HTTP 429)"
    static AcmeProblem from_json(const Json::Value& doc, long http_status);
};

class AcmeError : public std::runtime_error {
  public:
    AcmeError(const std::string& context, AcmeProblem problem)
        : std::runtime_error(context + ": " + problem.to_string()), problem_(std::move(problem)) {}
    explicit AcmeError(const std::string& message) : std::runtime_error(message) {}
    const AcmeProblem& problem() const { return problem_; }

  private:
    AcmeProblem problem_;
};

struct AcmeSettings {
    std::string directory_url;
    std::vector<std::string> contact;               // "mailto:..."
    std::chrono::seconds retry_deadline{300};       // for rateLimited/serverInternal/network
    std::chrono::milliseconds poll_initial{250};    // first poll interval without Retry-After
    std::chrono::milliseconds poll_max{5000};       // backoff cap
    std::chrono::milliseconds retry_initial{1000};  // first retry interval without Retry-After
    std::optional<EabKey> eab;                      // for a CA that requires EAB
};

struct AcmeChallenge {
    std::string type;  // "dns-01"
    std::string url;
    std::string token;
    std::string status;
    std::optional<AcmeProblem> error;
};

struct AcmeAuthorization {
    std::string url;
    std::string identifier;  // the DNS name without "*." (RFC 8555 §7.1.4)
    bool wildcard = false;
    std::string status;  // pending, valid, invalid, deactivated, expired, revoked
    std::vector<AcmeChallenge> challenges;

    const AcmeChallenge* find_challenge(const std::string& type) const;
    // The first challenge error, if any (why an authorization is invalid).
    std::optional<AcmeProblem> first_error() const;
};

struct AcmeOrder {
    std::string url;
    std::string status;  // pending, ready, processing, valid, invalid
    std::vector<std::string> authorizations;
    std::string finalize;
    std::string certificate;
    std::optional<AcmeProblem> error;
};

// Parsers, exposed for unit tests. Throw AcmeError on malformed input.
AcmeAuthorization parse_authorization(const Json::Value& doc, const std::string& url);
AcmeOrder parse_order(const Json::Value& doc, const std::string& url);

class AcmeClient {
  public:
    using Clock = std::chrono::steady_clock;

    AcmeClient(HttpClient& http, const AccountKey& key, AcmeSettings settings);

    // Fetches the directory and creates (or finds) the account. Idempotent.
    void ensure_account();
    std::string account_url();

    // `replaces`, when not empty: the certID (RFC 9773) of the certificate
    // this order renews.
    AcmeOrder new_order(const std::vector<DnsName>& names, const std::string& replaces = "");
    AcmeAuthorization get_authorization(const std::string& url);
    // Tells the CA to validate (POST {} to the challenge URL).
    void respond(const AcmeChallenge& challenge);
    // Polls until the authorization is no longer "pending"; throws at `deadline`.
    AcmeAuthorization poll_authorization(const std::string& url, Clock::time_point deadline);
    // Sends the CSR (DER) to the order's finalize URL.
    AcmeOrder finalize(const AcmeOrder& order, const std::string& csr_der);
    // Polls until the order is neither "pending" nor "processing", and unless
    // `stop_at_ready`, not "ready" either.
    AcmeOrder poll_order(const std::string& url, Clock::time_point deadline,
                         bool stop_at_ready = false);
    // poll_order() for an order finalize() left "processing", whose finalize
    // request took `finalize_took`: the first poll waits that long (at least
    // 10 ms, at most poll_initial). Pebble 2.4 (Debian 12's) answers a
    // finalize at once and issues in a goroutine that then write-locks the
    // order, while its order handler read-locks the order twice in a row
    // (Order, then orderForDisplay): a write lock requested between the two
    // leaves both waiting forever, the order never answers again, and the
    // next request that reads the order holds Pebble's store lock while it
    // waits, which stops Pebble for good. Polling only after the issuing
    // goroutine is likely done keeps the two apart; a real CA takes longer
    // than that to issue anyway.
    AcmeOrder poll_finalized_order(const std::string& url, Clock::duration finalize_took,
                                   Clock::time_point deadline);
    // poll_order() for an order whose challenges were just answered, the
    // answers having taken `responses_took`: the first poll waits that long
    // (at least 10 ms, at most poll_initial), as a CA validates no faster
    // than it answers, so that the first poll seldom finds it still pending
    // and waits a whole poll interval for the next.
    AcmeOrder poll_validated_order(const std::string& url, Clock::duration responses_took,
                                   Clock::time_point deadline);
    // The PEM chain (leaf first). With `preferred_issuer_cn`, when the
    // default chain's topmost certificate is not issued by that CN, the
    // alternates the CA links (Link: rel="alternate", RFC 8555 §7.4.2) are
    // fetched in turn and the first whose top is returned; when none is, the
    // default chain (and a log line saying so).
    std::string download_certificate(const std::string& url,
                                     const std::string& preferred_issuer_cn = "");

    // The dns-01 TXT value for `token` with this account's key.
    std::string dns01_value(const std::string& token) const;

    // ACME Renewal Information (RFC 9773, see ari.h) and crash recovery.
    // The directory's "renewalInfo" URL; nullopt when the CA has none.
    std::optional<std::string> renewal_info_url();
    // GET <renewalInfo>/<certID> (unauthenticated); throws AcmeError for an
    // error answer, AriError for a malformed one.
    struct RenewalInfoReply {
        Json::Value json;
        std::optional<std::chrono::seconds> retry_after;
    };
    RenewalInfoReply get_renewal_info(const std::string& cert_id);
    // The order's current state, fetched once (POST-as-GET).
    AcmeOrder get_order(const std::string& url);
    // POST {"status": "deactivated"} to an authorization (RFC 8555 §7.5.2).
    void deactivate_authorization(const std::string& url);

  private:
    // Sleeps `took` (at least 10 ms, at most poll_initial) unless that
    // passes `deadline`.
    void wait_about(Clock::duration took, Clock::time_point deadline) const;
    struct Reply {
        HttpResponse http;
        Json::Value json;  // null unless the body is JSON
    };
    // The directory's member `name` (null when it has none), the directory
    // fetched first when this is the first call.
    Json::Value directory_member(const std::string& name);
    Json::Value fetch_directory();  // with retries, until the retry deadline
    std::string directory_entry(const std::string& name);
    std::string take_nonce();
    void keep_nonce(const HttpResponse& response);
    // Signed POST with nonce handling and retries; throws AcmeError on a problem.
    Reply post(const std::string& url, const std::optional<Json::Value>& payload,
               const std::string& context, bool use_jwk = false);

    HttpClient& http_;
    const AccountKey& key_;
    AcmeSettings settings_;

    // Shared by every zone in flight, each reachable only with its lock held.
    // The directory and the account are fetched once, by the first caller,
    // while later callers wait on the lock.
    LockGuarded<Json::Value> directory_;    // null until fetched
    LockGuarded<std::string> account_url_;  // empty until created or found
    LockGuarded<std::deque<std::string>> nonces_;
    // newOrder never overlaps a request to an authorization URL: Pebble 2.4
    // (Debian 12's) takes its store's read lock and then each authorization's
    // in newOrder, but an authorization's write lock and then the store's in
    // its authorization handler; with a third request waiting to write, the
    // two deadlock and Pebble answers nothing more. Orders take this
    // exclusively, authorization requests shared; a newOrder is one round
    // trip, so the cost is small. A gate, not a guard: it protects no data.
    std::shared_mutex order_gate_;
};

}  // namespace acmezone::issuer
