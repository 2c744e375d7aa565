// The account key holder and JWS: real ES256 signatures, verified here with
// OpenSSL from the public JWK alone, as an ACME server does.
#include <gtest/gtest.h>
#include <json/reader.h>
#include <openssl/core_names.h>
#include <openssl/param_build.h>
#include <openssl/sha.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <memory>
#include <set>

#include "common/base64.h"
#include "common/file_io.h"
#include "issuer/acme/account_key.h"
#include "issuer/acme/jws.h"
#include "issuer/certs/cert_key.h"
#include "tests/unit/temp_dir.h"

using namespace acmezone;
using namespace acmezone::issuer;
using acmezone::test_support::TempDir;
namespace fs = std::filesystem;

namespace {

std::string b64u_decode(const std::string& s) {
    auto bytes = base64url_decode(s);
    EXPECT_TRUE(bytes.has_value()) << s;
    return bytes ? std::string(bytes->begin(), bytes->end()) : std::string();
}

Json::Value parse(const std::string& text) {
    Json::CharReaderBuilder b;
    std::unique_ptr<Json::CharReader> r(b.newCharReader());
    Json::Value v;
    std::string errs;
    EXPECT_TRUE(r->parse(text.data(), text.data() + text.size(), &v, &errs)) << errs;
    return v;
}

// An EVP_PKEY built from the JWK's x and y only.
EvpPkeyPtr key_from_jwk(const Json::Value& jwk) {
    const std::string x = b64u_decode(jwk["x"].asString());
    const std::string y = b64u_decode(jwk["y"].asString());
    EXPECT_EQ(x.size(), 32u);
    EXPECT_EQ(y.size(), 32u);
    std::string point = "\x04" + x + y;
    using BldPtr = std::unique_ptr<OSSL_PARAM_BLD, decltype(&OSSL_PARAM_BLD_free)>;
    using ParamPtr = std::unique_ptr<OSSL_PARAM, decltype(&OSSL_PARAM_free)>;
    BldPtr bld(OSSL_PARAM_BLD_new(), OSSL_PARAM_BLD_free);
    OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME, "P-256", 0);
    OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, point.data(),
                                     point.size());
    ParamPtr params(OSSL_PARAM_BLD_to_param(bld.get()), OSSL_PARAM_free);
    EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr));
    EVP_PKEY* raw = nullptr;
    EXPECT_EQ(EVP_PKEY_fromdata_init(ctx.get()), 1);
    EXPECT_EQ(EVP_PKEY_fromdata(ctx.get(), &raw, EVP_PKEY_PUBLIC_KEY, params.get()), 1);
    return EvpPkeyPtr(raw);
}

// Verifies a JWS R||S signature over `input` with `key`.
bool verify_es256(EVP_PKEY* key, const std::string& input, const std::string& sig) {
    if (sig.size() != 64) {
        return false;
    }
    EcdsaSigPtr ecdsa(ECDSA_SIG_new());
    BIGNUM* r = BN_bin2bn(reinterpret_cast<const unsigned char*>(sig.data()), 32, nullptr);
    BIGNUM* s = BN_bin2bn(reinterpret_cast<const unsigned char*>(sig.data()) + 32, 32, nullptr);
    ECDSA_SIG_set0(ecdsa.get(), r, s);
    unsigned char* der = nullptr;
    int len = i2d_ECDSA_SIG(ecdsa.get(), &der);
    EvpMdCtxPtr ctx(EVP_MD_CTX_new());
    bool ok =
        EVP_DigestVerifyInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key) == 1 &&
        EVP_DigestVerify(ctx.get(), der, static_cast<std::size_t>(len),
                         reinterpret_cast<const unsigned char*>(input.data()), input.size()) == 1;
    OPENSSL_free(der);
    return ok;
}

}  // namespace

