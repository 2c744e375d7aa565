// ChallengeDns against a real named (tests/unit/named_fixture.h) on
// 127.0.0.1 at a free port: CNAME following, waiting for values, and
// publishing through BIND's own dynamic update of a native zone, which takes
// the same TSIG-signed UPDATEs as the plugin. Results are checked with dig.
#include <arpa/inet.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "common/dns_name.h"
#include "common/endpoint.h"
#include "common/tsig_keyring.h"
#include "issuer/dns/authoritative_servers.h"
#include "issuer/dns/challenge_dns.h"
#include "issuer/dns/dns_exchange.h"
#include "tests/unit/named_fixture.h"

namespace acmezone::issuer {
namespace {

using std::chrono::milliseconds;
using ::testing::HasSubstr;
using testing::NamedFixture;

std::string example_records() {
    std::string r =
        "@ NS ns1\n"
        "ns1 A 127.0.0.1\n"
        "_acme-challenge.chain2 CNAME hop1.example.test.\n"
        "hop1 CNAME hop2.other.test.\n"
        "_acme-challenge.loop CNAME loop-a\n"
        "loop-a CNAME loop-b\n"
        "loop-b CNAME _acme-challenge.loop\n"
        "_acme-challenge.nodata TXT \"something else\"\n"
        "_acme-challenge.served TXT \"value-one\"\n"
        "_acme-challenge.served TXT \"value-two\"\n"
        "_acme-challenge.split TXT \"value-\" \"three\"\n";
    // _acme-challenge.long8 -> m1 -> ... -> m8 (8 CNAMEs), m8 is a TXT.
    r += "_acme-challenge.long8 CNAME m1\n";
    for (int i = 1; i < 8; ++i) {
        r += "m" + std::to_string(i) + " CNAME m" + std::to_string(i + 1) + "\n";
    }
    r += "m8 TXT \"end\"\n";
    // _acme-challenge.long9 -> l1 -> ... -> l9 (9 CNAMEs).
    r += "_acme-challenge.long9 CNAME l1\n";
    for (int i = 1; i < 9; ++i) {
        r += "l" + std::to_string(i) + " CNAME l" + std::to_string(i + 1) + "\n";
    }
    r += "l9 TXT \"end\"\n";
    return r;
}

// One named for a test: example.test (CNAMEs, served values), other.test
// (empty challenge zone), dyn.test (dynamic, acme-key may update).
class ChallengeDnsTest : public ::testing::Test {
  protected:
    static void SetUpTestSuite() {
        acme_key_text_ = new std::string(NamedFixture::generate_key("acme-key"));
        other_key_text_ = new std::string(NamedFixture::generate_key("other-key"));
    }
    static void TearDownTestSuite() {
        delete acme_key_text_;
        delete other_key_text_;
        acme_key_text_ = nullptr;
        other_key_text_ = nullptr;
    }

    void SetUp() override {
        named_ = std::make_unique<NamedFixture>(
            std::vector<NamedFixture::Zone>{
                {"example.test", example_records(), ""},
                {"other.test", "@ NS ns1.example.test.\n", ""},
                {"dyn.test", "@ NS ns1\nns1 A 127.0.0.1\n", "allow-update { key acme-key; };"},
            },
            *acme_key_text_ + *other_key_text_);
        std::string path =
            named_->write_private_file("keys.conf", *acme_key_text_ + *other_key_text_);
        TsigKeyring ring = TsigKeyring::load_file(path);
        const TsigKey* acme = ring.find(DnsName::parse("acme-key"));
        const TsigKey* other = ring.find(DnsName::parse("other-key"));
        ASSERT_NE(acme, nullptr);
        ASSERT_NE(other, nullptr);
        acme_key_ = *acme;
        other_key_ = *other;
    }

    Endpoint server() const { return Endpoint::parse(named_->address()); }

