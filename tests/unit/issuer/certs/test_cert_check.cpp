// cert_check: a real chain built in memory passes; each thing it must refuse
// (wrong key, extra/missing names, foreign chain, wrong trust root, garbage,
// expired) is refused with its reason.
#include <gtest/gtest.h>

#include <filesystem>

#include "common/file_io.h"
#include "issuer/certs/cert_check.h"
#include "tests/unit/issuer_test_pki.h"
#include "tests/unit/temp_dir.h"

using namespace acmezone;
using namespace acmezone::issuer;
using namespace acmezone::issuer::testing;
using acmezone::test_support::TempDir;

namespace {

const std::vector<DnsName> kNames{DnsName::parse("example.com"), DnsName::parse("*.example.com")};
const std::vector<std::string> kSans{"DNS:example.com", "DNS:*.example.com"};

std::string check_error(const std::string& chain, const CertKey& key,
                        const std::optional<std::string>& trust = std::nullopt,
                        const std::vector<DnsName>& names = kNames) {
    try {
        (void)check_certificate(chain, key.public_der(), names, trust);
    } catch (const CertCheckError& e) {
        return e.what();
    }
    return "";
}

}  // namespace

class CertCheck : public ::testing::Test {
  protected:
    TestPki pki;
    CertKey key = CertKey::generate(KeyType::ecdsa_p256);
};

TEST_F(CertCheck, AGoodChainPassesAndReportsTheLeaf) {
    const std::string chain = pki.chain_for(key, kSans);
    CertInfo info = check_certificate(chain, key.public_der(), kNames);
    EXPECT_EQ(info.dns_names, (std::vector<std::string>{"*.example.com", "example.com"}));
    EXPECT_EQ(info.serial_hex, "64");  // 100
    EXPECT_GT(info.not_after, std::chrono::system_clock::now() + std::chrono::hours(24 * 89));
    EXPECT_NE(info.issuer.find("Test Intermediate"), std::string::npos);
    EXPECT_EQ(read_certificate(chain).dns_names, info.dns_names);
}

TEST_F(CertCheck, TheKeyMustBeOurs) {
    CertKey other = CertKey::generate(KeyType::ecdsa_p256);
    EXPECT_NE(check_error(pki.chain_for(other, kSans), key).find("not the key of our CSR"),
              std::string::npos);
}

TEST_F(CertCheck, NamesMustMatchExactly) {
    auto extra = check_error(
        pki.chain_for(key, {"DNS:example.com", "DNS:*.example.com", "DNS:www.example.org"}), key);
    EXPECT_NE(extra.find("www.example.org"), std::string::npos) << extra;
    auto missing = check_error(pki.chain_for(key, {"DNS:example.com"}), key);
    EXPECT_NE(missing.find("expected {*.example.com, example.com}"), std::string::npos) << missing;
    auto ip = check_error(
        pki.chain_for(key, {"DNS:example.com", "DNS:*.example.com", "IP:127.0.0.1"}), key);
    EXPECT_NE(ip.find("non-DNS"), std::string::npos) << ip;
    // Case does not matter.
    EXPECT_EQ(check_error(pki.chain_for(key, {"DNS:EXAMPLE.com", "DNS:*.Example.COM"}), key), "");
}

TEST_F(CertCheck, TheLeafMustChainToTheIntermediate) {
    TestPki other;
    // Our leaf, but followed by another CA's intermediate.
    std::string chain = pki.chain_for(key, kSans);
    std::string leaf = split_pem_chain(chain).front();
    auto err = check_error(leaf + other.inter_pem(), key);
    EXPECT_NE(err.find("does not verify"), std::string::npos) << err;
}

TEST_F(CertCheck, WithATrustStoreTheRootMustMatch) {
    const TempDir tmp("cc");
    const std::filesystem::path& dir = tmp.path();
    write_file_atomic(dir / "good.pem", pki.root_pem());
    TestPki other;
    write_file_atomic(dir / "bad.pem", other.root_pem());
    const std::string chain = pki.chain_for(key, kSans);
    EXPECT_EQ(check_error(chain, key, (dir / "good.pem").string()), "");
    auto err = check_error(chain, key, (dir / "bad.pem").string());
    EXPECT_NE(err.find("bad.pem"), std::string::npos) << err;
    EXPECT_NE(check_error(chain, key, (dir / "missing.pem").string()).find("does not load"),
              std::string::npos);
}

