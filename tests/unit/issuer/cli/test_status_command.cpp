// status_command: every configured zone once, in the configuration's order,
// also past the batches it reads a few zones at a time in (status_command.cpp
// kBatch); --json exactly the text jsoncpp's styled writer gives for the same
// values; the exit code says whether every certificate is valid.
#include "issuer/cli/status_command.h"

#include <gtest/gtest.h>
#include <json/writer.h>

#include <algorithm>
#include <sstream>
#include <string>
#include <vector>

#include "issuer/certs/cert_store.h"
#include "issuer/json/json_text.h"
#include "issuer/pass/runner.h"
#include "tests/unit/issuer_test_pki.h"
#include "tests/unit/temp_dir.h"

namespace acmezone::issuer {
namespace {

using test_support::TempDir;
using testing::TestPki;

// 600 zones (more than two batches, the last one short); the first, one in
// the middle and the last have a certificate, the others none.
constexpr int kZones = 600;
const std::vector<int> kIssued{0, 300, kZones - 1};

struct Zones {
    TempDir dir;
    TestPki pki;
    IssuerConfig config;

    explicit Zones(int zones) {
        config.directory = "https://ca.test/dir";
        config.certs_dir = dir.path() / "certs";
        config.state_dir = dir.path() / "state";
        for (int i = 0; i < zones; ++i) {
            config.zones.push_back(DnsName::parse("z" + std::to_string(i) + ".example"));
        }
        const CertKey key = CertKey::generate(KeyType::ecdsa_p256);
        CertStore store(config.certs_dir);
        for (int i : kIssued) {
            if (i < zones) {
                const std::string zone = config.zones[static_cast<std::size_t>(i)].text();
                store.store(config.zones[static_cast<std::size_t>(i)], key.private_pem(),
                            pki.chain_for(key, {"DNS:" + zone, "DNS:*." + zone}, -3600, 90 * 86400,
                                          100 + i));
            }
        }
    }
};

bool issued(int i) {
    return std::find(kIssued.begin(), kIssued.end(), i) != kIssued.end();
}

TEST(StatusCommand, JsonListsEveryZoneInOrderAsJsoncppWritesIt) {
    Zones s(kZones);
    std::ostringstream out;
    EXPECT_EQ(status_command(s.config, /*json=*/true, out), kExitFailed);  // some are missing
    const std::string text = out.str();
    std::string why;
    const auto doc = parse_json(text, &why, {.strict = true});
    ASSERT_TRUE(doc) << why;
    ASSERT_TRUE(doc->isArray());
    ASSERT_EQ(doc->size(), static_cast<Json::ArrayIndex>(kZones));
    for (int i = 0; i < kZones; ++i) {
        const Json::Value& z = (*doc)[static_cast<Json::ArrayIndex>(i)];
        EXPECT_EQ(z["zone"].asString(), "z" + std::to_string(i) + ".example");
        EXPECT_EQ(z["state"].asString(), issued(i) ? "valid" : "missing") << i;
        EXPECT_EQ(z["source"].asString(), "listed");
        EXPECT_EQ(z["renews_from"].asString(), "https://ca.test/dir");
        EXPECT_EQ(z["certificates"].size(), issued(i) ? 1U : 0U) << i;
        EXPECT_EQ(z["names"].size(), issued(i) ? 2U : 0U) << i;
    }
    // The text jsoncpp's styled writer gives for the same document (what
    // status wrote before it wrote each zone's object itself).
    Json::StreamWriterBuilder w;
    w["indentation"] = "  ";
    w["precision"] = 15;
    EXPECT_EQ(text, Json::writeString(w, *doc) + "\n");
}

TEST(StatusCommand, TableHasALinePerZoneInOrder) {
    Zones s(kZones);
    std::ostringstream out;
    EXPECT_EQ(status_command(s.config, /*json=*/false, out), kExitFailed);
    std::istringstream lines(out.str());
    std::string line;
    ASSERT_TRUE(std::getline(lines, line));
    EXPECT_EQ(line.rfind("ZONE", 0), 0U) << line;
    for (int i = 0; i < kZones; ++i) {
        ASSERT_TRUE(std::getline(lines, line)) << i;
        const std::string zone = "z" + std::to_string(i) + ".example";
        EXPECT_EQ(line.substr(0, zone.size() + 1), zone + " ") << line;
        EXPECT_NE(line.find(issued(i) ? "valid" : "missing"), std::string::npos) << line;
    }
    EXPECT_FALSE(std::getline(lines, line)) << line;
}

TEST(StatusCommand, EveryCertificateValidExitsOk) {
    Zones s(1);
    std::ostringstream json;
    EXPECT_EQ(status_command(s.config, /*json=*/true, json), kExitOk) << json.str();
    std::ostringstream table;
    EXPECT_EQ(status_command(s.config, /*json=*/false, table), kExitOk) << table.str();
}

TEST(StatusCommand, NoZonesIsAnEmptyList) {
    Zones s(0);
    std::ostringstream out;
    EXPECT_EQ(status_command(s.config, /*json=*/true, out), kExitOk);
    EXPECT_EQ(out.str(), "[]\n");
}

}  // namespace
}  // namespace acmezone::issuer
