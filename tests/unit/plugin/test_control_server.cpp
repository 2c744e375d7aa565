// The control socket end to end, in process: a real ControlServer on
// 127.0.0.1 port 0 with a memory-only ChallengeStore, driven by messages
// built and signed with ldns, and once by the real nsupdate binary. A UDP
// socket of the test plays the secondary that receives NOTIFY.
#include "plugin/control_server.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <mutex>
#include <system_error>
#include <thread>

#include "common/log.h"
#include "plugin/tsig_verifier.h"
#include "tests/unit/control_packets.h"

namespace acmezone::plugin {
namespace {

using namespace acmezone::plugin::testing;
using namespace std::chrono_literals;

DnsName n(const char* text) {
    return DnsName::parse(text);
}

std::vector<std::uint8_t> udp_exchange(const Endpoint& server, const std::vector<std::uint8_t>& m) {
    Socket s(::socket(AF_INET, SOCK_DGRAM, 0));
    ::sendto(s.fd(), m.data(), m.size(), 0, server.sockaddr_ptr(), server.addr_len);
    if (!readable(s.fd(), 3000ms)) {
        throw std::runtime_error("test: no UDP answer within 3 s");
    }
    std::vector<std::uint8_t> buf(65535);
    const ssize_t got = ::recv(s.fd(), buf.data(), buf.size(), 0);
    buf.resize(static_cast<std::size_t>(std::max<ssize_t>(got, 0)));
    return buf;
}

int tcp_connect(const Endpoint& server) {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0 || ::connect(fd, server.sockaddr_ptr(), server.addr_len) != 0) {
        throw std::runtime_error("test: cannot connect over TCP");
    }
    return fd;
}

void send_all(int fd, const std::vector<std::uint8_t>& data) {
    ASSERT_EQ(::send(fd, data.data(), data.size(), MSG_NOSIGNAL),
              static_cast<ssize_t>(data.size()));
}

std::vector<std::uint8_t> framed(const std::vector<std::uint8_t>& m) {
    std::vector<std::uint8_t> out = {static_cast<std::uint8_t>(m.size() >> 8),
                                     static_cast<std::uint8_t>(m.size() & 0xff)};
    out.insert(out.end(), m.begin(), m.end());
    return out;
}

// Reads exactly `size` octets, or fewer if the peer closes / 3 s pass.
std::vector<std::uint8_t> read_exactly(int fd, std::size_t size) {
    std::vector<std::uint8_t> out;
    for (int rounds = 0; out.size() < size && rounds < 100; ++rounds) {
        if (!readable(fd, 3000ms)) {
            break;
        }
        std::uint8_t buf[4096];
        const ssize_t got = ::recv(fd, buf, std::min(sizeof buf, size - out.size()), 0);
        if (got <= 0) {
            break;
        }
        out.insert(out.end(), buf, buf + got);
    }
    return out;
}

std::vector<std::uint8_t> tcp_read_message(int fd) {
    const auto len = read_exactly(fd, 2);
    if (len.size() != 2) {
        return {};
    }
    return read_exactly(fd, static_cast<std::size_t>(len[0] << 8 | len[1]));
}

// An SOA query over the TCP connection `fd`: answered NOERROR.
void expect_soa_answer(int fd) {
    LdnsPkt q = make_query("_acme-challenge.example.com.", LDNS_RR_TYPE_SOA);
    send_all(fd, framed(to_wire(q.get())));
    EXPECT_EQ(rcode_of(tcp_read_message(fd)), kRcodeNoError);
}

// True when the server closed the connection within `timeout`.
bool closed_by_server(int fd, std::chrono::milliseconds timeout) {
    if (!readable(fd, timeout)) {
        return false;
    }
    std::uint8_t b;
    return ::recv(fd, &b, 1, 0) <= 0;  // EOF, or a reset
}

class ControlServerTest : public ::testing::Test {
  protected:
    ControlServerTest() {
        set_log_sink([this](LogLevel, const std::string& line) {
            std::lock_guard lock(log_mutex);
            log_lines.push_back(line);
        });
        secondary_fd = ::socket(AF_INET, SOCK_DGRAM, 0);
        const Endpoint any = Endpoint::parse("127.0.0.1:0");
        ::bind(secondary_fd, any.sockaddr_ptr(), any.addr_len);
        sockaddr_storage ss{};
        socklen_t len = sizeof ss;
        ::getsockname(secondary_fd, reinterpret_cast<sockaddr*>(&ss), &len);
        secondary = Endpoint::from_sockaddr(reinterpret_cast<sockaddr*>(&ss), len);

        config.zones = {n("example.com")};
        config.challenge_zones = {n("acme.example.net")};
        config.nameservers = {n("ns1.example.com")};
        config.contact = n("hostmaster.example.com");
        config.control.listen = {Endpoint::parse("127.0.0.1:0")};
        config.control.keyring.add(acme_key);
        config.control.keyring.add(lab_key);
        config.control.grants = {
            Grant{n("acme-key"), Grant::Kind::zonesub, n("example.com")},
            Grant{n("acme-key"), Grant::Kind::zonesub, n("acme.example.net")},
            Grant{n("lab-key"), Grant::Kind::name, n("_acme-challenge.www.example.com")}};
        config.control.notify = {secondary};
        config.control.max_tcp_connections = 3;
        config.control.tcp_idle_timeout = 2s;
    }
    ~ControlServerTest() override {
        server.reset();
        ::close(secondary_fd);
        set_log_sink(nullptr);
    }
    void start() {
        claims = std::make_unique<ZoneClaims>(config.zones, config.challenge_zones);
        notifier = std::make_unique<Notifier>(config.control.notify);
        server = std::make_unique<ControlServer>(config, *claims, store, *notifier);
        ASSERT_EQ(server->local_endpoints().size(), 1u);
        ep = server->local_endpoints()[0];
        ASSERT_NE(ep.port(), 0);
    }
    std::size_t values_at(const char* name) {
        return store.snapshot()->values_at(n(name), Clock::now()).size();
    }
    bool logged(const std::string& a, const std::string& b = "") {
        std::lock_guard lock(log_mutex);
        for (const auto& l : log_lines) {
            if (l.find(a) != std::string::npos && l.find(b) != std::string::npos) {
                return true;
            }
        }
        return false;
    }
    bool logged_secret() {
        std::lock_guard lock(log_mutex);
        for (const auto& l : log_lines) {
            if (l.find(acme_key.secret_base64()) != std::string::npos ||
                l.find(lab_key.secret_base64()) != std::string::npos) {
                return true;
            }
        }
        return false;
    }
    // A signed UPDATE adding `value` at `name` (zone `zone`).
    std::vector<std::uint8_t> add(const TsigKey& key, const std::string& zone,
                                  const std::string& name, const std::string& value,
                                  std::uint16_t id = 100) {
        LdnsPkt pkt = make_update(zone, {}, {rr_from(name + ". 60 IN TXT \"" + value + "\"")}, id);
        return signed_wire(pkt.get(), key);
    }

