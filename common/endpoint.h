// A numeric IP address and port: "127.0.0.1:5353", "[::1]:5353", or a bare
// address with a default port ("::1" bare: every colon belongs to the address).
// An explicit port 0 is accepted (the kernel picks one). No host names: a
// nameserver tool must not depend on the resolver it may itself serve.
#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace acmezone {

struct Endpoint {
    sockaddr_storage addr{};
    socklen_t addr_len = 0;

    // Throws std::invalid_argument naming the text and what is wrong.
    // Without a port, `default_port` is used; 0 means a port is required.
    static Endpoint parse(std::string_view text, std::uint16_t default_port = 0);
    static std::optional<Endpoint> try_parse(std::string_view text, std::uint16_t default_port = 0,
                                             std::string* error = nullptr);
    static Endpoint from_sockaddr(const sockaddr* sa, socklen_t len);

    int family() const { return addr.ss_family; }
    std::uint16_t port() const;
    std::string address() const;    // "127.0.0.1", "::1"
    std::string to_string() const;  // "127.0.0.1:5353", "[::1]:5353"
    const sockaddr* sockaddr_ptr() const { return reinterpret_cast<const sockaddr*>(&addr); }

    friend bool operator==(const Endpoint& a, const Endpoint& b) {
        return a.to_string() == b.to_string();
    }
};

}  // namespace acmezone
