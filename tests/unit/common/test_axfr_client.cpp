// transfer_zone (common/axfr_client.h) against a real named: an unsigned
// transfer, a TSIG-signed one of a catalog big enough to take several
// messages (each next MAC checked), and the refusals an operator must tell
// apart (REFUSED, a wrong secret, nothing listening, a deadline); and
// query_soa_serial, signed and not, against the same named.
#include "common/axfr_client.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "common/catalog_zone.h"
#include "common/tsig_keyring.h"
#include "tests/unit/named_fixture.h"

using namespace acmezone;
using acmezone::testing::NamedFixture;

namespace {

std::string catalog_records(int members) {
    std::string r = "@ IN NS invalid.\nversion IN TXT \"2\"\n";
    for (int i = 0; i < members; ++i) {
        r += "m" + std::to_string(i) + ".zones IN PTR zone" + std::to_string(i) + ".example.\n";
    }
    return r;
}

std::vector<const ldns_rr*> view(const std::vector<LdnsRr>& records) {
    std::vector<const ldns_rr*> out;
    for (const auto& rr : records) {
        out.push_back(rr.get());
    }
    return out;
}

class AxfrClientTest : public ::testing::Test {
  protected:
    static void SetUpTestSuite() {
        key_text_ = new std::string(NamedFixture::generate_key("xfr-key"));
        named_ = new NamedFixture(
            {{"open.example",
              "@ IN NS invalid.\nversion IN TXT \"2\"\n"
              "a.zones IN PTR one.example.\n",
              "allow-transfer { 127.0.0.1; };"},
             {"big.catalog", catalog_records(3000), "allow-transfer { key xfr-key; };"},
             {"closed.example", "@ IN NS invalid.\n", "allow-transfer { none; };"}},
            *key_text_);
    }
    static void TearDownTestSuite() {
        delete named_;
        delete key_text_;
    }
    static Endpoint server() { return Endpoint::parse(named_->address()); }
    static TsigKey key() {
        return *TsigKeyring::parse(*key_text_, "xfr.key").find(DnsName::parse("xfr-key"));
    }

