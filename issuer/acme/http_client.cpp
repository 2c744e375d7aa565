// See http_client.h.
//
// Why a pool and not one shared connection cache: libcurl documents that
// connections shared through CURL_LOCK_DATA_CONNECT must not be used by
// concurrent threads. So each easy handle keeps its own keep-alive
// connection; a request borrows an idle handle (or makes one), and returns it
// afterwards so the next request reuses its connection. The pool is never
// larger than the number of requests ever in flight at once (`parallel`).
// DNS and TLS session caches are shared (safe with the lock callbacks).
#include "issuer/acme/http_client.h"

#include <curl/curl.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cctype>
#include <mutex>
#include <vector>

namespace acmezone::issuer {
namespace {

struct CurlEasyDeleter {
    void operator()(CURL* c) const noexcept { curl_easy_cleanup(c); }
};
using CurlEasyPtr = std::unique_ptr<CURL, CurlEasyDeleter>;
struct CurlShareDeleter {
    void operator()(CURLSH* s) const noexcept { curl_share_cleanup(s); }
};
using CurlSharePtr = std::unique_ptr<CURLSH, CurlShareDeleter>;
struct CurlSlistDeleter {
    void operator()(curl_slist* l) const noexcept { curl_slist_free_all(l); }
};
using CurlSlistPtr = std::unique_ptr<curl_slist, CurlSlistDeleter>;

void global_init() {
    static std::once_flag once;
    std::call_once(once, [] {
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
            throw HttpError("curl_global_init failed");
        }
    });
}

std::string trim(std::string s) {
    auto not_space = [](unsigned char c) { return !std::isspace(c); };
    s.erase(s.begin(), std::find_if(s.begin(), s.end(), not_space));
    s.erase(std::find_if(s.rbegin(), s.rend(), not_space).base(), s.end());
    return s;
}

std::string lower(std::string s) {
    std::transform(s.begin(), s.end(), s.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return s;
}

struct Capture {
    HttpResponse response;
    std::string retry_after_raw;
};

std::size_t on_body(char* data, std::size_t size, std::size_t n, void* user) {
    auto* c = static_cast<Capture*>(user);
    constexpr std::size_t kMaxBody = 16 * 1024 * 1024;  // a certificate chain is a few KiB
    if (c->response.body.size() + size * n > kMaxBody) {
        return 0;  // makes curl fail with CURLE_WRITE_ERROR
    }
    c->response.body.append(data, size * n);
    return size * n;
}

std::size_t on_header(char* data, std::size_t size, std::size_t n, void* user) {
    auto* c = static_cast<Capture*>(user);
    std::string line(data, size * n);
    if (line.rfind("HTTP/", 0) == 0) {  // a new response (after a 100 Continue): start over
        c->response.links.clear();
        c->response.location.clear();
        c->response.replay_nonce.clear();
        c->retry_after_raw.clear();
        return size * n;
    }
    auto colon = line.find(':');
    if (colon == std::string::npos) {
        return size * n;
    }
    std::string name = lower(trim(line.substr(0, colon)));
    std::string value = trim(line.substr(colon + 1));
    if (name == "replay-nonce") {
        c->response.replay_nonce = value;
    } else if (name == "location") {
        c->response.location = value;
    } else if (name == "retry-after") {
        c->retry_after_raw = value;
    } else if (name == "link") {
        c->response.links.push_back(value);
    } else if (name == "content-type") {
        c->response.content_type = value;
    }
    return size * n;
}

}  // namespace

std::optional<std::chrono::seconds> parse_retry_after(const std::string& value,
                                                      std::chrono::system_clock::time_point now) {
    std::string v = trim(value);
    if (v.empty()) {
        return std::nullopt;
    }
    if (std::all_of(v.begin(), v.end(), [](unsigned char c) { return std::isdigit(c); })) {
        if (v.size() > 9) {
            return std::chrono::seconds(999999999);
        }
        return std::chrono::seconds(std::stol(v));
    }
    time_t when = curl_getdate(v.c_str(), nullptr);
    if (when < 0) {
        return std::nullopt;
    }
    // In time_t arithmetic: a date past 2262 (curl_getdate accepts year 9999)
    // does not fit system_clock's nanoseconds.
    constexpr time_t kMaxDelta = 999999999;
    const time_t delta = when - std::chrono::system_clock::to_time_t(now);
    return std::chrono::seconds(std::clamp<time_t>(delta, 0, kMaxDelta));
}

std::vector<std::string> find_links(const std::vector<std::string>& links, const std::string& rel) {
    std::vector<std::string> out;
    // A header value may hold several links: <url>;rel="up", <url2>;rel="index"
    for (const std::string& header : links) {
        std::size_t pos = 0;
        while (pos < header.size()) {
            auto open = header.find('<', pos);
            if (open == std::string::npos) {
                break;
            }
            auto close = header.find('>', open);
            if (close == std::string::npos) {
                break;
            }
            std::string url = header.substr(open + 1, close - open - 1);
            auto next = header.find('<', close);
            std::string params = lower(header.substr(
                close + 1, next == std::string::npos ? std::string::npos : next - close - 1));
            if (params.find("rel=\"" + rel + "\"") != std::string::npos ||
                params.find("rel=" + rel) != std::string::npos) {
                out.push_back(url);
            }
            pos = close + 1;
        }
    }
    return out;
}

std::optional<std::string> find_link(const std::vector<std::string>& links,
                                     const std::string& rel) {
    auto all = find_links(links, rel);
    if (all.empty()) {
        return std::nullopt;
    }
    return all.front();
}

struct HttpClient::Impl {
    HttpSettings settings;
    CurlSharePtr share;
    std::array<std::mutex, CURL_LOCK_DATA_LAST> share_locks;
    std::mutex pool_mutex;
    std::vector<CurlEasyPtr> idle;  // handles with their keep-alive connections
    std::atomic<std::size_t> requests{0};
    std::atomic<std::size_t> connections{0};

