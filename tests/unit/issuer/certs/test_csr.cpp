// CSRs: parse back with OpenSSL, self-signature verifies, SANs are exactly the names.
#include <gtest/gtest.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <algorithm>

#include "issuer/certs/cert_key.h"
#include "issuer/certs/csr.h"

using namespace acmezone;
using namespace acmezone::issuer;

namespace {

X509ReqPtr parse_der(const std::string& der) {
    const auto* p = reinterpret_cast<const unsigned char*>(der.data());
    return X509ReqPtr(d2i_X509_REQ(nullptr, &p, static_cast<long>(der.size())));
}

std::vector<std::string> sans(X509_REQ* req) {
    std::vector<std::string> out;
    using ExtStack = STACK_OF(X509_EXTENSION);
    ExtStack* exts = X509_REQ_get_extensions(req);
    for (int i = 0; exts != nullptr && i < sk_X509_EXTENSION_num(exts); ++i) {
        X509_EXTENSION* ext = sk_X509_EXTENSION_value(exts, i);
        if (OBJ_obj2nid(X509_EXTENSION_get_object(ext)) != NID_subject_alt_name) {
            continue;
        }
        GeneralNamesPtr names(static_cast<GENERAL_NAMES*>(X509V3_EXT_d2i(ext)));
        for (int j = 0; j < sk_GENERAL_NAME_num(names.get()); ++j) {
            const GENERAL_NAME* gn = sk_GENERAL_NAME_value(names.get(), j);
            EXPECT_EQ(gn->type, GEN_DNS);
            out.emplace_back(reinterpret_cast<const char*>(ASN1_STRING_get0_data(gn->d.dNSName)),
                             static_cast<std::size_t>(ASN1_STRING_length(gn->d.dNSName)));
        }
    }
    sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
    std::sort(out.begin(), out.end());
    return out;
}

}  // namespace

class CsrTest : public ::testing::TestWithParam<KeyType> {};

TEST_P(CsrTest, NamesAndSignature) {
    CertKey key = CertKey::generate(GetParam());
    const std::vector<DnsName> names{DnsName::parse("Example.COM"),
                                     DnsName::parse("example.com").child("*")};
    X509ReqPtr req = parse_der(make_csr_der(key, names));
    ASSERT_TRUE(req);
    EXPECT_EQ(sans(req.get()), (std::vector<std::string>{"*.example.com", "example.com"}));
    EVP_PKEY* pub = X509_REQ_get0_pubkey(req.get());
    ASSERT_NE(pub, nullptr);
    EXPECT_EQ(X509_REQ_verify(req.get(), pub), 1);
    EXPECT_EQ(public_key_der(pub), key.public_der());
    // A different key does not verify the CSR (so the check above can fail).
    CertKey other = CertKey::generate(KeyType::ecdsa_p256);
    EXPECT_NE(X509_REQ_verify(req.get(), other.get()), 1);
    char cn[256] = {};
    X509_NAME_get_text_by_NID(X509_REQ_get_subject_name(req.get()), NID_commonName, cn, sizeof cn);
    EXPECT_STREQ(cn, "example.com");
}

INSTANTIATE_TEST_SUITE_P(KeyTypes, CsrTest,
                         ::testing::Values(KeyType::ecdsa_p256, KeyType::ecdsa_p384,
                                           KeyType::rsa_2048));

TEST(Csr, NoNamesIsAnError) {
    CertKey key = CertKey::generate(KeyType::ecdsa_p256);
    EXPECT_THROW((void)make_csr_der(key, {}), std::invalid_argument);
}

TEST(CertKey, TypesByNameAndPemRoundTrip) {
    EXPECT_EQ(key_type_from_name("rsa-3072"), KeyType::rsa_3072);
    EXPECT_EQ(key_type_from_name("ecdsa-p384"), KeyType::ecdsa_p384);
    EXPECT_FALSE(key_type_from_name("ed25519").has_value());
    EXPECT_EQ(to_string(KeyType::ecdsa_p256), "ecdsa-p256");
    CertKey key = CertKey::generate(KeyType::ecdsa_p384);
    const std::string pem = key.private_pem();
    EXPECT_NE(pem.find("BEGIN PRIVATE KEY"), std::string::npos);
    EXPECT_EQ(CertKey::from_pem(pem, "t").public_der(), key.public_der());
    EXPECT_THROW((void)CertKey::from_pem("junk", "t"), std::runtime_error);
}
