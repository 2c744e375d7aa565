// Endpoint: the numeric address forms accepted, and the errors for the rest.
#include "common/endpoint.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>

#include <cstring>

using acmezone::Endpoint;

namespace {

std::string parse_error(std::string_view text, std::uint16_t default_port = 0) {
    std::string error;
    EXPECT_FALSE(Endpoint::try_parse(text, default_port, &error).has_value()) << text;
    return error;
}

}  // namespace

TEST(Endpoint, Ipv4WithPort) {
    Endpoint e = Endpoint::parse("127.0.0.1:5353");
    EXPECT_EQ(e.family(), AF_INET);
    EXPECT_EQ(e.port(), 5353);
    EXPECT_EQ(e.address(), "127.0.0.1");
    EXPECT_EQ(e.to_string(), "127.0.0.1:5353");
    EXPECT_EQ(e.addr_len, sizeof(sockaddr_in));
    sockaddr_in sin;
    std::memcpy(&sin, e.sockaddr_ptr(), sizeof sin);
    EXPECT_EQ(ntohl(sin.sin_addr.s_addr), 0x7f000001u);
    EXPECT_EQ(ntohs(sin.sin_port), 5353);
}

TEST(Endpoint, Ipv6WithPort) {
    Endpoint e = Endpoint::parse("[::1]:53");
    EXPECT_EQ(e.family(), AF_INET6);
    EXPECT_EQ(e.port(), 53);
    EXPECT_EQ(e.address(), "::1");
    EXPECT_EQ(e.to_string(), "[::1]:53");
    EXPECT_EQ(e.addr_len, sizeof(sockaddr_in6));
    EXPECT_EQ(Endpoint::parse("[2001:DB8::1]:853").to_string(), "[2001:db8::1]:853");
}

TEST(Endpoint, BareAddressTakesDefaultPort) {
    EXPECT_EQ(Endpoint::parse("127.0.0.1", 53).to_string(), "127.0.0.1:53");
    EXPECT_EQ(Endpoint::parse("::1", 53).to_string(), "[::1]:53");
    EXPECT_EQ(Endpoint::parse("[::1]", 53).to_string(), "[::1]:53");
    EXPECT_EQ(Endpoint::parse("127.0.0.1:54", 53).port(), 54);
}

TEST(Endpoint, BareIpv6IsAllAddress) {
    // Without brackets every colon belongs to the address: "2001:db8::1:53" is
    // that address, not 2001:db8::1 port 53 (that is "[2001:db8::1]:53").
    Endpoint e = Endpoint::parse("2001:db8::1:53", 5353);
    EXPECT_EQ(e.address(), "2001:db8::1:53");
    EXPECT_EQ(e.port(), 5353);
}

TEST(Endpoint, PortRequiredWithoutDefault) {
    EXPECT_NE(parse_error("127.0.0.1").find("a port is required"), std::string::npos);
    EXPECT_NE(parse_error("::1").find("a port is required"), std::string::npos);
    EXPECT_THROW(Endpoint::parse("127.0.0.1"), std::invalid_argument);
}

TEST(Endpoint, ExplicitPortZeroIsAllowed) {
    EXPECT_EQ(Endpoint::parse("127.0.0.1:0").port(), 0);
}

TEST(Endpoint, BadPorts) {
    for (const char* bad : {"127.0.0.1:65536", "127.0.0.1:99999", "127.0.0.1:", "127.0.0.1:x",
                            "127.0.0.1:-1", "[::1]:", "[::1]:1234567"}) {
        std::string e = parse_error(bad, 53);
        EXPECT_NE(e.find("port"), std::string::npos) << bad << ": " << e;
        EXPECT_NE(e.find(bad), std::string::npos) << e;
    }
}

TEST(Endpoint, HostNamesAndBadAddressesAreRefused) {
    EXPECT_NE(parse_error("localhost:53").find("not a numeric IPv4 address"), std::string::npos);
    EXPECT_NE(parse_error("ns1.example.com", 53).find("host names are not accepted"),
              std::string::npos);
    EXPECT_NE(parse_error("256.0.0.1:53").find("IPv4"), std::string::npos);
    EXPECT_NE(parse_error("127.1:53").find("IPv4"), std::string::npos);
    EXPECT_NE(parse_error("[fe80::1%eth0]:53").find("IPv6"), std::string::npos);
    EXPECT_NE(parse_error("[127.0.0.1]:53").find("IPv6"), std::string::npos);
    EXPECT_NE(parse_error("[::1:53").find("missing ']'"), std::string::npos);
    EXPECT_NE(parse_error("[::1]53").find("expected ':port'"), std::string::npos);
    EXPECT_NE(parse_error("").find("empty"), std::string::npos);
    EXPECT_NE(parse_error("[:::1]:53").find("IPv6"), std::string::npos);
}

TEST(Endpoint, FromSockaddrRoundTrip) {
    Endpoint a = Endpoint::parse("[::1]:5300");
    Endpoint b = Endpoint::from_sockaddr(a.sockaddr_ptr(), a.addr_len);
    EXPECT_EQ(a, b);
    Endpoint c = Endpoint::parse("127.0.0.1:5300");
    EXPECT_EQ(Endpoint::from_sockaddr(c.sockaddr_ptr(), c.addr_len).to_string(), "127.0.0.1:5300");
    EXPECT_FALSE(a == c);
    sockaddr_storage unix_addr{};
    unix_addr.ss_family = AF_UNIX;
    EXPECT_THROW(
        Endpoint::from_sockaddr(reinterpret_cast<const sockaddr*>(&unix_addr), sizeof unix_addr),
        std::invalid_argument);
    EXPECT_THROW(Endpoint::from_sockaddr(c.sockaddr_ptr(), 4), std::invalid_argument);
}
