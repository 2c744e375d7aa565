// Certificate keys: the ECDSA encodings written by hand (der.h) are the bytes
// OpenSSL's own encoders write, and every key reads back.
#include <gtest/gtest.h>
#include <openssl/core_names.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "issuer/certs/cert_key.h"
#include "issuer/certs/der.h"

using namespace acmezone::issuer;

namespace {

std::string openssl_private_pem(EVP_PKEY* key) {
    BioPtr bio(BIO_new(BIO_s_mem()));
    EXPECT_EQ(PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr), 1);
    return bio_contents(bio.get());
}

std::string openssl_public_der(EVP_PKEY* key) {
    unsigned char* der = nullptr;
    const int len = i2d_PUBKEY(key, &der);
    EXPECT_GT(len, 0);
    std::string out(reinterpret_cast<char*>(der), static_cast<std::size_t>(len));
    OPENSSL_free(der);
    return out;
}

TEST(Der, LengthsInTheirShortestForm) {
    using namespace acmezone::issuer::der;
    EXPECT_EQ(tlv(kOctetString, std::string(127, 'x')).substr(0, 2), "\x04\x7f");
    EXPECT_EQ(tlv(kOctetString, std::string(128, 'x')).substr(0, 3), "\x04\x81\x80");
    EXPECT_EQ(tlv(kOctetString, std::string(255, 'x')).substr(0, 3), "\x04\x81\xff");
    EXPECT_EQ(tlv(kOctetString, std::string(300, 'x')).substr(0, 4), "\x04\x82\x01\x2c");
    EXPECT_EQ(tlv(kOctetString, std::string(70000, 'x')).substr(0, 5), "\x04\x83\x01\x11\x70");
    EXPECT_EQ(tlv(kNull, ""), std::string("\x05\x00", 2));
    for (std::size_t n : {0u, 1u, 127u, 128u, 255u, 256u, 65535u, 65536u}) {
        EXPECT_EQ(tlv(kOctetString, std::string(n, 'x')).size(), header_size(n) + n) << n;
    }
}

class EcdsaKeyEncoding : public ::testing::TestWithParam<KeyType> {};

TEST_P(EcdsaKeyEncoding, IsWhatOpensslsEncodersWrite) {
    for (int i = 0; i < 20; ++i) {  // private scalars of every length, some with leading zeros
        const CertKey key = CertKey::generate(GetParam());
        EXPECT_EQ(key.private_pem(), openssl_private_pem(key.get()));
        EXPECT_EQ(key.public_der(), openssl_public_der(key.get()));
        EXPECT_EQ(public_key_der(key.get()), openssl_public_der(key.get()));
    }
}

TEST_P(EcdsaKeyEncoding, ReadsBackAsTheSameKey) {
    const CertKey key = CertKey::generate(GetParam());
    const CertKey again = CertKey::from_pem(key.private_pem(), "test");
    EXPECT_EQ(EVP_PKEY_eq(key.get(), again.get()), 1);
    EXPECT_EQ(again.public_der(), key.public_der());
    EXPECT_EQ(key_type_of(again.get()), GetParam());
}

INSTANTIATE_TEST_SUITE_P(Curves, EcdsaKeyEncoding,
                         ::testing::Values(KeyType::ecdsa_p256, KeyType::ecdsa_p384));

// A key read from a file may be set otherwise than keys made here: it is
// encoded by OpenSSL, as it stands.
TEST(CertKey, ReadKeyWithACompressedPointIsEncodedAsItStands) {
    const CertKey made = CertKey::generate(KeyType::ecdsa_p256);
    ASSERT_EQ(EVP_PKEY_set_utf8_string_param(made.get(), OSSL_PKEY_PARAM_EC_POINT_CONVERSION_FORMAT,
                                             "compressed"),
              1);
    const CertKey read = CertKey::from_pem(openssl_private_pem(made.get()), "test");
    EXPECT_EQ(read.public_der(), openssl_public_der(read.get()));
    EXPECT_EQ(read.public_der().size(), 59u);  // 26 + 33: compressed
    EXPECT_EQ(read.private_pem(), openssl_private_pem(read.get()));
}

TEST(CertKey, ReadKeyWithoutItsPublicHalfInsideIsEncodedAsItStands) {
    const CertKey made = CertKey::generate(KeyType::ecdsa_p384);
    ASSERT_EQ(EVP_PKEY_set_int_param(made.get(), OSSL_PKEY_PARAM_EC_INCLUDE_PUBLIC, 0), 1);
    const std::string without = openssl_private_pem(made.get());
    const CertKey read = CertKey::from_pem(without, "test");
    EXPECT_EQ(read.private_pem(), without);
    EXPECT_LT(without.size(), made.private_pem().size());  // made here: the public key inside
}

TEST(CertKey, RsaIsEncodedByOpenssl) {
    const CertKey key = CertKey::generate(KeyType::rsa_2048);
    EXPECT_EQ(key.private_pem(), openssl_private_pem(key.get()));
    EXPECT_EQ(key.public_der(), openssl_public_der(key.get()));
}

}  // namespace