    TsigKey acme_key = make_key("acme-key", TsigAlgorithm::hmac_sha256, 0x21);
    TsigKey lab_key = make_key("lab-key", TsigAlgorithm::hmac_sha512, 0x33, 64);
    PluginConfig config;
    ChallengeStore store{StoreOptions{}};
    std::unique_ptr<ZoneClaims> claims;
    std::unique_ptr<Notifier> notifier;  // outlives the server
    std::unique_ptr<ControlServer> server;
    Endpoint ep;
    int secondary_fd = -1;
    Endpoint secondary;
    std::mutex log_mutex;
    std::vector<std::string> log_lines;
};

TEST_F(ControlServerTest, SoaQueryForAClaimedApexIsAuthoritative) {
    start();
    LdnsPkt q = make_query("_acme-challenge.example.com.", LDNS_RR_TYPE_SOA, /*rd=*/false);
    LdnsPkt a = parse_wire(udp_exchange(ep, to_wire(q.get())));
    EXPECT_EQ(ldns_pkt_get_rcode(a.get()), LDNS_RCODE_NOERROR);
    EXPECT_TRUE(ldns_pkt_aa(a.get()));
    EXPECT_EQ(ldns_pkt_id(a.get()), 777);
    ASSERT_EQ(ldns_pkt_ancount(a.get()), 1);
    const ldns_rr* soa = ldns_rr_list_rr(ldns_pkt_answer(a.get()), 0);
    EXPECT_EQ(ldns_rr_get_type(soa), LDNS_RR_TYPE_SOA);
    char* text = ldns_rr2str(soa);
    const std::string s = text;
    std::free(text);
    EXPECT_NE(s.find("_acme-challenge.example.com.\t0\tIN\tSOA\tns1.example.com. "
                     "hostmaster.example.com. " +
                     std::to_string(store.snapshot()->serial)),
              std::string::npos)
        << s;
}

TEST_F(ControlServerTest, SoaQueryInsideAClaimedZoneGetsTheApexSoaInAuthority) {
    start();
    LdnsPkt q = make_query("a.b.acme.example.net.", LDNS_RR_TYPE_SOA);
    LdnsPkt a = parse_wire(udp_exchange(ep, to_wire(q.get())));
    EXPECT_EQ(ldns_pkt_get_rcode(a.get()), LDNS_RCODE_NOERROR);
    EXPECT_TRUE(ldns_pkt_aa(a.get()));
    EXPECT_EQ(ldns_pkt_ancount(a.get()), 0);
    ASSERT_EQ(ldns_pkt_nscount(a.get()), 1);
    const ldns_rr* soa = ldns_rr_list_rr(ldns_pkt_authority(a.get()), 0);
    char* owner = ldns_rdf2str(ldns_rr_owner(soa));
    EXPECT_STREQ(owner, "acme.example.net.");
    std::free(owner);
}

TEST_F(ControlServerTest, OtherQueriesAreRefusedAndOtherOpcodesNotimp) {
    start();
    for (const char* name : {"example.com.", "www.example.com.", "example.org."}) {
        LdnsPkt q = make_query(name, LDNS_RR_TYPE_SOA);
        EXPECT_EQ(rcode_of(udp_exchange(ep, to_wire(q.get()))), kRcodeRefused) << name;
    }
    LdnsPkt txt = make_query("_acme-challenge.example.com.", LDNS_RR_TYPE_TXT);
    EXPECT_EQ(rcode_of(udp_exchange(ep, to_wire(txt.get()))), kRcodeRefused);
    LdnsPkt status = make_query("_acme-challenge.example.com.", LDNS_RR_TYPE_SOA);
    ldns_pkt_set_opcode(status.get(), LDNS_PACKET_STATUS);
    EXPECT_EQ(rcode_of(udp_exchange(ep, to_wire(status.get()))), kRcodeNotImp);
}

TEST_F(ControlServerTest, SignedSoaQueryGetsASignedAnswer) {
    start();
    LdnsPkt q = make_query("_acme-challenge.example.com.", LDNS_RR_TYPE_SOA);
    const auto wire = signed_wire(q.get(), acme_key);
    const auto answer = udp_exchange(ep, wire);
    EXPECT_EQ(rcode_of(answer), kRcodeNoError);
    LdnsPkt req = parse_wire(wire);
    EXPECT_TRUE(ldns_verifies_answer(answer, acme_key, tsig_mac_rdf(req.get())));
}

TEST_F(ControlServerTest, SignedUpdateIsAppliedBeforeTheSignedAnswer) {
    start();
    const auto wire = add(acme_key, "example.com", "_acme-challenge.example.com", "token-1");
    const auto answer = udp_exchange(ep, wire);
    ASSERT_EQ(rcode_of(answer), kRcodeNoError);
    // Read-your-writes: visible as soon as the answer is in.
    EXPECT_EQ(values_at("_acme-challenge.example.com"), 1u);
    LdnsPkt req = parse_wire(wire);
    EXPECT_TRUE(ldns_verifies_answer(answer, acme_key, tsig_mac_rdf(req.get())));
    EXPECT_TRUE(logged("key acme-key", "serial"));
    EXPECT_FALSE(logged_secret());
}

TEST_F(ControlServerTest, TcpFramingSeveralMessagesAndSplitReads) {
    start();
    Socket c(tcp_connect(ep));
    // Two messages in one write.
    auto both = framed(add(acme_key, "example.com", "_acme-challenge.example.com", "a", 1));
    const auto second = framed(add(acme_key, "example.com", "_acme-challenge.example.com", "b", 2));
    both.insert(both.end(), second.begin(), second.end());
    send_all(c.fd(), both);
    EXPECT_EQ(rcode_of(tcp_read_message(c.fd())), kRcodeNoError);
    EXPECT_EQ(rcode_of(tcp_read_message(c.fd())), kRcodeNoError);
    EXPECT_EQ(values_at("_acme-challenge.example.com"), 2u);
    // One message split inside its length prefix and inside its body.
    const auto third = framed(add(acme_key, "example.com", "_acme-challenge.example.com", "c", 3));
    send_all(c.fd(), {third.begin(), third.begin() + 1});
    std::this_thread::sleep_for(50ms);
    send_all(c.fd(), {third.begin() + 1, third.begin() + 20});
    std::this_thread::sleep_for(50ms);
    send_all(c.fd(), {third.begin() + 20, third.end()});
    EXPECT_EQ(rcode_of(tcp_read_message(c.fd())), kRcodeNoError);
    EXPECT_EQ(values_at("_acme-challenge.example.com"), 3u);
}

TEST_F(ControlServerTest, DeletesWork) {
    start();
    ASSERT_EQ(rcode_of(udp_exchange(
                  ep, add(acme_key, "example.com", "_acme-challenge.example.com", "a", 1))),
              kRcodeNoError);
    ASSERT_EQ(rcode_of(udp_exchange(
                  ep, add(acme_key, "example.com", "_acme-challenge.example.com", "b", 2))),
              kRcodeNoError);
    const std::string name = "_acme-challenge.example.com.";
    LdnsPkt one = make_update("example.com", {}, {rr_from(name + " 0 NONE TXT \"a\"")}, 3);
    EXPECT_EQ(rcode_of(udp_exchange(ep, signed_wire(one.get(), acme_key))), kRcodeNoError);
    EXPECT_EQ(values_at("_acme-challenge.example.com"), 1u);
    LdnsPkt all =
        make_update("example.com", {}, {bare_rr(name, LDNS_RR_TYPE_TXT, LDNS_RR_CLASS_ANY)});
    EXPECT_EQ(rcode_of(udp_exchange(ep, signed_wire(all.get(), acme_key))), kRcodeNoError);
    EXPECT_EQ(values_at("_acme-challenge.example.com"), 0u);
}

TEST_F(ControlServerTest, LegoStyleRemoveRrsetThenInsertInOneUpdate) {
    start();
    ASSERT_EQ(rcode_of(udp_exchange(
                  ep, add(acme_key, "example.com", "_acme-challenge.example.com", "old", 1))),
              kRcodeNoError);
    const std::string name = "_acme-challenge.example.com.";
    LdnsPkt pkt = make_update(
        "example.com", {},
        {bare_rr(name, LDNS_RR_TYPE_TXT, LDNS_RR_CLASS_ANY), rr_from(name + " 120 IN TXT \"new\"")},
        2);
    ASSERT_EQ(rcode_of(udp_exchange(ep, signed_wire(pkt.get(), acme_key))), kRcodeNoError);
    const auto values = store.snapshot()->values_at(n("_acme-challenge.example.com"), Clock::now());
    ASSERT_EQ(values.size(), 1u);
    EXPECT_EQ(values[0].data, (TxtData{"new"}));
}

TEST_F(ControlServerTest, ConcurrentUpdatesAreAllAppliedBeforeTheirAnswers) {
    start();
    constexpr int kThreads = 6;
    constexpr int kEach = 10;
    std::vector<std::thread> clients;
    std::atomic<int> ok{0};
    std::atomic<int> missing{0};
    for (int t = 0; t < kThreads; ++t) {
        clients.emplace_back([&, t] {
            for (int i = 0; i < kEach; ++i) {
                try {
                    const std::string value = "v" + std::to_string(t) + "-" + std::to_string(i);
                    const auto id = static_cast<std::uint16_t>(t * 100 + i);
                    const auto answer = udp_exchange(
                        ep, add(acme_key, "acme.example.net",
                                "c" + std::to_string(t) + ".acme.example.net", value, id));
                    if (rcode_of(answer) == kRcodeNoError) {
                        ++ok;
                    }
                    // Read-your-writes for every acknowledged value.
                    const auto snap = store.snapshot();
                    bool seen = false;
                    for (const TxtValue& v : snap->values_at(
                             DnsName::parse("c" + std::to_string(t) + ".acme.example.net"),
                             Clock::now())) {
                        seen = seen || v.data == TxtData{value};
                    }
                    if (!seen) {
                        ++missing;
                    }
                } catch (const std::exception&) {
                    ++missing;  // no answer: counted, never thrown out of the thread
                }
            }
        });
    }
    for (auto& c : clients) {
        c.join();
    }
    EXPECT_EQ(ok.load(), kThreads * kEach);
    EXPECT_EQ(missing.load(), 0);
    for (int t = 0; t < kThreads; ++t) {
        EXPECT_EQ(store.snapshot()
                      ->values_at(DnsName::parse("c" + std::to_string(t) + ".acme.example.net"),
                                  Clock::now())
                      .size(),
                  static_cast<std::size_t>(kEach));
    }
}

TEST_F(ControlServerTest, UnsignedUpdateIsRefusedAndChangesNothing) {
    start();
    LdnsPkt pkt =
        make_update("example.com", {}, {rr_from("_acme-challenge.example.com. 60 IN TXT \"x\"")});
    EXPECT_EQ(rcode_of(udp_exchange(ep, to_wire(pkt.get()))), kRcodeRefused);
    EXPECT_EQ(values_at("_acme-challenge.example.com"), 0u);
    EXPECT_TRUE(logged("REFUSED unsigned UPDATE"));
}

TEST_F(ControlServerTest, BadKeyAndBadSigAreNotauthAndChangeNothing) {
    start();
    const auto serial = store.snapshot()->serial;
    const auto badkey = add(make_key("stranger", TsigAlgorithm::hmac_sha256), "example.com",
                            "_acme-challenge.example.com", "x");
    LdnsPkt a1 = parse_wire(udp_exchange(ep, badkey));
    EXPECT_EQ(ldns_pkt_get_rcode(a1.get()), kRcodeNotAuth);
    ASSERT_NE(ldns_pkt_tsig(a1.get()), nullptr);
    EXPECT_EQ(ldns_rdf2native_int16(ldns_rr_rdf(ldns_pkt_tsig(a1.get()), 5)), kTsigBadKey);

    const auto badsig = add(make_key("acme-key", TsigAlgorithm::hmac_sha256, 0x77), "example.com",
                            "_acme-challenge.example.com", "x");
    LdnsPkt a2 = parse_wire(udp_exchange(ep, badsig));
    EXPECT_EQ(ldns_pkt_get_rcode(a2.get()), kRcodeNotAuth);
    EXPECT_EQ(ldns_rdf2native_int16(ldns_rr_rdf(ldns_pkt_tsig(a2.get()), 5)), kTsigBadSig);
    EXPECT_EQ(store.snapshot()->serial, serial);
    EXPECT_EQ(values_at("_acme-challenge.example.com"), 0u);
}

TEST_F(ControlServerTest, WarningsAboutJunkAreRateLimited) {
    start();
    const auto bad = make_key("acme-key", TsigAlgorithm::hmac_sha256, 0x77);
    for (int i = 0; i < 60; ++i) {
        const auto wire = add(bad, "example.com", "_acme-challenge.example.com", "x",
                              static_cast<std::uint16_t>(i));
        ASSERT_EQ(rcode_of(udp_exchange(ep, wire)), kRcodeNotAuth);
    }
    std::size_t lines = 0;
    {
        std::lock_guard lock(log_mutex);
        for (const auto& l : log_lines) {
            lines += l.find("MAC does not verify") != std::string::npos ? 1 : 0;
        }
    }
    EXPECT_GE(lines, 1u);
    EXPECT_LE(lines, 20u);
}

TEST_F(ControlServerTest, UdpRetransmissionGetsTheSameAnswerAndIsAppliedOnce) {
    // A third key, of the same algorithm as acme-key, to forge with.
    const TsigKey other = make_key("other-key", TsigAlgorithm::hmac_sha256, 0x55);
    config.control.keyring.add(other);
    config.control.grants.push_back(Grant{n("other-key"), Grant::Kind::zonesub, n("example.com")});
    start();
    const auto serial0 = store.snapshot()->serial;
    const auto wire = add(acme_key, "example.com", "_acme-challenge.example.com", "once");
    const auto first = udp_exchange(ep, wire);
    const auto second = udp_exchange(ep, wire);  // as nsupdate resends after a lost answer
    EXPECT_EQ(rcode_of(first), kRcodeNoError);
    EXPECT_EQ(second, first);  // the same octets, signature included
    LdnsPkt req = parse_wire(wire);
    EXPECT_TRUE(ldns_verifies_answer(second, acme_key, tsig_mac_rdf(req.get())));
    EXPECT_EQ(store.snapshot()->serial, serial0 + 1);  // applied once
    EXPECT_EQ(values_at("_acme-challenge.example.com"), 1u);
    EXPECT_TRUE(logged("retransmission"));

    // The same MAC under another key, on another message: BADSIG, nothing changes.
    auto forged = add(other, "example.com", "_acme-challenge.example.com", "forged");
    const std::size_t mac_at = forged.size() - 6 - 32;  // MAC, then ID, error, other len
    const std::size_t orig_mac_at = wire.size() - 6 - 32;
    std::copy(wire.begin() + static_cast<std::ptrdiff_t>(orig_mac_at),
              wire.begin() + static_cast<std::ptrdiff_t>(orig_mac_at + 32),
              forged.begin() + static_cast<std::ptrdiff_t>(mac_at));
    const auto forged_answer = udp_exchange(ep, forged);
    EXPECT_EQ(rcode_of(forged_answer), kRcodeNotAuth);
    EXPECT_NE(forged_answer, first);
    // The same message and MAC with another ID (the MAC covers the Original
    // ID, not the header's): not the same octets, so a replay: REFUSED.
    auto other_id = wire;
    other_id[1] ^= 0x5a;
    const auto replay = udp_exchange(ep, other_id);
    EXPECT_EQ(rcode_of(replay), kRcodeRefused);
    EXPECT_TRUE(logged("replayed"));
    // The same octets over TCP: refused as well (see tsig_verifier.h).
    Socket c(tcp_connect(ep));
    send_all(c.fd(), framed(wire));
    EXPECT_EQ(rcode_of(tcp_read_message(c.fd())), kRcodeRefused);
    EXPECT_EQ(store.snapshot()->serial, serial0 + 1);
    const auto values = store.snapshot()->values_at(n("_acme-challenge.example.com"), Clock::now());
    ASSERT_EQ(values.size(), 1u);
    EXPECT_EQ(values[0].data, (TxtData{"once"}));
}

TEST_F(ControlServerTest, TcpRetransmissionOnANewConnectionGetsTheSameAnswer) {
    start();
    const auto serial0 = store.snapshot()->serial;
    const auto wire = add(acme_key, "example.com", "_acme-challenge.example.com", "tcp");
    std::vector<std::uint8_t> first;
    {
        Socket c(tcp_connect(ep));
        send_all(c.fd(), framed(wire));
        first = tcp_read_message(c.fd());
    }
    Socket again(tcp_connect(ep));
    send_all(again.fd(), framed(wire));
    EXPECT_EQ(tcp_read_message(again.fd()), first);
    EXPECT_EQ(rcode_of(first), kRcodeNoError);
    EXPECT_EQ(store.snapshot()->serial, serial0 + 1);
    // Over UDP the same octets are a replay.
    EXPECT_EQ(rcode_of(udp_exchange(ep, wire)), kRcodeRefused);
    EXPECT_EQ(store.snapshot()->serial, serial0 + 1);
}

TEST_F(ControlServerTest, NameOutsideTheKeysGrantsRefusesTheWholeUpdate) {
    start();
    // lab-key may write _acme-challenge.www.example.com only.
    LdnsPkt pkt = make_update("example.com", {},
                              {rr_from("_acme-challenge.www.example.com. 60 IN TXT \"ok\""),
                               rr_from("_acme-challenge.example.com. 60 IN TXT \"no\"")});
    EXPECT_EQ(rcode_of(udp_exchange(ep, signed_wire(pkt.get(), lab_key))), kRcodeRefused);
    EXPECT_EQ(values_at("_acme-challenge.www.example.com"), 0u);
    EXPECT_EQ(values_at("_acme-challenge.example.com"), 0u);
    EXPECT_TRUE(logged("key lab-key is not granted _acme-challenge.example.com"));
    EXPECT_FALSE(logged_secret());
    // Its own name alone is fine.
    EXPECT_EQ(rcode_of(udp_exchange(
                  ep, add(lab_key, "www.example.com", "_acme-challenge.www.example.com", "ok"))),
              kRcodeNoError);
}

TEST_F(ControlServerTest, NonTxtIsRefusedAndMalformedIsFormerr) {
    start();
    LdnsPkt a =
        make_update("example.com", {}, {rr_from("_acme-challenge.example.com. 60 IN A 192.0.2.1")});
    EXPECT_EQ(rcode_of(udp_exchange(ep, signed_wire(a.get(), acme_key))), kRcodeRefused);
    auto wire = add(acme_key, "example.com", "_acme-challenge.example.com", "x");
    wire.resize(wire.size() - 20);
    EXPECT_EQ(rcode_of(udp_exchange(ep, wire)), kRcodeFormErr);
    EXPECT_EQ(values_at("_acme-challenge.example.com"), 0u);
    // Zone neither claimed nor above a claimed zone.
    LdnsPkt z = make_update("example.org", {}, {});
    EXPECT_EQ(rcode_of(udp_exchange(ep, signed_wire(z.get(), acme_key))), kRcodeNotAuth);
}

TEST_F(ControlServerTest, FailedPrerequisiteChangesNothing) {
    start();
    const std::string name = "_acme-challenge.example.com.";
    LdnsPkt pkt = make_update("example.com", {bare_rr(name, LDNS_RR_TYPE_TXT, LDNS_RR_CLASS_ANY)},
                              {rr_from(name + " 60 IN TXT \"x\"")});
    EXPECT_EQ(rcode_of(udp_exchange(ep, signed_wire(pkt.get(), acme_key))), kRcodeNxRrset);
    EXPECT_EQ(values_at("_acme-challenge.example.com"), 0u);
}

TEST_F(ControlServerTest, TooManyTcpConnectionsAreClosed) {
    start();
    Socket a(tcp_connect(ep)), b(tcp_connect(ep)), c(tcp_connect(ep));
    for (const Socket* s : {&a, &b, &c}) {  // answered: accepted and counted, however slow
        expect_soa_answer(s->fd());
    }
    // Over the limit: closed without an answer to its query (an idle close
    // after 2 s cannot pass for it: an answer would come first).
    Socket d(tcp_connect(ep));
    LdnsPkt q = make_query("_acme-challenge.example.com.", LDNS_RR_TYPE_SOA);
    const auto m = framed(to_wire(q.get()));
    (void)::send(d.fd(), m.data(), m.size(), MSG_NOSIGNAL);  // may meet the close
    EXPECT_TRUE(closed_by_server(d.fd(), 5000ms));
    EXPECT_FALSE(closed_by_server(a.fd(), 100ms));
    EXPECT_TRUE(logged("max-tcp-connections"));
}

TEST_F(ControlServerTest, IdleAndSlowTcpClientsAreClosed) {
    start();
    Socket idle(tcp_connect(ep));
    Socket slow(tcp_connect(ep));
    const auto m = framed(add(acme_key, "example.com", "_acme-challenge.example.com", "x"));
    send_all(slow.fd(), {m.begin(), m.begin() + 5});  // never finished
    const auto start_time = std::chrono::steady_clock::now();
    EXPECT_TRUE(closed_by_server(idle.fd(), 5000ms));
    EXPECT_TRUE(closed_by_server(slow.fd(), 5000ms));
    EXPECT_GE(std::chrono::steady_clock::now() - start_time, 1500ms);  // not before ~2 s
    EXPECT_EQ(values_at("_acme-challenge.example.com"), 0u);
}

TEST_F(ControlServerTest, BigUdpAnswerIsTruncatedAndCompleteOverTcp) {
    const std::string l55a(55, 'a'), l55b(55, 'b');
    config.nameservers = {
        DnsName::parse(l55a + "." + l55a + "." + l55a + "." + l55a + ".example.com")};
    config.contact = DnsName::parse(l55b + "." + l55b + "." + l55b + "." + l55b + ".example.com");
    start();
    LdnsPkt q = make_query("_acme-challenge.example.com.", LDNS_RR_TYPE_SOA);
    const auto udp = udp_exchange(ep, to_wire(q.get()));
    LdnsPkt a = parse_wire(udp);
    EXPECT_TRUE(ldns_pkt_tc(a.get()));
    EXPECT_EQ(ldns_pkt_ancount(a.get()), 0);
    EXPECT_LE(udp.size(), 512u);
    Socket c(tcp_connect(ep));
    send_all(c.fd(), framed(to_wire(q.get())));
    const auto tcp = tcp_read_message(c.fd());
    ASSERT_GT(tcp.size(), 512u);
    LdnsPkt full = parse_wire(tcp);
    EXPECT_FALSE(ldns_pkt_tc(full.get()));
    EXPECT_EQ(ldns_pkt_ancount(full.get()), 1);
}

// Waits for a NOTIFY at the test's secondary socket; returns it (empty on timeout).
std::vector<std::uint8_t> receive_notify(int fd, sockaddr_storage* from,
                                         std::chrono::milliseconds t) {
    if (!readable(fd, t)) {
        return {};
    }
    std::vector<std::uint8_t> buf(512);
    socklen_t len = sizeof *from;
    const ssize_t got =
        ::recvfrom(fd, buf.data(), buf.size(), 0, reinterpret_cast<sockaddr*>(from), &len);
    buf.resize(static_cast<std::size_t>(std::max<ssize_t>(got, 0)));
    return buf;
}

TEST_F(ControlServerTest, ChangeSendsNotifyRetriedUntilAnswered) {
    start();
    ASSERT_EQ(rcode_of(udp_exchange(
                  ep, add(acme_key, "example.com", "_acme-challenge.example.com", "x"))),
              kRcodeNoError);
    sockaddr_storage from{};
    const auto first = receive_notify(secondary_fd, &from, 3000ms);
    ASSERT_FALSE(first.empty()) << "no NOTIFY within 3 s";
    LdnsPkt notify = parse_wire(first);
    EXPECT_EQ(ldns_pkt_get_opcode(notify.get()), LDNS_PACKET_NOTIFY);
    EXPECT_TRUE(ldns_pkt_aa(notify.get()));
    EXPECT_FALSE(ldns_pkt_qr(notify.get()));
    ASSERT_EQ(ldns_pkt_qdcount(notify.get()), 1);
    const ldns_rr* q = ldns_rr_list_rr(ldns_pkt_question(notify.get()), 0);
    EXPECT_EQ(ldns_rr_get_type(q), LDNS_RR_TYPE_SOA);
    char* owner = ldns_rdf2str(ldns_rr_owner(q));
    EXPECT_STREQ(owner, "_acme-challenge.example.com.");
    std::free(owner);
    // Unanswered: it comes again, same ID.
    const auto second = receive_notify(secondary_fd, &from, 3000ms);
    ASSERT_FALSE(second.empty()) << "NOTIFY not retried";
    EXPECT_EQ(second, first);
    // Answered: no more.
    auto answer = second;
    answer[2] |= 0x80;
    ::sendto(secondary_fd, answer.data(), answer.size(), 0, reinterpret_cast<sockaddr*>(&from),
             sizeof(sockaddr_in));
    EXPECT_TRUE(receive_notify(secondary_fd, &from, 1500ms).empty());
}

TEST_F(ControlServerTest, BindFailureNamesTheAddress) {
    Socket busy(::socket(AF_INET, SOCK_STREAM, 0));
    const Endpoint any = Endpoint::parse("127.0.0.1:0");
    ASSERT_EQ(::bind(busy.fd(), any.sockaddr_ptr(), any.addr_len), 0);
    ASSERT_EQ(::listen(busy.fd(), 1), 0);
    sockaddr_storage ss{};
    socklen_t len = sizeof ss;
    ::getsockname(busy.fd(), reinterpret_cast<sockaddr*>(&ss), &len);
    const Endpoint taken = Endpoint::from_sockaddr(reinterpret_cast<sockaddr*>(&ss), len);
    config.control.listen = {taken};
    ZoneClaims z(config.zones, config.challenge_zones);
    Notifier no_secondaries({});
    try {
        ControlServer s(config, z, store, no_secondaries);
        FAIL() << "bound a port that is in use";
    } catch (const std::system_error& e) {
        EXPECT_NE(std::string(e.what()).find(taken.to_string()), std::string::npos) << e.what();
    }
}

TEST_F(ControlServerTest, IPv6ListenWorks) {
    config.control.listen = {Endpoint::parse("[::1]:0")};
    // The tests' loopback includes ::1 (integration tests rely on it too): no skip.
    start();
    const Endpoint v6 = ep;
    EXPECT_EQ(v6.family(), AF_INET6);
    Socket s(::socket(AF_INET6, SOCK_DGRAM, 0));
    LdnsPkt q = make_query("_acme-challenge.example.com.", LDNS_RR_TYPE_SOA);
    const auto m = to_wire(q.get());
    ::sendto(s.fd(), m.data(), m.size(), 0, v6.sockaddr_ptr(), v6.addr_len);
    ASSERT_TRUE(readable(s.fd(), 3000ms));
    std::vector<std::uint8_t> buf(512);
    const ssize_t got = ::recv(s.fd(), buf.data(), buf.size(), 0);
    ASSERT_GT(got, 12);
    EXPECT_EQ(buf[3] & 0x0f, 0);
}

TEST_F(ControlServerTest, StopsPromptlyWithClientsConnected) {
    start();
    Socket c(tcp_connect(ep));
    const auto m = framed(add(acme_key, "example.com", "_acme-challenge.example.com", "x"));
    expect_soa_answer(c.fd());  // accepted (answered), then left mid-message
    send_all(c.fd(), {m.begin(), m.begin() + 7});
    const auto t0 = std::chrono::steady_clock::now();
    server.reset();
    EXPECT_LT(std::chrono::steady_clock::now() - t0, 2s);
    EXPECT_TRUE(closed_by_server(c.fd(), 1000ms));
}

// The real nsupdate, as an operator would run it: without a `zone` line (it
// finds the zone by an SOA query), with -y over UDP and -k over TCP.
class NsupdateTest : public ControlServerTest {
  protected:
    int run(const std::string& args, const std::string& script, std::string* output) {
        const auto dir = std::filesystem::temp_directory_path() /
                         ("acmezone-nsupdate-" + std::to_string(::getpid()));
        std::filesystem::create_directories(dir);
        std::ofstream(dir / "script") << script;
        std::ofstream(dir / "key.conf")
            << "key \"lab-key\" {\n  algorithm hmac-sha512;\n  secret \"" << lab_key.secret_base64()
            << "\";\n};\n";
        const std::string cmd =
            "cd " + dir.string() + " && timeout 20 nsupdate " + args + " script > out 2>&1";
        const int status = std::system(cmd.c_str());
        std::ifstream in(dir / "out");
        output->assign(std::istreambuf_iterator<char>(in), {});
        std::filesystem::remove_all(dir);
        return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    }
    std::string server_line() { return "server 127.0.0.1 " + std::to_string(ep.port()) + "\n"; }
};

TEST_F(NsupdateTest, RealNsupdateAcceptsOurSignedAnswers) {
    if (std::system("command -v nsupdate > /dev/null 2>&1") != 0) {
        FAIL() << "nsupdate is not installed (bind9-dnsutils is a test dependency)";
    }
    start();
    std::string out;
    const std::string y = "-y hmac-sha256:acme-key:" + acme_key.secret_base64();
    EXPECT_EQ(
        run(y,
            server_line() + "update add _acme-challenge.example.com 60 TXT \"from-nsupdate\"\n"
                            "update add _acme-challenge.example.com 60 TXT \"second\"\nsend\n",
            &out),
        0)
        << out;
    // nsupdate checks the answer's TSIG and reports a bad one; none here.
    EXPECT_EQ(out.find("TSIG"), std::string::npos) << out;
    EXPECT_EQ(values_at("_acme-challenge.example.com"), 2u);

    EXPECT_EQ(run("-v -k key.conf",
                  server_line() + "update add _acme-challenge.www.example.com 60 TXT \"k\"\n"
                                  "send\n",
                  &out),
              0)
        << out;
    EXPECT_EQ(out.find("TSIG"), std::string::npos) << out;
    EXPECT_EQ(values_at("_acme-challenge.www.example.com"), 1u);

    // Out of scope for lab-key: nsupdate reports REFUSED, nothing changes.
    EXPECT_NE(run("-k key.conf",
                  server_line() + "update delete _acme-challenge.example.com TXT\nsend\n", &out),
              0);
    EXPECT_NE(out.find("REFUSED"), std::string::npos) << out;
    EXPECT_EQ(values_at("_acme-challenge.example.com"), 2u);

    // Wrong secret: NOTAUTH/BADSIG.
    const std::string wrong =
        "-y hmac-sha256:acme-key:" + make_key("x", TsigAlgorithm::hmac_sha256, 9).secret_base64();
    EXPECT_NE(run(wrong,
                  server_line() + "zone example.com\n"
                                  "update delete _acme-challenge.example.com TXT\nsend\n",
                  &out),
              0);
    EXPECT_NE(out.find("NOTAUTH"), std::string::npos) << out;
    EXPECT_EQ(values_at("_acme-challenge.example.com"), 2u);
}

}  // namespace
}  // namespace acmezone::plugin