TEST(Jws, NewAccountRequestCarriesJwkAndVerifies) {
    AccountKey key = AccountKey::generate();
    Json::Value payload(Json::objectValue);
    payload["termsOfServiceAgreed"] = true;
    Json::Value jws = jws_sign(key, {"https://ca/new-acct", "nonce-1", std::nullopt, payload});

    Json::Value header = parse(b64u_decode(jws["protected"].asString()));
    EXPECT_EQ(header["alg"].asString(), "ES256");
    EXPECT_EQ(header["nonce"].asString(), "nonce-1");
    EXPECT_EQ(header["url"].asString(), "https://ca/new-acct");
    EXPECT_FALSE(header.isMember("kid"));
    ASSERT_TRUE(header["jwk"].isObject());
    EXPECT_EQ(header["jwk"]["kty"].asString(), "EC");
    EXPECT_EQ(header["jwk"]["crv"].asString(), "P-256");

    EXPECT_TRUE(parse(b64u_decode(jws["payload"].asString()))["termsOfServiceAgreed"].asBool());

    EvpPkeyPtr pub = key_from_jwk(header["jwk"]);
    const std::string input = jws["protected"].asString() + "." + jws["payload"].asString();
    EXPECT_TRUE(verify_es256(pub.get(), input, b64u_decode(jws["signature"].asString())));
    // A changed payload does not verify: the check above can fail.
    EXPECT_FALSE(verify_es256(pub.get(), input + "x", b64u_decode(jws["signature"].asString())));
}

TEST(Jws, KidRequestsAndPostAsGet) {
    AccountKey key = AccountKey::generate();
    Json::Value jws =
        jws_sign(key, {"https://ca/authz/1", "n2", "https://ca/acct/7", std::nullopt});
    Json::Value header = parse(b64u_decode(jws["protected"].asString()));
    EXPECT_EQ(header["kid"].asString(), "https://ca/acct/7");
    EXPECT_FALSE(header.isMember("jwk"));
    // POST-as-GET: the payload is the empty string, not "{}" (RFC 8555 §6.3).
    EXPECT_EQ(jws["payload"].asString(), "");
    EvpPkeyPtr pub = key_from_jwk(key.public_jwk());
    EXPECT_TRUE(verify_es256(pub.get(), jws["protected"].asString() + ".",
                             b64u_decode(jws["signature"].asString())));
}

TEST(Jws, SignaturesAreFixedWidthEveryTime) {
    AccountKey key = AccountKey::generate();
    for (int i = 0; i < 50; ++i) {  // R or S with leading zero bytes must still be 32 octets
        EXPECT_EQ(key.sign("input " + std::to_string(i)).size(), 64u);
    }
}

TEST(Jws, ThumbprintIsRfc7638OfTheCanonicalJwk) {
    AccountKey key = AccountKey::generate();
    Json::Value jwk = key.public_jwk();
    const std::string canonical = R"({"crv":"P-256","kty":"EC","x":")" + jwk["x"].asString() +
                                  R"(","y":")" + jwk["y"].asString() + R"("})";
    unsigned char d[SHA256_DIGEST_LENGTH];
    SHA256(reinterpret_cast<const unsigned char*>(canonical.data()), canonical.size(), d);
    EXPECT_EQ(key.thumbprint(), base64url_encode(std::string_view(reinterpret_cast<char*>(d), 32)));
    EXPECT_EQ(key.thumbprint().size(), 43u);
    EXPECT_NE(key.thumbprint(), AccountKey::generate().thumbprint());
}

TEST(Jws, Dns01ValueIsBase64urlSha256OfTheKeyAuthorization) {
    EXPECT_EQ(key_authorization("tok123", "thumb456"), "tok123.thumb456");
    // echo -n tok123.thumb456 | openssl dgst -sha256 -binary | basenc --base64url | tr -d =
    EXPECT_EQ(dns01_txt_value("tok123", "thumb456"), "exIkD47qQ0f4hAzMiWTfJ1MHo3DxTt4Db6OVRa6jCyo");
}