TEST_F(CertCheck, GarbageAndLoneLeavesAreRefused) {
    EXPECT_NE(check_error("", key).find("no PEM certificate"), std::string::npos);
    EXPECT_NE(check_error("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", key)
                  .find("does not parse"),
              std::string::npos);
    EXPECT_NE(check_error("-----BEGIN CERTIFICATE-----\nAAAA\n", key).find("no END line"),
              std::string::npos);
    std::string leaf = split_pem_chain(pki.chain_for(key, kSans)).front();
    EXPECT_NE(check_error(leaf, key).find("only the leaf"), std::string::npos);
}

TEST_F(CertCheck, AnExpiredLeafIsRefused) {
    auto err = check_error(pki.chain_for(key, kSans, -10 * 86400, -86400), key);
    EXPECT_NE(err.find("expired"), std::string::npos) << err;
}

TEST(SplitPemChain, KeepsOrderAndCount) {
    TestPki pki;
    auto blocks = split_pem_chain(pki.inter_pem() + "junk between\n" + pki.root_pem());
    ASSERT_EQ(blocks.size(), 2u);
    EXPECT_EQ(blocks[0], pki.inter_pem());
    EXPECT_EQ(blocks[1], pki.root_pem());
}

// Found by tests/fuzz (fuzz_cert_chain): dates outside system_clock's range
// overflowed (UBSan). RFC 5280's "no expiry" notAfter must read, clamped.
TEST_F(CertCheck, ExtremeValidityDatesAreClamped) {
    CertSpec spec{"leaf", kSans, false, -3600, 86400, 7};
    X509Ptr leaf = make_cert(spec, key.get(), pki.inter.get(), pki.inter_key.get());
    ASSERT_EQ(ASN1_TIME_set_string(X509_getm_notAfter(leaf.get()), "99991231235959Z"), 1);
    ASSERT_EQ(ASN1_TIME_set_string(X509_getm_notBefore(leaf.get()), "12090101000000Z"), 1);
    ASSERT_GT(X509_sign(leaf.get(), pki.inter_key.get(), EVP_sha256()), 0);
    const std::string chain = cert_pem(leaf.get()) + pki.inter_pem();
    CertInfo info = check_certificate(chain, key.public_der(), kNames);
    EXPECT_EQ(std::chrono::system_clock::to_time_t(info.not_after), 7258118400);  // 2200-01-01
    EXPECT_EQ(std::chrono::system_clock::to_time_t(info.not_before), 0);          // 1970-01-01
    EXPECT_EQ(read_certificate(chain).not_after, info.not_after);
}

TEST(ChainTop, IssuerCnOfTheTopmostCertificate) {
    TestPki pki;
    CertKey key = CertKey::generate(KeyType::ecdsa_p256);
    const std::string chain = pki.chain_for(key, {"DNS:example.com"});
    // leaf <- intermediate <- root: the intermediate is last, issued by the root.
    EXPECT_EQ(chain_top_issuer_cn(chain), "Test Root");
    EXPECT_EQ(chain_top_issuer_cn(chain + pki.root_pem()), "Test Root");  // self-signed top
    EXPECT_THROW(chain_top_issuer_cn("garbage"), CertCheckError);
}

// parse_leaf() hands the same leaf out again for the same PEM, and never one
// leaf for another's PEM.
TEST_F(CertCheck, ALeafIsParsedOnceForTheSamePemOnly) {
    const auto first = split_pem_chain(pki.chain_for(key, kSans)).front();
    const auto second = split_pem_chain(pki.chain_for(key, {"DNS:example.net"})).front();
    X509Ptr a = parse_leaf(first);
    X509Ptr again = parse_leaf(first);
    EXPECT_EQ(a.get(), again.get());
    X509Ptr b = parse_leaf(second);
    EXPECT_NE(b.get(), a.get());
    EXPECT_EQ(read_certificate(b.get()).dns_names, std::vector<std::string>{"example.net"});
    EXPECT_EQ(read_certificate(parse_leaf(first).get()).dns_names,
              (std::vector<std::string>{"*.example.com", "example.com"}));
    EXPECT_THROW((void)parse_leaf("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"),
                 CertCheckError);
    EXPECT_EQ(read_certificate(parse_leaf(second).get()).dns_names,
              std::vector<std::string>{"example.net"});  // a failed parse forgets nothing wrong
}
