// See fetch_http.h.
#include "issuer/fetch/fetch_http.h"

#include <curl/curl.h>
#include <openssl/crypto.h>

#include <algorithm>
#include <cctype>

#include "common/interrupt.h"

namespace acmezone::issuer {
namespace {

struct CurlDeleter {
    void operator()(CURL* c) const { curl_easy_cleanup(c); }
};
struct SlistDeleter {
    void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};

struct Transfer {
    FetchResponse* response = nullptr;
    bool too_big = false;
};

std::size_t on_body(char* data, std::size_t size, std::size_t n, void* user) {
    auto* t = static_cast<Transfer*>(user);
    const std::size_t bytes = size * n;
    if (t->response->body.size() + bytes > kMaxAnswerBytes) {
        t->too_big = true;
        return 0;  // aborts the transfer
    }
    t->response->body.append(data, bytes);
    return bytes;
}

std::size_t on_header(char* data, std::size_t size, std::size_t n, void* user) {
    auto* t = static_cast<Transfer*>(user);
    const std::string line(data, size * n);
    const auto colon = line.find(':');
    if (colon != std::string::npos) {
        std::string name = line.substr(0, colon);
        std::transform(name.begin(), name.end(), name.begin(),
                       [](unsigned char c) { return std::tolower(c); });
        if (name == "etag") {
            std::string value = line.substr(colon + 1);
            const auto first = value.find_first_not_of(" \t");
            const auto last = value.find_last_not_of(" \t\r\n");
            t->response->etag =
                first == std::string::npos ? "" : value.substr(first, last - first + 1);
        }
    }
    return size * n;
}

int on_progress(void*, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
    return stop_requested() ? 1 : 0;
}

}  // namespace

struct FetchHttp::Impl {
    const FetchConfig& config;
    std::unique_ptr<CURL, CurlDeleter> curl;
};

FetchResponse::~FetchResponse() {
    OPENSSL_cleanse(body.data(), body.size());
}

FetchHttp::FetchHttp(const FetchConfig& config)
    : impl_(new Impl{config, std::unique_ptr<CURL, CurlDeleter>(curl_easy_init())}) {
    if (!impl_->curl) {
        throw FetchHttpError("curl_easy_init failed");
    }
}

FetchHttp::~FetchHttp() = default;

FetchResponse FetchHttp::get(const std::string& url, const std::string& if_none_match,
                             std::chrono::seconds timeout) {
    CURL* c = impl_->curl.get();
    const FetchConfig& cfg = impl_->config;
    FetchResponse response;
    Transfer t{&response, false};
    std::unique_ptr<curl_slist, SlistDeleter> headers;
    if (!if_none_match.empty()) {
        headers.reset(curl_slist_append(nullptr, ("If-None-Match: " + if_none_match).c_str()));
    }
    curl_easy_reset(c);
    curl_easy_setopt(c, CURLOPT_URL, url.c_str());
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "https");
    curl_easy_setopt(c, CURLOPT_SSLVERSION, CURL_SSLVERSION_TLSv1_2);
    curl_easy_setopt(c, CURLOPT_CAINFO, cfg.server_ca.c_str());
    curl_easy_setopt(c, CURLOPT_CAPATH, nullptr);
    curl_easy_setopt(c, CURLOPT_SSLCERT, cfg.client_cert.c_str());
    curl_easy_setopt(c, CURLOPT_SSLKEY, cfg.client_key.c_str());
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, static_cast<long>(cfg.connect_timeout.count()));
    curl_easy_setopt(c, CURLOPT_TIMEOUT, static_cast<long>(timeout.count()));
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "acmezone-fetch/0.1");
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers.get());
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &t);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &t);
    curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
    char error[CURL_ERROR_SIZE] = {};
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, error);
    const CURLcode rc = curl_easy_perform(c);
    if (rc != CURLE_OK) {
        if (t.too_big) {
            throw FetchHttpError("the answer is larger than " + std::to_string(kMaxAnswerBytes) +
                                 " bytes");
        }
        if (rc == CURLE_ABORTED_BY_CALLBACK) {
            throw FetchHttpError("interrupted");
        }
        throw FetchHttpError(error[0] != '\0' ? std::string(error) : curl_easy_strerror(rc));
    }
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &response.status);
    return response;
}

}  // namespace acmezone::issuer
