// HTTPS GETs to `acmezone-issuer serve`, on libcurl: this host's client
// certificate and key, the servers' CA only (no system roots), TLS 1.2 at
// least, one keep-alive connection reused while the servers answer.
//
// A transport failure (connect, TLS, timeout, a body cut short, more than
// kMaxAnswerBytes) throws FetchHttpError with curl's reason; any HTTP status
// is returned. A stop signal (common/interrupt.h) aborts a request in flight
// (a long poll too) within about a second: FetchHttpError "interrupted".
#pragma once

#include <chrono>
#include <memory>
#include <stdexcept>
#include <string>

#include "issuer/fetch/fetch_config.h"

namespace acmezone::issuer {

class FetchHttpError : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

struct FetchResponse {
    long status = 0;
    std::string body;  // wiped when the response goes (it may hold keys)
    std::string etag;
    FetchResponse() = default;
    ~FetchResponse();
    FetchResponse(FetchResponse&&) = default;
    FetchResponse& operator=(FetchResponse&&) = default;
    FetchResponse(const FetchResponse&) = delete;
    FetchResponse& operator=(const FetchResponse&) = delete;
};

inline constexpr std::size_t kMaxAnswerBytes = 4 << 20;

class FetchHttp {
  public:
    explicit FetchHttp(const FetchConfig& config);
    ~FetchHttp();
    FetchHttp(const FetchHttp&) = delete;
    FetchHttp& operator=(const FetchHttp&) = delete;

    // GET `url`; If-None-Match: `if_none_match` unless empty. The request may
    // take `timeout` at most (a long poll asks for its wait plus a margin).
    FetchResponse get(const std::string& url, const std::string& if_none_match,
                      std::chrono::seconds timeout);

  private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace acmezone::issuer
