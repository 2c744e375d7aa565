// See request_target.h.
#include "issuer/serve/request_target.h"

#include <string>

#include "common/name_path.h"

namespace acmezone::issuer {
namespace {

constexpr std::string_view kList = "/v1/zones";
constexpr unsigned kMaxWait = 86400;

// "wait=N": N seconds; nullopt for anything else.
std::optional<std::chrono::seconds> wait_query(std::string_view query) {
    constexpr std::string_view kWait = "wait=";
    if (query.substr(0, kWait.size()) != kWait || query.size() == kWait.size() ||
        query.size() > kWait.size() + 5) {
        return std::nullopt;
    }
    unsigned n = 0;
    for (char c : query.substr(kWait.size())) {
        if (c < '0' || c > '9') {
            return std::nullopt;
        }
        n = n * 10 + static_cast<unsigned>(c - '0');
    }
    if (n > kMaxWait) {
        return std::nullopt;
    }
    return std::chrono::seconds(n);
}

// The target as written; parse_request_target() then keeps a wait only where
// it means something.
RequestTarget parse_target(std::string_view target) {
    RequestTarget out;
    if (target.find('#') != std::string_view::npos) {
        return out;
    }
    std::string_view path = target;
    if (auto q = target.find('?'); q != std::string_view::npos) {
        path = target.substr(0, q);
        out.wait = wait_query(target.substr(q + 1));
        if (!out.wait) {
            return out;
        }
    }
    if (path == kList) {
        out.kind = RequestTarget::Kind::zone_list;
        return out;
    }
    if (path.substr(0, kList.size() + 1) != std::string(kList) + "/") {
        out.kind = path.empty() || path.front() != '/' ? RequestTarget::Kind::bad_request
                                                       : RequestTarget::Kind::not_found;
        return out;
    }
    const std::string_view segment = path.substr(kList.size() + 1);
    if (segment.empty()) {
        return out;  // "/v1/zones/"
    }
    auto decoded = percent_decode(segment);
    if (!decoded) {
        return out;
    }
    out.kind = RequestTarget::Kind::not_found;
    if (segment.find('/') != std::string_view::npos) {
        return out;  // more than one segment: nothing lives below a zone
    }
    std::string error;
    auto name = DnsName::try_parse(*decoded, &error);
    if (!name || name->is_root() || decoded->find('%') != std::string::npos) {
        return out;
    }
    out.kind = RequestTarget::Kind::zone;
    out.zone = *name;
    return out;
}

}  // namespace

RequestTarget parse_request_target(std::string_view target) {
    RequestTarget out = parse_target(target);
    if (out.kind != RequestTarget::Kind::zone) {
        out.wait.reset();  // a wait is for one zone's next version (found by fuzz_request_target)
    }
    return out;
}

}  // namespace acmezone::issuer
