// The control socket's message handling on its own: a DNS message in, its
// answer out, no sockets (the store is memory-only and real).
#include "plugin/control_handler.h"

#include <gtest/gtest.h>

#include <chrono>
#include <future>

#include "common/dns_rcode.h"
#include "tests/unit/control_packets.h"

namespace acmezone::plugin {
namespace {

using namespace std::chrono_literals;
using namespace testing;
using Octets = std::vector<std::uint8_t>;

DnsName n(const char* s) {
    return DnsName::parse(s);
}

// example.com, with `key` (acme-key) granted zonesub on it.
PluginConfig make_config(const TsigKey& key) {
    PluginConfig config;
    config.zones = {n("example.com")};
    config.nameservers = {n("ns1.example.com")};
    config.contact = n("hostmaster.example.com");
    config.control.keyring.add(key);
    config.control.grants = {Grant{n("acme-key"), Grant::Kind::zonesub, n("example.com")}};
    return config;
}

class HandlerTest : public ::testing::Test {
  protected:
    // The answer to `wire` (empty: none), waited for up to a deadline.
    Octets answer(const Octets& wire,
                  ControlHandler::Protocol protocol = ControlHandler::Protocol::udp) {
        auto promise = std::make_shared<std::promise<Octets>>();
        auto future = promise->get_future();
        handler.handle(wire, Endpoint::parse("127.0.0.1:53000"), protocol,
                       [promise](Octets a) { promise->set_value(std::move(a)); });
        if (future.wait_for(5s) != std::future_status::ready) {
            ADD_FAILURE() << "no reply within 5 s";
            return {};
        }
        return future.get();
    }
    std::size_t values_at(const char* name) {
        return store.snapshot()->values_at(n(name), Clock::now()).size();
    }

    TsigKey key = make_key("acme-key", TsigAlgorithm::hmac_sha256, 0x21);
    PluginConfig config = make_config(key);  // built before the handler, which reads it
    ZoneClaims claims{std::vector<DnsName>{n("example.com")}, std::vector<DnsName>{}};
    ChallengeStore store{StoreOptions{}};
    Notifier notifier{{}};
    WarningLimiter warnings;
    ControlHandler handler{config, claims, store, notifier, warnings};
};

TEST_F(HandlerTest, SoaQueryForAClaimedApexGetsItsSoa) {
    LdnsPkt q = make_query("_acme-challenge.example.com.", LDNS_RR_TYPE_SOA);
    LdnsPkt a = parse_wire(answer(to_wire(q.get())));
    EXPECT_EQ(ldns_pkt_get_rcode(a.get()), LDNS_RCODE_NOERROR);
    EXPECT_TRUE(ldns_pkt_aa(a.get()));
    EXPECT_EQ(ldns_pkt_ancount(a.get()), 1);
}

TEST_F(HandlerTest, SignedUpdateChangesTheStoreBeforeItsSignedAnswer) {
    LdnsPkt pkt = make_update("example.com", {},
                              {rr_from("_acme-challenge.example.com. 60 IN TXT \"v1\"")}, 42);
    const Octets wire = signed_wire(pkt.get(), key);
    const Octets a = answer(wire, ControlHandler::Protocol::tcp);
    EXPECT_EQ(rcode_of(a), kRcodeNoError);
    EXPECT_EQ(values_at("_acme-challenge.example.com"), 1u);
    LdnsPkt req = parse_wire(wire);
    EXPECT_TRUE(ldns_verifies_answer(a, key, tsig_mac_rdf(req.get())));
}

TEST_F(HandlerTest, UnsignedUpdateIsRefusedAndChangesNothing) {
    LdnsPkt pkt = make_update("example.com", {},
                              {rr_from("_acme-challenge.example.com. 60 IN TXT \"v1\"")}, 43);
    EXPECT_EQ(rcode_of(answer(to_wire(pkt.get()))), kRcodeRefused);
    EXPECT_EQ(values_at("_acme-challenge.example.com"), 0u);
}

TEST_F(HandlerTest, AnAnswerOrARuntGetsNoAnswerAndJunkGetsFormerr) {
    LdnsPkt q = make_query("_acme-challenge.example.com.", LDNS_RR_TYPE_SOA);
    Octets wire = to_wire(q.get());
    wire[2] |= 0x80;  // QR: an answer
    EXPECT_TRUE(answer(wire).empty());
    EXPECT_TRUE(answer(Octets(11, 0)).empty());
    Octets junk(12, 0);
    junk[5] = 1;  // one question, not there
    EXPECT_EQ(rcode_of(answer(junk)), kRcodeFormErr);
}

// control.replay-memory reaches the verifier: with room for 1000 signed
// messages in the fudge window, the 1001st is refused and changes nothing.
TEST(HandlerReplayMemory, TheConfiguredSizeBoundsSignedMessagesInTheWindow) {
    const TsigKey key = make_key("acme-key", TsigAlgorithm::hmac_sha256, 0x21);
    PluginConfig config = make_config(key);
    config.control.replay_memory = 1000;
    ZoneClaims claims{std::vector<DnsName>{n("example.com")}, std::vector<DnsName>{}};
    ChallengeStore store{StoreOptions{}};
    Notifier notifier{{}};
    WarningLimiter warnings;
    ControlHandler handler{config, claims, store, notifier, warnings};
    auto rcode = [&](int i) {
        const std::string rr =
            "_acme-challenge.h" + std::to_string(i) + ".example.com. 60 IN TXT \"v\"";
        LdnsPkt pkt =
            make_update("example.com", {}, {rr_from(rr.c_str())}, static_cast<std::uint16_t>(i));
        std::promise<Octets> promise;
        auto future = promise.get_future();
        handler.handle(signed_wire(pkt.get(), key), Endpoint::parse("127.0.0.1:53000"),
                       ControlHandler::Protocol::tcp,
                       [&promise](Octets a) { promise.set_value(std::move(a)); });
        return future.wait_for(5s) == std::future_status::ready ? rcode_of(future.get())
                                                                : std::uint8_t{255};
    };
    for (int i = 0; i < 1000; ++i) {
        ASSERT_EQ(rcode(i), kRcodeNoError) << "message " << i;
    }
    EXPECT_EQ(rcode(1000), kRcodeRefused);
    EXPECT_TRUE(
        store.snapshot()->values_at(n("_acme-challenge.h1000.example.com"), Clock::now()).empty());
}

}  // namespace
}  // namespace acmezone::plugin