    static inline NamedFixture* named_ = nullptr;
    static inline std::string* key_text_ = nullptr;
};

TEST_F(AxfrClientTest, TransfersAZoneUnsigned) {
    const auto records =
        transfer_zone(server(), DnsName::parse("open.example"), nullptr, std::chrono::seconds(5));
    ASSERT_GE(records.size(), 5u);
    EXPECT_EQ(ldns_rr_get_type(records.front().get()), LDNS_RR_TYPE_SOA);
    EXPECT_EQ(ldns_rr_get_type(records.back().get()), LDNS_RR_TYPE_SOA);
    const CatalogParse p = parse_catalog(DnsName::parse("open.example"), view(records));
    ASSERT_TRUE(p.ok) << p.error;
    ASSERT_EQ(p.members.size(), 1u);
    EXPECT_EQ(p.members[0].zone.text(), "one.example");
    EXPECT_EQ(p.refresh, 3600u);
}

// A transfer of many messages, each verified against the previous MAC. How
// long it takes is printed, never asserted: speed is the bench's to judge,
// and this also runs under ASan on loaded machines.
TEST_F(AxfrClientTest, TransfersABigCatalogSigned) {
    const TsigKey k = key();
    const auto start = std::chrono::steady_clock::now();
    const auto records =
        transfer_zone(server(), DnsName::parse("big.catalog"), &k, std::chrono::seconds(60));
    const CatalogParse p = parse_catalog(DnsName::parse("big.catalog"), view(records));
    const auto took = std::chrono::steady_clock::now() - start;
    ASSERT_TRUE(p.ok) << p.error;
    EXPECT_EQ(p.members.size(), 3000u);
    std::printf("3000 members transferred (signed) and parsed in %lld ms\n",
                static_cast<long long>(
                    std::chrono::duration_cast<std::chrono::milliseconds>(took).count()));
}

TEST_F(AxfrClientTest, AnUnsignedRequestForAKeyOnlyZoneIsRefused) {
    try {
        transfer_zone(server(), DnsName::parse("big.catalog"), nullptr, std::chrono::seconds(5));
        FAIL() << "no error";
    } catch (const AxfrError& e) {
        EXPECT_EQ(std::string(e.what()),
                  "AXFR of big.catalog from " + named_->address() +
                      ": the server answered REFUSED (is the transfer allowed to this address "
                      "and key?)")
            << e.what();
    }
}

TEST_F(AxfrClientTest, ARefusedTransferSaysSo) {
    try {
        transfer_zone(server(), DnsName::parse("closed.example"), nullptr, std::chrono::seconds(5));
        FAIL() << "no error";
    } catch (const AxfrError& e) {
        EXPECT_NE(std::string(e.what()).find(": the server answered REFUSED"), std::string::npos)
            << e.what();
    }
}

TEST_F(AxfrClientTest, AWrongSecretIsNamed) {
    TsigKey wrong = key();
    wrong.secret[0] ^= 0xff;
    try {
        transfer_zone(server(), DnsName::parse("big.catalog"), &wrong, std::chrono::seconds(5));
        FAIL() << "no error";
    } catch (const AxfrError& e) {
        EXPECT_NE(std::string(e.what()).find(": the server refused key xfr-key: BADSIG"),
                  std::string::npos)
            << e.what();
    }
}

TEST_F(AxfrClientTest, TheSoaSerialIsTheTransfersSerial) {
    const DnsName zone = DnsName::parse("open.example");
    const auto records = transfer_zone(server(), zone, nullptr, std::chrono::seconds(5));
    const CatalogParse p = parse_catalog(zone, view(records));
    ASSERT_TRUE(p.ok) << p.error;
    EXPECT_EQ(query_soa_serial(server(), zone, nullptr, std::chrono::seconds(5)), p.serial);
}

TEST_F(AxfrClientTest, TheSoaQueryIsSignedWithTheKey) {
    const DnsName zone = DnsName::parse("big.catalog");
    const TsigKey k = key();
    const auto records = transfer_zone(server(), zone, &k, std::chrono::seconds(10));
    const CatalogParse p = parse_catalog(zone, view(records));
    ASSERT_TRUE(p.ok) << p.error;
    EXPECT_EQ(query_soa_serial(server(), zone, &k, std::chrono::seconds(5)), p.serial);
    TsigKey wrong = k;
    wrong.secret[0] ^= 0xff;
    try {
        query_soa_serial(server(), zone, &wrong, std::chrono::seconds(5));
        FAIL() << "no error";
    } catch (const AxfrError& e) {
        EXPECT_EQ(std::string(e.what()), "SOA query for big.catalog to " + named_->address() +
                                             ": the server refused key xfr-key: BADSIG");
    }
}

TEST_F(AxfrClientTest, AnSoaQueryForAZoneNotServedSaysSo) {
    try {
        query_soa_serial(server(), DnsName::parse("elsewhere.example"), nullptr,
                         std::chrono::seconds(5));
        FAIL() << "no error";
    } catch (const AxfrError& e) {
        EXPECT_EQ(std::string(e.what()),
                  "SOA query for elsewhere.example to " + named_->address() +
                      ": the server answered REFUSED (does the server serve the zone?)");
    }
}

// A port nothing listens on: bound by the kernel's choice, then closed.
std::uint16_t closed_port() {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    ::close(fd);
    return ntohs(a.sin_port);
}

TEST(AxfrClient, NothingListeningIsConnectionRefused) {
    const std::uint16_t port = closed_port();
    const Endpoint nowhere = Endpoint::parse("127.0.0.1:" + std::to_string(port));
    try {
        transfer_zone(nowhere, DnsName::parse("x.example"), nullptr, std::chrono::seconds(2));
        FAIL() << "no error";
    } catch (const AxfrError& e) {
        EXPECT_EQ(std::string(e.what()),
                  "AXFR of x.example from 127.0.0.1:" + std::to_string(port) +
                      ": connection refused (nothing listens on TCP there)");
    }
}

}  // namespace
