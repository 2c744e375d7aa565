// Server-side TSIG: requests are signed by ldns (an independent
// implementation), answers are checked by ldns_pkt_tsig_verify.
#include "plugin/tsig_verifier.h"

#include <ctime>

#include "tests/unit/control_packets.h"

namespace acmezone::plugin {
namespace {

using namespace acmezone::plugin::testing;
using Status = TsigOutcome::Status;

std::uint64_t now() {
    return static_cast<std::uint64_t>(std::time(nullptr));
}

class TsigVerifierTest : public ::testing::Test {
  protected:
    TsigVerifierTest() {
        keyring.add(sha256);
        keyring.add(md5);
    }
    LdnsPkt request() {
        return make_update("example.com", {},
                           {rr_from("_acme-challenge.example.com. 60 IN TXT \"v\"")});
    }
    TsigKey sha256 = make_key("acme-key", TsigAlgorithm::hmac_sha256);
    TsigKey md5 = make_key("old-key", TsigAlgorithm::hmac_md5, 0x11, 16);
    TsigKeyring keyring;
};

// Reads the TSIG record of an answer: error code, MAC size and Other Data.
struct AnswerTsig {
    std::uint16_t error;
    std::size_t mac_size;
    std::vector<std::uint8_t> other;
};
AnswerTsig answer_tsig(const std::vector<std::uint8_t>& wire) {
    LdnsPkt pkt = parse_wire(wire);
    const ldns_rr* t = ldns_pkt_tsig(pkt.get());
    if (t == nullptr) {
        throw std::runtime_error("answer carries no TSIG");
    }
    AnswerTsig out{};
    out.error = ldns_rdf2native_int16(ldns_rr_rdf(t, 5));
    out.mac_size = ldns_rdf_size(ldns_rr_rdf(t, 3)) - 2;
    const ldns_rdf* other = ldns_rr_rdf(t, 6);
    out.other.assign(ldns_rdf_data(other) + 2, ldns_rdf_data(other) + ldns_rdf_size(other));
    return out;
}

std::vector<std::uint8_t> answer_for(TsigVerifier& v, const std::vector<std::uint8_t>& req_wire,
                                     const TsigOutcome& outcome, std::uint8_t rcode,
                                     std::uint64_t t) {
    LdnsPkt req = parse_wire(req_wire);
    LdnsPkt ans = make_answer(req.get(), rcode);
    auto wire = to_wire(ans.get());
    const std::size_t before = wire.size();
    v.sign_answer(wire, outcome, t);
    EXPECT_EQ(wire.size() - before, TsigVerifier::answer_tsig_size(outcome));
    return wire;
}

TEST_F(TsigVerifierTest, GoodSignatureVerifiesAndAnswerIsSignedForLdns) {
    TsigVerifier v(keyring, false, 300);
    auto pkt = request();
    const auto wire = signed_wire(pkt.get(), sha256);
    const auto out = v.verify(wire, now());
    ASSERT_EQ(out.status, Status::ok) << out.detail;
    ASSERT_NE(out.key, nullptr);
    EXPECT_EQ(out.key->name.text(), "acme-key");
    EXPECT_EQ(out.rcode(), 0);

    const auto answer = answer_for(v, wire, out, 0, now());
    LdnsPkt req = parse_wire(wire);
    EXPECT_TRUE(ldns_verifies_answer(answer, sha256, tsig_mac_rdf(req.get())));
    // Tied to the request: another request MAC does not verify it.
    auto other_pkt = request();
    const auto other_wire =
        signed_wire(other_pkt.get(), make_key("acme-key", TsigAlgorithm::hmac_sha256, 1));
    LdnsPkt other = parse_wire(other_wire);
    EXPECT_FALSE(ldns_verifies_answer(answer, sha256, tsig_mac_rdf(other.get())));
}

TEST_F(TsigVerifierTest, UnsignedMessageIsReportedAsSuch) {
    TsigVerifier v(keyring, false, 300);
    auto pkt = request();
    const auto out = v.verify(to_wire(pkt.get()), now());
    EXPECT_EQ(out.status, Status::unsigned_message);
    EXPECT_FALSE(out.answer_has_tsig());
}

TEST_F(TsigVerifierTest, UnknownKeyIsBadkeyWithUnsignedTsig) {
    TsigVerifier v(keyring, false, 300);
    auto pkt = request();
    const auto wire = signed_wire(pkt.get(), make_key("stranger", TsigAlgorithm::hmac_sha256));
    const auto out = v.verify(wire, now());
    EXPECT_EQ(out.status, Status::badkey);
    EXPECT_EQ(out.rcode(), 9);
    EXPECT_EQ(out.tsig_error(), kTsigBadKey);
    EXPECT_NE(out.detail.find("stranger"), std::string::npos);
    const auto answer = answer_for(v, wire, out, out.rcode(), now());
    const auto t = answer_tsig(answer);
    EXPECT_EQ(t.error, kTsigBadKey);
    EXPECT_EQ(t.mac_size, 0u);
}

TEST_F(TsigVerifierTest, WrongSecretIsBadsig) {
    TsigVerifier v(keyring, false, 300);
    auto pkt = request();
    const auto wire =
        signed_wire(pkt.get(), make_key("acme-key", TsigAlgorithm::hmac_sha256, 0x99));
    const auto out = v.verify(wire, now());
    EXPECT_EQ(out.status, Status::badsig);
    EXPECT_EQ(out.rcode(), 9);
    const auto t = answer_tsig(answer_for(v, wire, out, out.rcode(), now()));
    EXPECT_EQ(t.error, kTsigBadSig);
    EXPECT_EQ(t.mac_size, 0u);
    // The detail names the key, never the secret.
    EXPECT_EQ(out.detail.find(sha256.secret_base64()), std::string::npos);
}

TEST_F(TsigVerifierTest, AlteredMessageIsBadsig) {
    TsigVerifier v(keyring, false, 300);
    auto pkt = request();
    auto wire = signed_wire(pkt.get(), sha256);
    // Flip one octet of the TXT data ("v" is in the update section).
    bool flipped = false;
    for (std::size_t i = 12; i < wire.size(); ++i) {
        if (wire[i] == 'v') {
            wire[i] = 'w';
            flipped = true;
            break;
        }
    }
    ASSERT_TRUE(flipped);
    EXPECT_EQ(v.verify(wire, now()).status, Status::badsig);
}

TEST_F(TsigVerifierTest, StaleTimeIsBadtimeSignedWithServerTime) {
    TsigVerifier v(keyring, false, 300);
    auto pkt = request();
    const auto wire = signed_wire(pkt.get(), sha256);
    const std::uint64_t later = now() + 301;
    const auto out = v.verify(wire, later);
    ASSERT_EQ(out.status, Status::badtime) << out.detail;
    EXPECT_EQ(out.rcode(), 9);
    const auto answer = answer_for(v, wire, out, out.rcode(), later);
    const auto t = answer_tsig(answer);
    EXPECT_EQ(t.error, kTsigBadTime);
    ASSERT_EQ(t.other.size(), 6u);
    std::uint64_t server_time = 0;
    for (auto b : t.other) {
        server_time = server_time << 8 | b;
    }
    EXPECT_EQ(server_time, later);
    LdnsPkt req = parse_wire(wire);
    EXPECT_TRUE(ldns_verifies_answer(answer, sha256, tsig_mac_rdf(req.get())));
    // Within the fudge it passes (a fresh message: the first is remembered).
    auto again = request();
    EXPECT_EQ(v.verify(signed_wire(again.get(), sha256), now() + 299).status, Status::ok);
}

TEST_F(TsigVerifierTest, FudgeIsTheSmallerOfRequestAndConfig) {
    TsigVerifier v(keyring, false, 300);
    auto pkt = request();
    const auto wire = signed_wire(pkt.get(), sha256, /*fudge=*/10);
    EXPECT_EQ(v.verify(wire, now() + 20).status, Status::badtime);
    TsigVerifier strict(keyring, false, 5);
    auto pkt2 = request();
    EXPECT_EQ(strict.verify(signed_wire(pkt2.get(), sha256), now() + 20).status, Status::badtime);
}

TEST_F(TsigVerifierTest, AlgorithmOtherThanTheKeysIsBadkey) {
    TsigVerifier v(keyring, false, 300);
    auto pkt = request();
    TsigKey wrong = sha256;
    wrong.algorithm = TsigAlgorithm::hmac_sha512;
    const auto out = v.verify(signed_wire(pkt.get(), wrong), now());
    EXPECT_EQ(out.status, Status::badkey);
    EXPECT_NE(out.detail.find("algorithm"), std::string::npos);
}

// Issue 20 item 6: HMAC-SHA1 is opt-in, like MD5 (allow-hmac-sha1).
TEST_F(TsigVerifierTest, Sha1RefusedUnlessAllowed) {
    TsigKeyring ring;
    const TsigKey sha1 = make_key("sha1-key", TsigAlgorithm::hmac_sha1);
    ring.add(sha1);
    auto pkt = request();
    const auto wire = signed_wire(pkt.get(), sha1);
    TsigVerifier refuse(ring, false, 300);
    const auto out = refuse.verify(wire, now());
    EXPECT_EQ(out.status, Status::badkey);
    EXPECT_NE(out.detail.find("HMAC-SHA1 refused (set allow-hmac-sha1 to accept it)"),
              std::string::npos)
        << out.detail;
    EXPECT_NE(out.detail.find("sha1-key"), std::string::npos) << out.detail;
    TsigVerifier allow(ring, false, 300, /*allow_hmac_sha1=*/true);
    const auto ok = allow.verify(wire, now());
    EXPECT_EQ(ok.status, Status::ok) << ok.detail;
}

TEST_F(TsigVerifierTest, Md5RefusedUnlessAllowed) {
    auto pkt = request();
    const auto wire = signed_wire(pkt.get(), md5);
    TsigVerifier refuse(keyring, false, 300);
    const auto out = refuse.verify(wire, now());
    EXPECT_EQ(out.status, Status::badkey);
    EXPECT_NE(out.detail.find("allow-hmac-md5"), std::string::npos);
    TsigVerifier allow(keyring, true, 300);
    const auto ok = allow.verify(wire, now());
    EXPECT_EQ(ok.status, Status::ok) << ok.detail;
    const auto answer = answer_for(allow, wire, ok, 0, now());
    LdnsPkt req = parse_wire(wire);
    EXPECT_TRUE(ldns_verifies_answer(answer, md5, tsig_mac_rdf(req.get())));
}

TEST_F(TsigVerifierTest, ReplayIsRefusedAndSigned) {
    TsigVerifier v(keyring, false, 300);
    auto pkt = request();
    const auto wire = signed_wire(pkt.get(), sha256);
    EXPECT_EQ(v.verify(wire, now()).status, Status::ok);
    const auto second = v.verify(wire, now());
    EXPECT_EQ(second.status, Status::replay);
    EXPECT_EQ(second.rcode(), 5);
    const auto answer = answer_for(v, wire, second, second.rcode(), now());
    LdnsPkt req = parse_wire(wire);
    EXPECT_TRUE(ldns_verifies_answer(answer, sha256, tsig_mac_rdf(req.get())));
    // A bad MAC is not remembered: it cannot block the real message.
    TsigVerifier fresh(keyring, false, 300);
    auto pkt2 = request();
    auto wire2 = signed_wire(pkt2.get(), sha256);
    auto bad = wire2;
    bad[bad.size() - 10] ^= 0xff;  // inside the MAC (6 octets of fields follow it)
    EXPECT_EQ(fresh.verify(bad, now()).status, Status::badsig);
    EXPECT_EQ(fresh.verify(wire2, now()).status, Status::ok);
}

TEST_F(TsigVerifierTest, AMessageSignedBeforeTheServerStartedIsBadtime) {
    // A captured UPDATE replayed after a restart: the new verifier's memory
    // is empty, but the message was signed before it started.
    auto pkt = request();
    const auto wire = signed_wire(pkt.get(), sha256);
    const std::uint64_t signed_at = now();
    TsigVerifier before_restart(keyring, false, 300, false, signed_at - 10);
    EXPECT_EQ(before_restart.verify(wire, signed_at).status, Status::ok);
    TsigVerifier after_restart(keyring, false, 300, false, signed_at + 5);
    const auto out = after_restart.verify(wire, signed_at + 5);
    ASSERT_EQ(out.status, Status::badtime) << out.detail;
    EXPECT_EQ(out.rcode(), 9);
    EXPECT_NE(out.detail.find("before"), std::string::npos) << out.detail;
    // A message signed since the start passes.
    TsigVerifier started_now(keyring, false, 300, false, now());
    auto fresh = request();
    EXPECT_EQ(started_now.verify(signed_wire(fresh.get(), sha256), now()).status, Status::ok);
}

TEST_F(TsigVerifierTest, AFullMemoryRefusesNewMessagesAndKeepsTheOldOnes) {
    TsigVerifier v(keyring, false, 300, false, now(), /*max_remembered=*/3);
    std::vector<std::vector<std::uint8_t>> wires;
    for (int i = 0; i < 4; ++i) {
        auto pkt = request();
        ldns_pkt_set_id(pkt.get(), static_cast<std::uint16_t>(100 + i));
        wires.push_back(signed_wire(pkt.get(), sha256));
    }
    for (int i = 0; i < 3; ++i) {
        ASSERT_EQ(v.verify(wires[static_cast<std::size_t>(i)], now()).status, Status::ok) << i;
    }
    const auto full = v.verify(wires[3], now());
    EXPECT_EQ(full.status, Status::memory_full) << full.detail;
    EXPECT_EQ(full.rcode(), 5);  // REFUSED
    EXPECT_NE(full.detail.find("replay memory is full"), std::string::npos) << full.detail;
    // Nothing inside the fudge window was forgotten to make room.
    EXPECT_EQ(v.verify(wires[0], now()).status, Status::replay);
}

// Builds a request signed by our own MAC function with a chosen MAC length.
std::vector<std::uint8_t> with_mac_length(const TsigKey& key, std::size_t mac_len) {
    auto pkt =
        make_update("example.com", {}, {rr_from("_acme-challenge.example.com. 60 IN TXT \"v\"")});
    auto message = to_wire(pkt.get());
    TsigRecord t;
    t.key_name = key.name;
    t.algorithm = DnsName::parse(wire_name(key.algorithm));
    t.time_signed = now();
    t.fudge = 300;
    t.original_id = 4242;
    auto mac = tsig_mac(key, {}, false, message, t);
    mac.resize(mac_len, 0);
    std::vector<std::uint8_t> rdata = name_to_wire(t.algorithm);
    for (int s = 40; s >= 0; s -= 8) {
        rdata.push_back(static_cast<std::uint8_t>(t.time_signed >> s));
    }
    rdata.insert(rdata.end(), {1, 44, 0, static_cast<std::uint8_t>(mac_len)});
    rdata.insert(rdata.end(), mac.begin(), mac.end());
    rdata.insert(rdata.end(), {0x10, 0x92, 0, 0, 0, 0});
    auto wire = message;
    const auto owner = name_to_wire(key.name);
    wire.insert(wire.end(), owner.begin(), owner.end());
    wire.insert(wire.end(),
                {0, 250, 0, 255, 0, 0, 0, 0, 0, static_cast<std::uint8_t>(rdata.size())});
    wire.insert(wire.end(), rdata.begin(), rdata.end());
    wire[11] = static_cast<std::uint8_t>(wire[11] + 1);
    return wire;
}

// ldns 1.8.3 signs and verifies SHA-1/256/512 (and MD5, tested below); for
// SHA-224/384, which it lacks, requests are signed by tsig_mac() itself (and
// nsupdate covers them in the integration test).
TEST_F(TsigVerifierTest, RetransmissionGetsTheCachedAnswerOnlyForTheSameOctetsAndTransport) {
    using T = TsigVerifier::Transport;
    TsigVerifier v(keyring, false, 300);
    auto pkt = request();
    const auto wire = signed_wire(pkt.get(), sha256);
    const auto first = v.verify_request(wire, now(), T::udp);
    ASSERT_EQ(first.status, Status::ok);
    EXPECT_FALSE(first.memory_id.empty());
    // Not answered yet: a copy is in progress (dropped by the server).
    EXPECT_EQ(v.verify_request(wire, now(), T::udp).status, Status::in_progress);
    const auto answer = answer_for(v, wire, first, 0, now());
    v.cache_answer(first, answer);
    const auto again = v.verify_request(wire, now(), T::udp);
    EXPECT_EQ(again.status, Status::retransmission);
    EXPECT_EQ(again.cached_answer, answer);
    EXPECT_FALSE(again.answer_has_tsig());  // answered as it is, not signed again
    // The other transport, or the same MAC with another ID: replays.
    EXPECT_EQ(v.verify_request(wire, now(), T::tcp).status, Status::replay);
    auto other_id = wire;
    other_id[1] ^= 0x01;  // the MAC covers the Original ID, not the header's
    EXPECT_EQ(v.verify_request(other_id, now(), T::udp).status, Status::replay);
    // verify() (no cache) keeps refusing every copy.
    EXPECT_EQ(v.verify(wire, now()).status, Status::replay);
}

TEST_F(TsigVerifierTest, AnswerCacheIsBoundedAndSkipsBigOrMissingAnswers) {
    using T = TsigVerifier::Transport;
    TsigVerifier v(keyring, false, 300);
    // A request answered with nothing, and one with an answer too big to keep.
    auto p1 = request();
    const auto none = signed_wire(p1.get(), sha256);
    const auto o1 = v.verify_request(none, now(), T::udp);
    ASSERT_EQ(o1.status, Status::ok);
    v.cache_answer(o1, {});
    EXPECT_EQ(v.verify_request(none, now(), T::udp).status, Status::replay);
    auto p2 =
        make_update("example.com", {}, {rr_from("_acme-challenge.example.com. 60 IN TXT \"w\"")});
    const auto big_req = signed_wire(p2.get(), sha256);
    const auto o2 = v.verify_request(big_req, now(), T::udp);
    ASSERT_EQ(o2.status, Status::ok);
    v.cache_answer(o2, std::vector<std::uint8_t>(TsigVerifier::kMaxCachedAnswerOctets + 1, 0));
    EXPECT_EQ(v.verify_request(big_req, now(), T::udp).status, Status::replay);
    // kMaxCachedAnswers + 1 answers: the oldest is no longer cached, the newest is.
    std::vector<std::vector<std::uint8_t>> wires;
    for (std::size_t i = 0; i <= TsigVerifier::kMaxCachedAnswers; ++i) {
        auto p = make_update("example.com", {}, {}, static_cast<std::uint16_t>(i));
        wires.push_back(signed_wire(p.get(), sha256));
        const auto o = v.verify_request(wires.back(), now(), T::tcp);
        ASSERT_EQ(o.status, Status::ok) << i;
        v.cache_answer(o, std::vector<std::uint8_t>(20, static_cast<std::uint8_t>(i)));
    }
    EXPECT_EQ(v.verify_request(wires.front(), now(), T::tcp).status, Status::replay);
    EXPECT_EQ(v.verify_request(wires[1], now(), T::tcp).status, Status::retransmission);
    const auto last = v.verify_request(wires.back(), now(), T::tcp);
    ASSERT_EQ(last.status, Status::retransmission);
    EXPECT_EQ(
        last.cached_answer,
        std::vector<std::uint8_t>(20, static_cast<std::uint8_t>(TsigVerifier::kMaxCachedAnswers)));
}

TEST_F(TsigVerifierTest, EveryAlgorithmVerifies) {
    for (auto alg :
         {TsigAlgorithm::hmac_sha1, TsigAlgorithm::hmac_sha224, TsigAlgorithm::hmac_sha256,
          TsigAlgorithm::hmac_sha384, TsigAlgorithm::hmac_sha512}) {
        TsigKeyring ring;
        const TsigKey key = make_key("k" + std::to_string(static_cast<int>(alg)), alg);
        ring.add(key);
        TsigVerifier v(ring, false, 300, /*allow_hmac_sha1=*/true);
        const bool ldns_has =
            alg != TsigAlgorithm::hmac_sha224 && alg != TsigAlgorithm::hmac_sha384;
        auto pkt = request();
        const auto wire =
            ldns_has ? signed_wire(pkt.get(), key) : with_mac_length(key, mac_size(alg));
        const auto out = v.verify(wire, now());
        EXPECT_EQ(out.status, Status::ok) << wire_name(alg) << ": " << out.detail;
        if (ldns_has) {
            const auto answer = answer_for(v, wire, out, 0, now());
            LdnsPkt req = parse_wire(wire);
            EXPECT_TRUE(ldns_verifies_answer(answer, key, tsig_mac_rdf(req.get())))
                << wire_name(alg);
        }
    }
}

TEST_F(TsigVerifierTest, OwnMacFunctionAgreesWithLdns) {
    TsigVerifier v(keyring, false, 300);
    EXPECT_EQ(v.verify(with_mac_length(sha256, 32), now()).status, Status::ok);
}

TEST_F(TsigVerifierTest, TruncatedMacIsBadtruncOrFormerr) {
    TsigVerifier v(keyring, false, 300);
    // 16 of 32 octets: allowed by RFC 8945 §5.2.2.1, not by this server's policy.
    const auto trunc = v.verify(with_mac_length(sha256, 16), now());
    EXPECT_EQ(trunc.status, Status::badtrunc) << trunc.detail;
    EXPECT_EQ(trunc.tsig_error(), kTsigBadTrunc);
    EXPECT_TRUE(trunc.answer_has_tsig());
    // Shorter than half the digest, or longer than it: FORMERR.
    EXPECT_EQ(v.verify(with_mac_length(sha256, 15), now()).status, Status::formerr);
    EXPECT_EQ(v.verify(with_mac_length(sha256, 33), now()).status, Status::formerr);
}

TEST_F(TsigVerifierTest, TsigNotLastIsFormerr) {
    TsigVerifier v(keyring, false, 300);
    auto pkt = request();
    auto wire = signed_wire(pkt.get(), sha256);
    // Append an A record to the additional section after the TSIG.
    const std::vector<std::uint8_t> a = {0, 0, 1, 0, 1, 0, 0, 0, 0, 0, 4, 127, 0, 0, 1};
    wire.insert(wire.end(), a.begin(), a.end());
    wire[11] = static_cast<std::uint8_t>(wire[11] + 1);
    const auto out = v.verify(wire, now());
    EXPECT_EQ(out.status, Status::formerr);
    EXPECT_EQ(out.rcode(), 1);
    EXPECT_FALSE(out.answer_has_tsig());
}

TEST_F(TsigVerifierTest, GarbageIsFormerr) {
    TsigVerifier v(keyring, false, 300);
    EXPECT_EQ(v.verify(std::vector<std::uint8_t>{1, 2, 3}, now()).status, Status::formerr);
    auto pkt = request();
    auto wire = signed_wire(pkt.get(), sha256);
    wire.resize(wire.size() - 3);  // cut inside the TSIG
    EXPECT_EQ(v.verify(wire, now()).status, Status::formerr);
    // A compression pointer pointing at itself.
    std::vector<std::uint8_t> loop = {0, 1, 0x28, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 12, 0, 6, 0, 1};
    EXPECT_EQ(v.verify(loop, now()).status, Status::formerr);
}

}  // namespace
}  // namespace acmezone::plugin
