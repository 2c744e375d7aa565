// EabKey: the externalAccountBinding JWS checked against an HMAC computed
// here with OpenSSL's HMAC() directly; the MAC key file's mode and format.
#include "issuer/acme/eab.h"

#include <gtest/gtest.h>
#include <json/reader.h>
#include <openssl/hmac.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <filesystem>
#include <memory>

#include "common/base64.h"
#include "common/file_io.h"
#include "issuer/acme/account_key.h"
#include "tests/unit/temp_dir.h"

namespace acmezone::issuer {
namespace {
namespace fs = std::filesystem;

using acmezone::test_support::TempDir;

Json::Value decode_json(const std::string& b64u) {
    auto raw = base64url_decode(b64u);
    EXPECT_TRUE(raw.has_value()) << b64u;
    std::string text(raw->begin(), raw->end());
    Json::CharReaderBuilder b;
    std::unique_ptr<Json::CharReader> reader(b.newCharReader());
    Json::Value v;
    std::string errors;
    EXPECT_TRUE(reader->parse(text.data(), text.data() + text.size(), &v, &errors)) << text;
    return v;
}

// 32 octets, as Pebble's and ZeroSSL's MAC keys are.
const std::string kMacB64u = "zWNDZM6eQGHWpSRTPal5eIUYFTu7EajVIoguysqZ9wG44nMEtx3MUAsUDkMTQ12W";

TEST(Eab, BindingIsAnHs256JwsOverTheAccountKey) {
    TempDir tmp("eab");
    const fs::path file = tmp.path() / "eab.key";
    write_file_atomic(file, kMacB64u + "\n", 0600);
    const EabKey eab = EabKey::load("kid-1", file);
    EXPECT_EQ("kid-1", eab.kid());
    const AccountKey account = AccountKey::generate();
    const std::string url = "https://127.0.0.1:14000/sign-me-up";
    const Json::Value jws = eab.bind(account.public_jwk(), url);

    ASSERT_TRUE(jws["protected"].isString());
    const Json::Value header = decode_json(jws["protected"].asString());
    EXPECT_EQ("HS256", header["alg"].asString());
    EXPECT_EQ("kid-1", header["kid"].asString());
    EXPECT_EQ(url, header["url"].asString());
    EXPECT_EQ(3u, header.size());  // no nonce, no jwk (RFC 8555 §7.3.4)
    EXPECT_EQ(account.public_jwk(), decode_json(jws["payload"].asString()));

    const auto key = base64url_decode(kMacB64u);
    ASSERT_TRUE(key.has_value());
    const std::string input = jws["protected"].asString() + "." + jws["payload"].asString();
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int mac_len = 0;
    ASSERT_NE(nullptr, HMAC(EVP_sha256(), key->data(), static_cast<int>(key->size()),
                            reinterpret_cast<const unsigned char*>(input.data()), input.size(), mac,
                            &mac_len));
    EXPECT_EQ(base64url_encode(std::string_view(reinterpret_cast<const char*>(mac), mac_len)),
              jws["signature"].asString());
}

TEST(Eab, AnotherKeyGivesAnotherSignature) {
    const AccountKey account = AccountKey::generate();
    const EabKey a("kid", {1, 2, 3});
    const EabKey b("kid", {1, 2, 4});
    EXPECT_NE(a.bind(account.public_jwk(), "u")["signature"],
              b.bind(account.public_jwk(), "u")["signature"]);
    EXPECT_EQ(a.bind(account.public_jwk(), "u")["signature"],
              a.bind(account.public_jwk(), "u")["signature"]);
}

TEST(Eab, KeyFileReadableByOthersIsRefused) {
    TempDir tmp("eab");
    const fs::path file = tmp.path() / "eab.key";
    write_file_atomic(file, kMacB64u, 0644);
    try {
        EabKey::load("kid", file);
        FAIL() << "a 0644 key file was accepted";
    } catch (const std::runtime_error& e) {
        const std::string what = e.what();
        EXPECT_NE(std::string::npos, what.find(file.string() + " has mode 0644")) << what;
        EXPECT_NE(std::string::npos, what.find("chmod 600 " + file.string())) << what;
        EXPECT_EQ(std::string::npos, what.find(kMacB64u)) << "the secret is in the message";
    }
}

TEST(Eab, KeyFileThatIsNotBase64urlIsRefused) {
    TempDir tmp("eab");
    const fs::path file = tmp.path() / "eab.key";
    for (const std::string text : {"", "\n", "not base64!", "abc def"}) {
        write_file_atomic(file, text, 0600);
        try {
            EabKey::load("kid", file);
            FAIL() << "accepted [" << text << "]";
        } catch (const std::runtime_error& e) {
            EXPECT_NE(std::string::npos, std::string(e.what()).find("one base64url word"))
                << e.what();
        }
    }
    EXPECT_THROW(EabKey::load("kid", tmp.path() / "missing"), std::runtime_error);
    // Padding, as some CAs print it, is tolerated.
    write_file_atomic(file, "AQID==\n", 0600);
    EXPECT_NO_THROW(EabKey::load("kid", file));
}

}  // namespace
}  // namespace acmezone::issuer