    DnsSettings settings() const {
        DnsSettings s;
        s.controls = {server()};
        s.key = acme_key_;
        s.resolver = server();
        s.timeout = milliseconds(2000);
        s.propagation_timeout = std::chrono::seconds(1);
        s.propagation_interval = milliseconds(50);
        return s;
    }

    // TXT strings at `name` as dig sees them (+short: one quoted line each).
    std::vector<std::string> dig_txt(const std::string& name) const {
        std::string cmd = "dig +short +norecurse +time=2 +tries=1 -p " +
                          std::to_string(named_->port()) + " @127.0.0.1 TXT " + name + " 2>&1";
        std::unique_ptr<FILE, int (*)(FILE*)> pipe(::popen(cmd.c_str(), "r"), ::pclose);
        EXPECT_TRUE(pipe) << cmd;
        std::vector<std::string> out;
        char buf[512];
        while (pipe && std::fgets(buf, sizeof buf, pipe.get()) != nullptr) {
            std::string line(buf);
            while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) {
                line.pop_back();
            }
            if (line.size() >= 2 && line.front() == '"' && line.back() == '"') {
                out.push_back(line.substr(1, line.size() - 2));
            } else if (!line.empty()) {
                ADD_FAILURE() << "unexpected dig output: " << line;
            }
        }
        std::sort(out.begin(), out.end());
        return out;
    }

    static std::string* acme_key_text_;
    static std::string* other_key_text_;
    std::unique_ptr<NamedFixture> named_;
    TsigKey acme_key_;
    TsigKey other_key_;
};

std::string* ChallengeDnsTest::acme_key_text_ = nullptr;
std::string* ChallengeDnsTest::other_key_text_ = nullptr;

// A UDP socket on 127.0.0.1 that receives and never answers.
class SilentUdpServer {
  public:
    SilentUdpServer() {
        fd_ = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        sockaddr_in sin{};
        sin.sin_family = AF_INET;
        sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t len = sizeof sin;
        if (fd_ < 0 || ::bind(fd_, reinterpret_cast<sockaddr*>(&sin), sizeof sin) != 0 ||
            ::getsockname(fd_, reinterpret_cast<sockaddr*>(&sin), &len) != 0) {
            throw std::runtime_error("cannot bind a UDP socket on 127.0.0.1");
        }
        port_ = ntohs(sin.sin_port);
    }
    ~SilentUdpServer() { ::close(fd_); }
    SilentUdpServer(const SilentUdpServer&) = delete;
    SilentUdpServer& operator=(const SilentUdpServer&) = delete;
    Endpoint endpoint() const { return Endpoint::parse("127.0.0.1:" + std::to_string(port_)); }