TEST(AccountKey, CreatedOnceWithMode0600AndReloaded) {
    TempDir dir("jws");
    const fs::path p = dir.path() / "account.key";
    AccountKey first = AccountKey::load_or_create(p);
    struct stat st {};
    ASSERT_EQ(::stat(p.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u);
    AccountKey again = AccountKey::load_or_create(p);
    EXPECT_EQ(first.thumbprint(), again.thumbprint());
}

TEST(AccountKey, ProcessesStartingTogetherShareOneKey) {
    TempDir dir("jws");
    const fs::path p = dir.path() / "account.key";
    constexpr int kProcs = 6;
    int fds[kProcs][2];
    pid_t pids[kProcs];
    for (int i = 0; i < kProcs; ++i) {
        ASSERT_EQ(::pipe(fds[i]), 0);
        pids[i] = ::fork();
        ASSERT_GE(pids[i], 0);
        if (pids[i] == 0) {
            std::string t;
            try {
                t = AccountKey::load_or_create(p).thumbprint();
            } catch (const std::exception& e) {
                t = std::string("error: ") + e.what();
            }
            (void)!::write(fds[i][1], t.data(), t.size());
            ::_exit(0);
        }
        ::close(fds[i][1]);
    }
    std::set<std::string> seen;
    for (int i = 0; i < kProcs; ++i) {
        char buf[512];
        ssize_t n = ::read(fds[i][0], buf, sizeof buf);
        ::close(fds[i][0]);
        int status = 0;
        ::waitpid(pids[i], &status, 0);
        seen.insert(std::string(buf, n > 0 ? static_cast<std::size_t>(n) : 0));
    }
    ASSERT_EQ(seen.size(), 1u) << *seen.begin() << " / " << *seen.rbegin();
    EXPECT_EQ(*seen.begin(), AccountKey::load_or_create(p).thumbprint());
    // Nothing left behind but the key.
    EXPECT_EQ(std::distance(fs::directory_iterator(dir.path()), fs::directory_iterator()), 1);
}

TEST(AccountKey, RefusesAKeyOthersCanRead) {
    TempDir dir("jws");
    const fs::path p = dir.path() / "account.key";
    (void)AccountKey::load_or_create(p);
    ::chmod(p.c_str(), 0644);
    try {
        (void)AccountKey::load_or_create(p);
        FAIL() << "a 0644 account key was accepted";
    } catch (const std::runtime_error& e) {
        EXPECT_NE(std::string(e.what()).find("chmod 600"), std::string::npos) << e.what();
    }
}

TEST(AccountKey, RefusesOtherKeyTypesAndGarbage) {
    TempDir dir("jws");
    const fs::path p = dir.path() / "account.key";
    write_file_atomic(p, CertKey::generate(KeyType::rsa_2048).private_pem(), 0600);
    EXPECT_THROW((void)AccountKey::load_or_create(p), std::runtime_error);
    EXPECT_THROW((void)AccountKey::from_pem("not a key", "x"), std::runtime_error);
}

// Signing with one key, then another, then the first again on one thread
// (AccountKey keeps a signing context a thread): each signature is its own
// key's, and no other key's.
TEST(Jws, TwoKeysInTurnEachSignsWithItsOwn) {
    AccountKey a = AccountKey::generate();
    AccountKey b = AccountKey::generate();
    EvpPkeyPtr pub_a = key_from_jwk(a.public_jwk());
    EvpPkeyPtr pub_b = key_from_jwk(b.public_jwk());
    for (const AccountKey* key : {&a, &b, &a, &b}) {
        const std::string sig = key->sign("input");
        EXPECT_EQ(verify_es256(pub_a.get(), "input", sig), key == &a);
        EXPECT_EQ(verify_es256(pub_b.get(), "input", sig), key == &b);
    }
}
