// issuer/fetch/zone_set: answers parsed and checked before anything is
// installed (test PKI in memory).
#include "issuer/fetch/zone_set.h"

#include <gtest/gtest.h>
#include <json/json.h>

#include "issuer/certs/cert_check.h"
#include "tests/unit/issuer_test_pki.h"

namespace acmezone::issuer {
namespace {

using testing::TestPki;

struct Fixture {
    TestPki pki;
    CertKey key = CertKey::generate(KeyType::ecdsa_p256);
    std::string fullchain = pki.chain_for(key, {"DNS:example.com", "DNS:*.example.com"});

    Json::Value answer(const CertKey& k, const std::string& chain) const {
        const auto blocks = split_pem_chain(chain);
        std::string rest;
        for (std::size_t i = 1; i < blocks.size(); ++i) {
            rest += blocks[i];
        }
        Json::Value v;
        v["zone"] = "example.com";
        v["version"] = "7";
        v["written"] = "2026-12-01T10:00:00Z";
        v["not_after"] = "2027-03-01T10:00:00Z";
        v["default_key_type"] = "ecdsa-p256";
        Json::Value files;
        files["cert"] = blocks.front();
        files["chain"] = rest;
        files["fullchain"] = chain;
        files["privkey"] = k.private_pem();
        v["keys"]["ecdsa-p256"] = files;
        return v;
    }
    static std::string text(const Json::Value& v) {
        Json::StreamWriterBuilder b;
        return Json::writeString(b, v);
    }
};

std::string check_error(const std::string& body, const std::string& zone = "example.com") {
    try {
        ZoneSet set = parse_zone_set(body);
        check_zone_set(set, DnsName::parse(zone), std::nullopt);
    } catch (const AnswerError& e) {
        return e.what();
    }
    return "";
}

TEST(ZoneSet, AGoodSetPasses) {
    Fixture f;
    ZoneSet set = parse_zone_set(Fixture::text(f.answer(f.key, f.fullchain)));
    EXPECT_EQ(set.version, 7u);
    ASSERT_EQ(set.keys.size(), 1u);
    EXPECT_EQ(set.keys.front().type, KeyType::ecdsa_p256);
    check_zone_set(set, DnsName::parse("example.com"), std::nullopt);
    EXPECT_GT(set.not_after, std::chrono::system_clock::now());
}

TEST(ZoneSet, AKeyThatIsNotTheCertificatesIsRefused) {
    Fixture f;
    const CertKey other = CertKey::generate(KeyType::ecdsa_p256);
    EXPECT_EQ(check_error(Fixture::text(f.answer(other, f.fullchain))),
              "ecdsa-p256: the private key is not the certificate's key");
}

TEST(ZoneSet, AKeyOfAnotherTypeIsRefused) {
    Fixture f;
    Json::Value v = f.answer(f.key, f.fullchain);
    v["keys"]["rsa-2048"] = v["keys"]["ecdsa-p256"];
    v["keys"].removeMember("ecdsa-p256");
    v.removeMember("default_key_type");
    EXPECT_EQ(check_error(Fixture::text(v)), "rsa-2048: the private key is not of that type");
}

TEST(ZoneSet, WrongNamesExpiryAndZoneAreRefused) {
    Fixture f;
    const std::string only_apex = f.pki.chain_for(f.key, {"DNS:example.com"});
    EXPECT_NE(check_error(Fixture::text(f.answer(f.key, only_apex))).find("the certificate names"),
              std::string::npos);
    const std::string expired =
        f.pki.chain_for(f.key, {"DNS:example.com", "DNS:*.example.com"}, -10 * 86400, -86400);
    EXPECT_NE(check_error(Fixture::text(f.answer(f.key, expired))), "");
    EXPECT_EQ(check_error(Fixture::text(f.answer(f.key, f.fullchain)), "example.net"),
              "the answer is for zone example.com, not example.net");
}

TEST(ZoneSet, FullchainMustBeCertThenChain) {
    Fixture f;
    Json::Value v = f.answer(f.key, f.fullchain);
    v["keys"]["ecdsa-p256"]["chain"] = "";
    EXPECT_EQ(check_error(Fixture::text(v)), "ecdsa-p256: fullchain is not cert followed by chain");
}

TEST(ZoneSet, MalformedAnswersAreAnswerErrors) {
    Fixture f;
    const std::string good = Fixture::text(f.answer(f.key, f.fullchain));
    EXPECT_THROW(parse_zone_set(good.substr(0, good.size() / 2)), AnswerError);  // truncated
    EXPECT_THROW(parse_zone_set("[]"), AnswerError);
    for (const char* version : {"0", "07", "-1", "1e3", "9999999999999", ""}) {
        Json::Value v = f.answer(f.key, f.fullchain);
        v["version"] = version;
        EXPECT_THROW(parse_zone_set(Fixture::text(v)), AnswerError) << version;
    }
    Json::Value v = f.answer(f.key, f.fullchain);
    v["default_key_type"] = "rsa-2048";
    EXPECT_THROW(parse_zone_set(Fixture::text(v)), AnswerError);
    v = f.answer(f.key, f.fullchain);
    v["keys"]["dsa-1024"] = v["keys"]["ecdsa-p256"];
    EXPECT_THROW(parse_zone_set(Fixture::text(v)), AnswerError);
}

// fuzz_fetch_answer (CI at 9964cd0): nesting beyond the reader's limit made
// jsoncpp throw instead of failing, and acmezone-fetch ended on the answer.
TEST(ZoneSet, NestingTooDeepIsAnAnswerError) {
    const std::string deep = "{\"zones\": " + std::string(30, '[') + std::string(30, ']') + "}";
    for (const std::string& body : {deep, std::string(5000, '[')}) {
        try {
            (void)parse_zone_set(body);
            ADD_FAILURE() << "parsed";
        } catch (const AnswerError& e) {
            EXPECT_NE(std::string(e.what()).find("not JSON"), std::string::npos) << e.what();
        }
        EXPECT_THROW(parse_zone_listing(body), AnswerError);
    }
}

TEST(ZoneSet, ListingIsParsed) {
    const auto zones =
        parse_zone_listing(R"({"zones":[{"zone":"a.example","version":"3","not_after":"x"},)"
                           R"({"zone":"0/25.2.0.192.in-addr.arpa","version":"12"}]})");
    ASSERT_EQ(zones.size(), 2u);
    EXPECT_EQ(zones[1].zone.text(), "0/25.2.0.192.in-addr.arpa");
    EXPECT_EQ(zones[1].version, 12u);
    EXPECT_THROW(parse_zone_listing(R"({"zones":[{"zone":"a.example","version":"3"},)"
                                    R"({"zone":"a.example","version":"4"}]})"),
                 AnswerError);
}

}  // namespace
}  // namespace acmezone::issuer
