// pins: the SPKI SHA-256 of a known key equals what openssl's command line
// computes (committed below from `openssl pkey -pubout -outform DER |
// openssl dgst -sha256 -binary | base64`), for a fresh key of each type
// computed by that command in the test, and for a certificate's key.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>

#include "common/file_io.h"
#include "issuer/certs/cert_key.h"
#include "issuer/certs/pins.h"
#include "tests/unit/issuer_test_pki.h"
#include "tests/unit/temp_dir.h"

using namespace acmezone;
using namespace acmezone::issuer;
using acmezone::test_support::TempDir;
namespace fs = std::filesystem;

namespace {

// A P-256 key made for this test only.
const char* kKnownKey =
    "-----BEGIN PRIVATE KEY-----\n"
    "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgunSs74kuCAqtB4Ez\n"
    "xtRy4RosDM9iZ2IxqUM+gbTEM0OhRANCAASKFc4Q0XS936E0Lv6bSDAYQ5C5v3Qz\n"
    "f+eefAKLAiUCcetTCv1kSRjVqowiT4t2i/jT8H3fY8flrA7C+qVFI4HR\n"
    "-----END PRIVATE KEY-----\n";
const char* kKnownPin = "P5Ygpj2F5jDDCK0DD9I8PcSvV8ck0YdEWKkXd+u8SAc=";
const char* kKnownHex = "3f9620a63d85e630c308ad030fd23c3dc4af57c724d1874458a91777ebbc4807";

std::string run(const std::string& command) {
    std::FILE* p = ::popen(command.c_str(), "r");
    if (p == nullptr) {
        return "";
    }
    std::string out;
    char buf[256];
    while (std::fgets(buf, sizeof buf, p) != nullptr) {
        out += buf;
    }
    EXPECT_EQ(::pclose(p), 0) << command;
    while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) {
        out.pop_back();
    }
    return out;
}

}  // namespace

TEST(Pins, KnownKey) {
    SpkiPin pin = spki_pin_of_pem(kKnownKey, "known key");
    EXPECT_EQ(pin.base64, kKnownPin);
    EXPECT_EQ(pin.hex, kKnownHex);
    EXPECT_EQ(spki_pin(CertKey::from_pem(kKnownKey, "known key").public_der()).base64, kKnownPin);
}

TEST(Pins, EqualOpensslCommandLineForEachKeyType) {
    const TempDir tmp("pins");
    const fs::path& dir = tmp.path();
    for (KeyType type : {KeyType::ecdsa_p256, KeyType::ecdsa_p384, KeyType::rsa_2048}) {
        CertKey key = CertKey::generate(type);
        const fs::path file = dir / "key.pem";
        write_file_atomic(file, key.private_pem(), 0600);
        const std::string want =
            run("openssl pkey -in " + file.string() +
                " -pubout -outform DER | openssl dgst -sha256 -binary | base64");
        const std::string want_hex =
            run("openssl pkey -in " + file.string() +
                " -pubout -outform DER | openssl dgst -sha256 -r | cut -d' ' -f1");
        ASSERT_EQ(want.size(), 44u) << want;
        EXPECT_EQ(spki_pin_of_pem(key.private_pem(), "key").base64, want) << to_string(type);
        EXPECT_EQ(spki_pin(key.public_der()).hex, want_hex) << to_string(type);
    }
}

TEST(Pins, CertificateCarriesItsKeysPin) {
    acmezone::issuer::testing::TestPki pki;
    CertKey key = CertKey::from_pem(kKnownKey, "known key");
    const std::string chain = pki.chain_for(key, {"DNS:example.com"});
    EXPECT_EQ(spki_pin_of_pem(chain, "chain").base64, kKnownPin);
}

TEST(Pins, GarbageNamesItsOrigin) {
    try {
        spki_pin_of_pem("not a key", "/x/next.pem");
        FAIL() << "no exception";
    } catch (const std::runtime_error& e) {
        EXPECT_NE(std::string(e.what()).find("/x/next.pem"), std::string::npos) << e.what();
    }
}