    static void lock(CURL*, curl_lock_data data, curl_lock_access, void* user) {
        static_cast<Impl*>(user)->share_locks.at(static_cast<std::size_t>(data)).lock();
    }
    static void unlock(CURL*, curl_lock_data data, void* user) {
        static_cast<Impl*>(user)->share_locks.at(static_cast<std::size_t>(data)).unlock();
    }

    CurlEasyPtr borrow() {
        {
            std::lock_guard lock(pool_mutex);
            if (!idle.empty()) {
                CurlEasyPtr h = std::move(idle.back());
                idle.pop_back();
                return h;
            }
        }
        CurlEasyPtr h(curl_easy_init());
        if (!h) {
            throw HttpError("curl_easy_init failed");
        }
        return h;
    }

    void give_back(CurlEasyPtr h) {
        std::lock_guard lock(pool_mutex);
        idle.push_back(std::move(h));
    }

    HttpResponse perform(const std::string& method, const std::string& url,
                         const std::string* body) {
        CurlEasyPtr h = borrow();
        CURL* c = h.get();
        curl_easy_reset(c);  // keeps the connection cache, clears the options
        Capture capture;
        char error[CURL_ERROR_SIZE] = {};
        CurlSlistPtr headers;
        if (body != nullptr) {
            headers.reset(curl_slist_append(nullptr, "Content-Type: application/jose+json"));
            if (!headers) {
                throw HttpError("curl_slist_append failed");
            }
        }
        curl_easy_setopt(c, CURLOPT_URL, url.c_str());
        curl_easy_setopt(c, CURLOPT_SHARE, share.get());
        curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "https");
        curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(c, CURLOPT_ERRORBUFFER, error);
        curl_easy_setopt(c, CURLOPT_USERAGENT, settings.user_agent.c_str());
        curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT,
                         static_cast<long>(settings.connect_timeout.count()));
        curl_easy_setopt(c, CURLOPT_TIMEOUT, static_cast<long>(settings.timeout.count()));
        curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, "");
        // HTTP/1.1: each handle has its own kept-alive connection (above), so
        // HTTP/2's multiplexing brings nothing, and its framing cost both sides
        // CPU (a 1,000-zone pass: issuer and Pebble each ~10 % less on 1.1).
        curl_easy_setopt(c, CURLOPT_HTTP_VERSION, CURL_HTTP_VERSION_1_1);
        if (!settings.ca_file.empty()) {
            curl_easy_setopt(c, CURLOPT_CAINFO, settings.ca_file.c_str());
        }
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
        curl_easy_setopt(c, CURLOPT_WRITEDATA, &capture);
        curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
        curl_easy_setopt(c, CURLOPT_HEADERDATA, &capture);
        if (method == "HEAD") {
            curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
        } else if (method == "POST") {
            curl_easy_setopt(c, CURLOPT_POST, 1L);
            curl_easy_setopt(c, CURLOPT_POSTFIELDS, body->data());
            curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body->size()));
            curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers.get());
        }
        CURLcode rc = curl_easy_perform(c);
        ++requests;
        long new_connections = 0;
        if (curl_easy_getinfo(c, CURLINFO_NUM_CONNECTS, &new_connections) == CURLE_OK &&
            new_connections > 0) {
            connections += static_cast<std::size_t>(new_connections);
        }
        if (rc != CURLE_OK) {
            // The handle's connection state is suspect: let it go.
            std::string detail = error[0] != '\0' ? error : curl_easy_strerror(rc);
            throw HttpError(method + " " + url + ": " + detail);
        }
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &capture.response.status);
        give_back(std::move(h));
        if (!capture.retry_after_raw.empty()) {
            capture.response.retry_after =
                parse_retry_after(capture.retry_after_raw, std::chrono::system_clock::now());
        }
        return std::move(capture.response);
    }
};

HttpClient::HttpClient(HttpSettings settings) : impl_(std::make_unique<Impl>()) {
    global_init();
    impl_->settings = std::move(settings);
    impl_->share.reset(curl_share_init());
    if (!impl_->share) {
        throw HttpError("curl_share_init failed");
    }
    curl_share_setopt(impl_->share.get(), CURLSHOPT_LOCKFUNC, &Impl::lock);
    curl_share_setopt(impl_->share.get(), CURLSHOPT_UNLOCKFUNC, &Impl::unlock);
    curl_share_setopt(impl_->share.get(), CURLSHOPT_USERDATA, impl_.get());
    curl_share_setopt(impl_->share.get(), CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
    curl_share_setopt(impl_->share.get(), CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
}

HttpClient::~HttpClient() {
    // Easy handles must go before the share they use.
    impl_->idle.clear();
}

HttpStats HttpClient::stats() const {
    return HttpStats{impl_->requests.load(), impl_->connections.load()};
}

HttpResponse HttpClient::get(const std::string& url) {
    return impl_->perform("GET", url, nullptr);
}
HttpResponse HttpClient::head(const std::string& url) {
    return impl_->perform("HEAD", url, nullptr);
}
HttpResponse HttpClient::post_jose(const std::string& url, const std::string& body) {
    return impl_->perform("POST", url, &body);
}

}  // namespace acmezone::issuer