  private:
    int fd_ = -1;
    std::uint16_t port_ = 0;
};

// A 127.0.0.1 port where nothing listens (bound, then released).
Endpoint closed_port() {
    SilentUdpServer s;
    return s.endpoint();
}

template <typename F>
std::string dns_error_of(F&& f) {
    try {
        f();
    } catch (const DnsError& e) {
        return e.what();
    }
    ADD_FAILURE() << "expected a DnsError";
    return "";
}

// --- challenge_name ------------------------------------------------------

TEST_F(ChallengeDnsTest, NameWithoutCnameIsWhereValuesGo) {
    ChallengeDns dns(settings());
    // NXDOMAIN at the first name.
    EXPECT_EQ(dns.challenge_name(DnsName::parse("plain.example.test")).text(),
              "_acme-challenge.plain.example.test");
    // NODATA (a TXT, no CNAME) at the first name.
    EXPECT_EQ(dns.challenge_name(DnsName::parse("nodata.example.test")).text(),
              "_acme-challenge.nodata.example.test");
}

TEST_F(ChallengeDnsTest, FollowsChainOfTwoIntoAnotherZone) {
    ChallengeDns dns(settings());
    EXPECT_EQ(dns.challenge_name(DnsName::parse("chain2.example.test")).text(), "hop2.other.test");
}

TEST_F(ChallengeDnsTest, FollowsChainOfEight) {
    ChallengeDns dns(settings());
    EXPECT_EQ(dns.challenge_name(DnsName::parse("long8.example.test")).text(), "m8.example.test");
}

TEST_F(ChallengeDnsTest, ChainOfNineIsAnError) {
    ChallengeDns dns(settings());
    std::string msg =
        dns_error_of([&] { dns.challenge_name(DnsName::parse("long9.example.test")); });
    EXPECT_THAT(msg, HasSubstr("longer than 8"));
    EXPECT_THAT(msg, HasSubstr("_acme-challenge.long9.example.test -> l1.example.test -> "));
    EXPECT_THAT(msg, HasSubstr("-> l9.example.test"));
}

TEST_F(ChallengeDnsTest, LoopIsAnErrorNamingTheChain) {
    ChallengeDns dns(settings());
    std::string msg =
        dns_error_of([&] { dns.challenge_name(DnsName::parse("loop.example.test")); });
    EXPECT_THAT(msg, HasSubstr("CNAME loop: _acme-challenge.loop.example.test -> "
                               "loop-a.example.test -> loop-b.example.test -> "
                               "_acme-challenge.loop.example.test"));
}

TEST_F(ChallengeDnsTest, ResolverRefusalIsNamed) {
    ChallengeDns dns(settings());
    std::string msg =
        dns_error_of([&] { dns.challenge_name(DnsName::parse("elsewhere.invalid")); });
    EXPECT_THAT(msg, HasSubstr("resolver " + named_->address() + " answered REFUSED"));
    EXPECT_THAT(msg, HasSubstr("_acme-challenge.elsewhere.invalid"));
}

TEST_F(ChallengeDnsTest, SilentResolverTimesOut) {
    SilentUdpServer silent;
    DnsSettings s = settings();
    s.resolver = silent.endpoint();
    s.timeout = milliseconds(300);
    ChallengeDns dns(s);
    auto start = std::chrono::steady_clock::now();
    std::string msg = dns_error_of([&] { dns.challenge_name(DnsName::parse("example.test")); });
    auto took = std::chrono::steady_clock::now() - start;
    EXPECT_THAT(msg, HasSubstr("resolver " + silent.endpoint().to_string() +
                               " did not answer within 300 ms"));
    EXPECT_LT(took, milliseconds(1500));
}

// --- wait_until_served ---------------------------------------------------

TEST_F(ChallengeDnsTest, WaitReturnsWhenServerHasEveryValue) {
    DnsSettings s = settings();
    s.check_servers = {server()};
    ChallengeDns dns(s);
    auto start = std::chrono::steady_clock::now();
    EXPECT_NO_THROW(dns.wait_until_served(DnsName::parse("_acme-challenge.served.example.test"),
                                          {"value-one", "value-two"}));
    EXPECT_LT(std::chrono::steady_clock::now() - start, milliseconds(900));
}

TEST_F(ChallengeDnsTest, WaitJoinsTheStringsOfOneTxtRecord) {
    DnsSettings s = settings();
    s.check_servers = {server()};
    ChallengeDns dns(s);
    EXPECT_NO_THROW(dns.wait_until_served(DnsName::parse("_acme-challenge.split.example.test"),
                                          {"value-three"}));
}

TEST_F(ChallengeDnsTest, WaitNamesServerAndMissingValue) {
    DnsSettings s = settings();
    s.check_servers = {server()};
    ChallengeDns dns(s);
    auto start = std::chrono::steady_clock::now();
    std::string msg = dns_error_of([&] {
        dns.wait_until_served(DnsName::parse("_acme-challenge.served.example.test"),
                              {"value-one", "not-there"});
    });
    auto took = std::chrono::steady_clock::now() - start;
    EXPECT_THAT(msg, HasSubstr("_acme-challenge.served.example.test: " + named_->address() +
                               " does not serve value \"not-there\" after 1 s"));
    EXPECT_THAT(msg, HasSubstr("answered NOERROR with \"value-one\", \"value-two\""));
    EXPECT_GE(took, milliseconds(900));
    EXPECT_LT(took, milliseconds(3000));
}

TEST_F(ChallengeDnsTest, WaitReportsNxdomain) {
    DnsSettings s = settings();
    s.check_servers = {server()};
    ChallengeDns dns(s);
    std::string msg = dns_error_of([&] {
        dns.wait_until_served(DnsName::parse("_acme-challenge.absent.example.test"), {"v1", "v2"});
    });
    EXPECT_THAT(msg, HasSubstr(named_->address() + " does not serve values \"v1\", \"v2\""));
    EXPECT_THAT(msg, HasSubstr("(answered NXDOMAIN)"));
}

TEST_F(ChallengeDnsTest, WaitNamesEachFailingServer) {
    SilentUdpServer silent;
    DnsSettings s = settings();
    s.check_servers = {server(), silent.endpoint()};
    s.timeout = milliseconds(200);
    ChallengeDns dns(s);
    auto start = std::chrono::steady_clock::now();
    std::string msg = dns_error_of([&] {
        dns.wait_until_served(DnsName::parse("_acme-challenge.served.example.test"), {"value-one"});
    });
    EXPECT_LT(std::chrono::steady_clock::now() - start, milliseconds(3000));
    // The last poll may have had less than the whole 200 ms left before the
    // propagation deadline, and says how long it waited.
    EXPECT_THAT(msg, HasSubstr(silent.endpoint().to_string() +
                               " does not serve value \"value-one\" after 1 s (did not answer "
                               "within "));
    EXPECT_THAT(msg, ::testing::ContainsRegex("did not answer within [0-9]+ ms\\)"));
    // named serves it: it must not be named as failing.
    EXPECT_THAT(msg, ::testing::Not(HasSubstr(named_->address() + " does not serve")));
}

TEST_F(ChallengeDnsTest, FindsZoneNsSetAndAddresses) {
    AuthoritativeServers found =
        find_authoritative_servers(DnsName::parse("_acme-challenge.deep.below.example.test"),
                                   server(), milliseconds(2000), named_->port());
    EXPECT_EQ(found.zone.text(), "example.test");
    ASSERT_EQ(found.ns_names.size(), 1u);
    EXPECT_EQ(found.ns_names[0].text(), "ns1.example.test");
    ASSERT_EQ(found.servers.size(), 1u);
    EXPECT_EQ(found.servers[0].to_string(), named_->address());
    // other.test's NS lives in example.test.
    EXPECT_EQ(find_zone(DnsName::parse("hop2.other.test"), server(), milliseconds(2000)).text(),
              "other.test");
    // An apex is its own zone.
    EXPECT_EQ(find_zone(DnsName::parse("dyn.test"), server(), milliseconds(2000)).text(),
              "dyn.test");
}

// --- publish / unpublish -------------------------------------------------

TEST_F(ChallengeDnsTest, PublishAddsAndUnpublishRemovesExactlyItsValues) {
    ChallengeDns dns(settings());
    DnsName owner = DnsName::parse("_acme-challenge.dyn.test");
    ASSERT_TRUE(dig_txt(owner.text()).empty());

    dns.publish(owner, {"first-value", "second-value"});
    EXPECT_EQ(dig_txt(owner.text()), (std::vector<std::string>{"first-value", "second-value"}));

    dns.publish(owner, {"other-order"});
    dns.unpublish(owner, {"first-value", "second-value"});
    EXPECT_EQ(dig_txt(owner.text()), (std::vector<std::string>{"other-order"}));

    dns.unpublish(owner, {"other-order"});
    EXPECT_TRUE(dig_txt(owner.text()).empty());
}

TEST_F(ChallengeDnsTest, PublishedValuesAreSeenByWait) {
    DnsSettings s = settings();
    s.check_servers = {server()};
    ChallengeDns dns(s);
    DnsName owner = DnsName::parse("_acme-challenge.www.dyn.test");
    dns.publish(owner, {"abc", "def"});
    EXPECT_NO_THROW(dns.wait_until_served(owner, {"abc", "def"}));
    dns.unpublish(owner, {"abc", "def"});
    EXPECT_TRUE(dig_txt(owner.text()).empty());
}

TEST_F(ChallengeDnsTest, ManyValuesGoOverTcpWhenUdpTruncates) {
    DnsSettings s = settings();
    s.check_servers = {server()};
    ChallengeDns dns(s);
    DnsName owner = DnsName::parse("_acme-challenge.big.dyn.test");
    std::vector<std::string> values;
    for (int i = 0; i < 30; ++i) {  // 30 x 43 octets: far more than 512 octets of answer
        std::string v = "value-" + std::to_string(i) + "-";
        v.resize(43, 'x');
        values.push_back(v);
    }
    dns.publish(owner, values);
    // Without EDNS, named truncates this answer over UDP; the exchange retries over TCP.
    DnsReply reply = query(server(), owner, LDNS_RR_TYPE_TXT, false, milliseconds(2000));
    EXPECT_TRUE(reply.over_tcp);
    EXPECT_EQ(ldns_rr_list_rr_count(ldns_pkt_answer(reply.packet.get())), values.size());
    EXPECT_NO_THROW(dns.wait_until_served(owner, values));
    dns.unpublish(owner, values);
    EXPECT_TRUE(dig_txt(owner.text()).empty());
}

TEST_F(ChallengeDnsTest, WrongSecretIsBadsig) {
    DnsSettings s = settings();
    s.key.secret[0] ^= 0x01;
    ChallengeDns dns(s);
    std::string msg =
        dns_error_of([&] { dns.publish(DnsName::parse("_acme-challenge.dyn.test"), {"x"}); });
    EXPECT_THAT(msg, HasSubstr("control socket " + named_->address() + " answered NOTAUTH"));
    EXPECT_THAT(msg, HasSubstr("TSIG error BADSIG"));
    EXPECT_THAT(msg, HasSubstr("secret of key acme-key differs"));
    EXPECT_TRUE(dig_txt("_acme-challenge.dyn.test").empty());
}

TEST_F(ChallengeDnsTest, UnknownKeyIsBadkey) {
    DnsSettings s = settings();
    s.key.name = DnsName::parse("unknown-key");
    ChallengeDns dns(s);
    std::string msg =
        dns_error_of([&] { dns.publish(DnsName::parse("_acme-challenge.dyn.test"), {"x"}); });
    EXPECT_THAT(msg, HasSubstr("control socket " + named_->address()));
    EXPECT_THAT(msg, HasSubstr("TSIG error BADKEY"));
    EXPECT_THAT(msg, HasSubstr("key unknown-key is not in the plugin's keyring"));
}

TEST_F(ChallengeDnsTest, KeyWithoutGrantIsRefused) {
    DnsSettings s = settings();
    s.key = other_key_;
    ChallengeDns dns(s);
    std::string msg =
        dns_error_of([&] { dns.publish(DnsName::parse("_acme-challenge.dyn.test"), {"x"}); });
    EXPECT_THAT(msg, HasSubstr("control socket " + named_->address() +
                               " answered REFUSED for _acme-challenge.dyn.test"));
    EXPECT_THAT(msg, HasSubstr("key other-key not granted for _acme-challenge.dyn.test"));
    // REFUSED has other causes in the plugin than the grant: the advice says where to look.
    EXPECT_THAT(msg, HasSubstr("named's log names the plugin's reason"));
    EXPECT_THAT(msg, HasSubstr("replay-memory"));
    EXPECT_TRUE(dig_txt("_acme-challenge.dyn.test").empty());
}

TEST_F(ChallengeDnsTest, NameOutsideServedZonesIsNotauth) {
    ChallengeDns dns(settings());
    std::string msg =
        dns_error_of([&] { dns.publish(DnsName::parse("_acme-challenge.nowhere.test"), {"x"}); });
    EXPECT_THAT(msg, HasSubstr("control socket " + named_->address() + " answered NOTAUTH"));
}

TEST_F(ChallengeDnsTest, SilentControlSocketTimesOut) {
    SilentUdpServer silent;
    DnsSettings s = settings();
    s.controls = {silent.endpoint()};
    s.timeout = milliseconds(300);
    ChallengeDns dns(s);
    auto start = std::chrono::steady_clock::now();
    std::string msg =
        dns_error_of([&] { dns.publish(DnsName::parse("_acme-challenge.dyn.test"), {"x"}); });
    auto took = std::chrono::steady_clock::now() - start;
    EXPECT_THAT(msg, HasSubstr("control socket " + silent.endpoint().to_string() +
                               " did not answer within 300 ms"));
    EXPECT_LT(took, milliseconds(2000));  // SOA query + UPDATE, 300 ms each
}

TEST_F(ChallengeDnsTest, ClosedControlPortIsRefused) {
    DnsSettings s = settings();
    Endpoint closed = closed_port();
    s.controls = {closed};
    ChallengeDns dns(s);
    auto start = std::chrono::steady_clock::now();
    std::string msg =
        dns_error_of([&] { dns.publish(DnsName::parse("_acme-challenge.dyn.test"), {"x"}); });
    EXPECT_THAT(msg, HasSubstr("control socket " + closed.to_string() + " refused"));
    EXPECT_LT(std::chrono::steady_clock::now() - start, milliseconds(1000));
}

TEST_F(ChallengeDnsTest, UnpublishTriesEverySocket) {
    ChallengeDns good(settings());
    DnsName owner = DnsName::parse("_acme-challenge.dyn.test");
    good.publish(owner, {"keep-trying"});
    ASSERT_EQ(dig_txt(owner.text()), (std::vector<std::string>{"keep-trying"}));

    DnsSettings s = settings();
    Endpoint closed = closed_port();
    s.controls = {closed, server()};  // the failing one first
    ChallengeDns dns(s);
    std::string msg = dns_error_of([&] { dns.unpublish(owner, {"keep-trying"}); });
    EXPECT_THAT(msg, HasSubstr("1 of 2 control sockets failed"));
    EXPECT_THAT(msg, HasSubstr(closed.to_string()));
    EXPECT_TRUE(dig_txt(owner.text()).empty()) << "the second socket was not tried";
}

TEST_F(ChallengeDnsTest, PublishWithNoValuesSendsNothing) {
    DnsSettings s = settings();
    s.controls = {closed_port()};
    ChallengeDns dns(s);
    EXPECT_NO_THROW(dns.publish(DnsName::parse("_acme-challenge.dyn.test"), {}));
    EXPECT_NO_THROW(dns.unpublish(DnsName::parse("_acme-challenge.dyn.test"), {}));
}

}  // namespace
}  // namespace acmezone::issuer

namespace acmezone::issuer {
namespace {

TEST(ChallengeDnsSettings, MissingResolverIsNamed) {
    DnsSettings s;  // no resolver, no check servers
    ChallengeDns dns(s);
    EXPECT_THAT(dns_error_of([&] { dns.challenge_name(DnsName::parse("example.com")); }),
                ::testing::HasSubstr("example.com: no DNS resolver configured"));
    EXPECT_THAT(dns_error_of([&] {
                    dns.wait_until_served(DnsName::parse("_acme-challenge.example.com"), {"v"});
                }),
                ::testing::HasSubstr("neither check servers nor a DNS resolver configured"));
}

}  // namespace
}  // namespace acmezone::issuer
