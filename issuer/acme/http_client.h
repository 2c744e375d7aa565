// HTTPS to the ACME server, on libcurl.
//
// One HttpClient serves every zone in flight. It keeps a small pool of curl
// easy handles (one per concurrent request, reused afterwards) joined by one
// curl share object that holds the connection cache, TLS sessions and DNS
// cache: so all zones use the same few keep-alive connections to the CA and
// 20 zones cost little more than one. Thread-safe.
//
// The response keeps the headers ACME needs: Replay-Nonce, Location,
// Retry-After (seconds or HTTP date) and Link (rel="up", rel="index", ...).
// Transport failures (connect, TLS, timeout) throw HttpError; any HTTP status
// is returned, interpreting it is the ACME layer's job.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace acmezone::issuer {

class HttpError : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

struct HttpSettings {
    std::string ca_file;  // extra trust anchor (PEM) instead of the system store; empty: system
    std::chrono::seconds connect_timeout{10};
    std::chrono::seconds timeout{30};  // whole request
    std::string user_agent = "acmezone-issuer/0.1";
};

struct HttpResponse {
    long status = 0;
    std::string body;
    std::string content_type;
    std::string location;
    std::string replay_nonce;
    std::optional<std::chrono::seconds> retry_after;
    std::vector<std::string> links;  // each Link header value, as sent
};

// Parses a Retry-After value: delta-seconds or an HTTP date (relative to `now`).
std::optional<std::chrono::seconds> parse_retry_after(const std::string& value,
                                                      std::chrono::system_clock::time_point now);
// The URL of the Link with rel=`rel` ("up", "index", "alternate"), if any.
std::optional<std::string> find_link(const std::vector<std::string>& links, const std::string& rel);
// Every Link URL with rel=`rel`, in the order sent (alternate chains, RFC 8555 §7.4.2).
std::vector<std::string> find_links(const std::vector<std::string>& links, const std::string& rel);

// What the pool did: how many requests, over how many new connections.
struct HttpStats {
    std::size_t requests = 0;
    std::size_t connections = 0;
};

class HttpClient {
  public:
    explicit HttpClient(HttpSettings settings);
    ~HttpClient();
    HttpClient(const HttpClient&) = delete;
    HttpClient& operator=(const HttpClient&) = delete;

    HttpResponse get(const std::string& url);
    HttpResponse head(const std::string& url);
    // POST with Content-Type: application/jose+json.
    HttpResponse post_jose(const std::string& url, const std::string& body);

    HttpStats stats() const;

  private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace acmezone::issuer
