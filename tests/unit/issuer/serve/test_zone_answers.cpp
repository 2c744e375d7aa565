// zone_answers: what serve answers for a zone, from a real store (test PKI):
// one version's files, its ETag and 304, notAfter following a new version
// (it is parsed once per version and kept), and the same 404 for a zone that
// is not configured and for a host that may not fetch it.
#include "issuer/serve/zone_answers.h"

#include <gtest/gtest.h>
#include <json/json.h>

#include <filesystem>

#include "issuer/json/json_text.h"
#include "tests/unit/issuer_test_pki.h"
#include "tests/unit/temp_dir.h"

namespace acmezone::issuer {
namespace {

using test_support::TempDir;
using testing::TestPki;

const DnsName kZone = DnsName::parse("example.com");
const std::vector<std::string> kSans{"DNS:example.com", "DNS:*.example.com"};
const std::vector<std::string> kWeb1{"web1.example.net"};

struct Fixture {
    TempDir dir;
    TestPki pki;
    CertKey key = CertKey::generate(KeyType::ecdsa_p256);
    IssuerConfig config;
    CertStore store{dir.path() / "certs"};

    Fixture() {
        config.certs_dir = store.dir();
        config.zones = {kZone, DnsName::parse("other.org")};
        config.serve = ServeSettings{};
        config.serve->access.allow(kZone, "web1.example.net");
    }
    void store_valid_for(long seconds, long serial) {
        store.store(kZone, key.private_pem(), pki.chain_for(key, kSans, -3600, seconds, serial));
    }
};

Json::Value body_of(const Answer& a) {
    const auto v = parse_json(a.body);
    EXPECT_TRUE(v) << a.body;
    return v.value_or(Json::Value());
}

TEST(ZoneAnswers, OneVersionItsEtagAndNotAfterFollowingANewVersion) {
    Fixture f;
    f.store_valid_for(90 * 86400, 201);
    const ZoneAnswers answers(f.config);
    const Answer first = answers.zone(kZone, kWeb1, "");
    ASSERT_EQ(first.status, 200u) << first.body;
    EXPECT_EQ(first.etag, "\"1\"");
    const std::string not_after_1 = body_of(first)["not_after"].asString();
    EXPECT_EQ(answers.zone(kZone, kWeb1, "\"1\"").status, 304u);
    EXPECT_EQ(body_of(answers.zone(kZone, kWeb1, "")).get("not_after", "").asString(),
              not_after_1);  // the kept value, the same

    f.store_valid_for(30 * 86400, 202);
    const Answer second = answers.zone(kZone, kWeb1, "\"1\"");
    ASSERT_EQ(second.status, 200u) << second.body;
    EXPECT_EQ(second.etag, "\"2\"");
    const std::string not_after_2 = body_of(second)["not_after"].asString();
    EXPECT_NE(not_after_2, not_after_1);
    EXPECT_LT(not_after_2, not_after_1);  // UTC text sorts as time
    const Answer list = answers.zone_list(kWeb1);
    ASSERT_EQ(list.status, 200u);
    EXPECT_EQ(body_of(list)["zones"][0]["not_after"].asString(), not_after_2);
}

// serve's ZoneAnswers (the `current` links watched, current_links.h): a
// client that has the version gets 304 until a new one is stored, and the
// new one at the very next request.
TEST(ZoneAnswers, WatchingTheStoreANewVersionIsAnsweredAtOnce) {
    Fixture f;
    f.store_valid_for(90 * 86400, 211);
    const ZoneAnswers answers(f.config, true);
    for (long serial = 212; serial < 216; ++serial) {
        const Answer before = answers.zone(kZone, kWeb1, "");
        ASSERT_EQ(before.status, 200u) << before.body;
        EXPECT_EQ(answers.zone(kZone, kWeb1, before.etag).status, 304u);
        EXPECT_EQ(answers.served_version(kZone), std::stoul(before.version));
        f.store_valid_for(90 * 86400, serial);
        const Answer after = answers.zone(kZone, kWeb1, before.etag);
        ASSERT_EQ(after.status, 200u) << after.body;
        EXPECT_EQ(std::stoul(after.version), std::stoul(before.version) + 1);
    }
}

// A version without key-type subdirectories has its key type read from its
// certificate once: asked again, the same set under the same type; a zone
// stored anew from nothing, its version 1 again but of another key type (and
// written at another time), is labelled by its own certificate.
TEST(ZoneAnswers, TheKeyTypeOfAVersionIsItsOwnEvenWhenItsNumberComesAgain) {
    Fixture f;
    f.store_valid_for(90 * 86400, 221);
    const ZoneAnswers answers(f.config, true);
    const auto keys_of = [&] {
        const Answer a = answers.zone(kZone, kWeb1, "");
        EXPECT_EQ(a.status, 200u) << a.body;
        const Json::Value body = body_of(a);
        return std::make_pair(body["version"].asString(), body["keys"].getMemberNames());
    };
    const auto first = keys_of();
    EXPECT_EQ(first.first, "1");
    EXPECT_EQ(first.second, std::vector<std::string>{"ecdsa-p256"});
    EXPECT_EQ(keys_of(), first);  // the type known: the same answer

    const auto written = f.store.version_written(kZone, 1);
    std::filesystem::remove_all(f.store.zone_dir(kZone));
    const CertKey rsa = CertKey::generate(KeyType::rsa_2048);
    f.store.store(kZone, rsa.private_pem(), f.pki.chain_for(rsa, kSans, -3600, 86400, 222));
    const auto vdir = f.store.zone_dir(kZone) / ".v-1";
    if (f.store.version_written(kZone, 1) == written) {  // within one clock tick
        std::filesystem::last_write_time(
            vdir, std::filesystem::last_write_time(vdir) + std::chrono::seconds(1));
    }
    const auto second = keys_of();
    EXPECT_EQ(second.first, "1");
    EXPECT_EQ(second.second, std::vector<std::string>{"rsa-2048"});
}

TEST(ZoneAnswers, TheSame404ForAnUnknownZoneAndAForbiddenOne) {
    Fixture f;
    f.store_valid_for(90 * 86400, 203);
    const ZoneAnswers answers(f.config);
    const Answer forbidden = answers.zone(kZone, {"web2.example.net"}, "");
    const Answer unknown = answers.zone(DnsName::parse("nowhere.test"), kWeb1, "");
    const Answer no_version = answers.zone(DnsName::parse("other.org"), kWeb1, "");
    EXPECT_EQ(forbidden.status, 404u);
    EXPECT_EQ(forbidden.body, unknown.body);
    EXPECT_EQ(forbidden.body, no_version.body);
    EXPECT_EQ(forbidden.body.find("PRIVATE"), std::string::npos);
    EXPECT_FALSE(answers.served_version(DnsName::parse("nowhere.test")));
    EXPECT_EQ(answers.served_version(kZone), 1u);
}

}  // namespace
}  // namespace acmezone::issuer
