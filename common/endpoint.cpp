// Endpoint: numeric socket addresses in the forms operators write.
//
// Design note. Accepted forms: "127.0.0.1:5353", "[::1]:5353", "127.0.0.1",
// "::1" and "[::1]" (the last three take the default port). Addresses are
// parsed with inet_pton only, never getaddrinfo: a nameserver tool must not
// depend on name resolution, and inet_pton refuses host names, scope ids
// ("fe80::1%eth0"), short IPv4 forms ("127.1") and leading zeros. An explicit
// port may be 0 (let the kernel choose: tests use it); a missing port with
// default_port 0 is an error. Every error names the text and what is wrong.
#include "common/endpoint.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cstring>
#include <stdexcept>

namespace acmezone {
namespace {

bool all_digits(std::string_view s) {
    if (s.empty()) {
        return false;
    }
    for (char c : s) {
        if (c < '0' || c > '9') {
            return false;
        }
    }
    return true;
}

}  // namespace

std::optional<Endpoint> Endpoint::try_parse(std::string_view text, std::uint16_t default_port,
                                            std::string* error) {
    auto fail = [&](const std::string& why) -> std::optional<Endpoint> {
        if (error != nullptr) {
            *error = "invalid address \"" + std::string(text) + "\": " + why;
        }
        return std::nullopt;
    };
    if (text.empty()) {
        return fail("empty (expected e.g. 127.0.0.1:53 or [::1]:53)");
    }
    std::string_view host;
    std::string_view port_text;
    bool has_port = false;
    bool bracketed = false;
    if (text.front() == '[') {
        std::size_t close = text.find(']');
        if (close == std::string_view::npos) {
            return fail("missing ']' after the IPv6 address");
        }
        host = text.substr(1, close - 1);
        bracketed = true;
        std::string_view rest = text.substr(close + 1);
        if (!rest.empty()) {
            if (rest.front() != ':') {
                return fail("expected ':port' after ']'");
            }
            port_text = rest.substr(1);
            has_port = true;
        }
    } else {
        std::size_t first = text.find(':');
        std::size_t last = text.rfind(':');
        if (first != std::string_view::npos && first == last) {
            host = text.substr(0, first);
            port_text = text.substr(first + 1);
            has_port = true;
        } else {
            host = text;  // no colon (IPv4) or several (bare IPv6)
        }
    }

    std::uint16_t port = default_port;
    if (has_port) {
        if (!all_digits(port_text) || port_text.size() > 5) {
            return fail("port \"" + std::string(port_text) + "\" is not a number from 0 to 65535");
        }
        unsigned long value = std::stoul(std::string(port_text));
        if (value > 65535) {
            return fail("port " + std::string(port_text) + " is out of range (0 to 65535)");
        }
        port = static_cast<std::uint16_t>(value);
    } else if (default_port == 0) {
        return fail("a port is required (e.g. 127.0.0.1:5353 or [::1]:5353)");
    }

    std::string host_str(host);
    Endpoint ep;
    if (!bracketed && host_str.find(':') == std::string::npos) {
        sockaddr_in sin{};
        sin.sin_family = AF_INET;
        sin.sin_port = htons(port);
        if (inet_pton(AF_INET, host_str.c_str(), &sin.sin_addr) != 1) {
            return fail("\"" + host_str +
                        "\" is not a numeric IPv4 address (host names are not accepted; IPv6 "
                        "addresses with a port are written [::1]:53)");
        }
        std::memcpy(&ep.addr, &sin, sizeof sin);
        ep.addr_len = sizeof sin;
    } else {
        sockaddr_in6 sin6{};
        sin6.sin6_family = AF_INET6;
        sin6.sin6_port = htons(port);
        if (inet_pton(AF_INET6, host_str.c_str(), &sin6.sin6_addr) != 1) {
            return fail("\"" + host_str +
                        "\" is not a numeric IPv6 address (no host names or scope ids)");
        }
        std::memcpy(&ep.addr, &sin6, sizeof sin6);
        ep.addr_len = sizeof sin6;
    }
    return ep;
}

Endpoint Endpoint::parse(std::string_view text, std::uint16_t default_port) {
    std::string error;
    auto ep = try_parse(text, default_port, &error);
    if (!ep) {
        throw std::invalid_argument(error);
    }
    return *ep;
}

Endpoint Endpoint::from_sockaddr(const sockaddr* sa, socklen_t len) {
    if (sa == nullptr) {
        throw std::invalid_argument("Endpoint::from_sockaddr: null address");
    }
    Endpoint ep;
    if (sa->sa_family == AF_INET && len >= static_cast<socklen_t>(sizeof(sockaddr_in))) {
        std::memcpy(&ep.addr, sa, sizeof(sockaddr_in));
        ep.addr_len = sizeof(sockaddr_in);
    } else if (sa->sa_family == AF_INET6 && len >= static_cast<socklen_t>(sizeof(sockaddr_in6))) {
        std::memcpy(&ep.addr, sa, sizeof(sockaddr_in6));
        ep.addr_len = sizeof(sockaddr_in6);
    } else {
        throw std::invalid_argument("Endpoint::from_sockaddr: address family " +
                                    std::to_string(sa->sa_family) + " with length " +
                                    std::to_string(len) + " is not IPv4 or IPv6");
    }
    return ep;
}

std::uint16_t Endpoint::port() const {
    if (addr.ss_family == AF_INET) {
        sockaddr_in sin;
        std::memcpy(&sin, &addr, sizeof sin);
        return ntohs(sin.sin_port);
    }
    if (addr.ss_family == AF_INET6) {
        sockaddr_in6 sin6;
        std::memcpy(&sin6, &addr, sizeof sin6);
        return ntohs(sin6.sin6_port);
    }
    return 0;
}

std::string Endpoint::address() const {
    char buf[INET6_ADDRSTRLEN] = {};
    if (addr.ss_family == AF_INET) {
        sockaddr_in sin;
        std::memcpy(&sin, &addr, sizeof sin);
        inet_ntop(AF_INET, &sin.sin_addr, buf, sizeof buf);
        return buf;
    }
    if (addr.ss_family == AF_INET6) {
        sockaddr_in6 sin6;
        std::memcpy(&sin6, &addr, sizeof sin6);
        inet_ntop(AF_INET6, &sin6.sin6_addr, buf, sizeof buf);
        return buf;
    }
    return "(no address)";
}

std::string Endpoint::to_string() const {
    if (addr.ss_family == AF_INET6) {
        return "[" + address() + "]:" + std::to_string(port());
    }
    return address() + ":" + std::to_string(port());
}

}  // namespace acmezone
