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

// The CertificationRequestInfo (all the CSR but its signature) is byte for
// byte what OpenSSL's own X509_REQ encodes for the same key and names.
TEST_P(CsrTest, RequestInfoIsOpensslsOwn) {
    CertKey key = CertKey::generate(GetParam());
    const std::vector<DnsName> names{DnsName::parse("example.net"),
                                     DnsName::parse("example.net").child("*")};
    X509ReqPtr req(X509_REQ_new());
    ASSERT_TRUE(req);
    ASSERT_EQ(X509_REQ_set_version(req.get(), 0), 1);
    ASSERT_EQ(X509_NAME_add_entry_by_txt(X509_REQ_get_subject_name(req.get()), "CN", MBSTRING_UTF8,
                                         reinterpret_cast<const unsigned char*>("example.net"), -1,
                                         -1, 0),
              1);
    ASSERT_EQ(X509_REQ_set_pubkey(req.get(), key.get()), 1);
    X509ExtensionPtr ext(X509V3_EXT_conf_nid(nullptr, nullptr, NID_subject_alt_name,
                                             "DNS:example.net,DNS:*.example.net"));
    ASSERT_TRUE(ext);
    STACK_OF(X509_EXTENSION)* exts = sk_X509_EXTENSION_new_null();
    ASSERT_NE(sk_X509_EXTENSION_push(exts, ext.get()), 0);
    ASSERT_EQ(X509_REQ_add_extensions(req.get(), exts), 1);
    sk_X509_EXTENSION_free(exts);
    unsigned char* tbs = nullptr;
    const int tbs_len = i2d_re_X509_REQ_tbs(req.get(), &tbs);
    ASSERT_GT(tbs_len, 0);
    const std::string openssl_info(reinterpret_cast<char*>(tbs), static_cast<std::size_t>(tbs_len));
    OPENSSL_free(tbs);

    const std::string der = make_csr_der(key, names);
    const std::size_t at = der.find(openssl_info);
    ASSERT_NE(at, std::string::npos) << "the request info differs from OpenSSL's";
    EXPECT_LE(at, 4u);  // right after the outer SEQUENCE's tag and length
}

// A first name longer than ub-common-name (64) stays out of the subject,
// which OpenSSL refuses to hold; the SANs carry it.
TEST_P(CsrTest, LongNameOnlyInSubjectAltName) {
    CertKey key = CertKey::generate(GetParam());
    const DnsName zone =
        DnsName::parse(std::string(40, 'a') + "." + std::string(40, 'b') + ".test");
    X509ReqPtr req = parse_der(make_csr_der(key, {zone, zone.child("*")}));
    ASSERT_TRUE(req);
    EXPECT_EQ(X509_NAME_entry_count(X509_REQ_get_subject_name(req.get())), 0);
    EXPECT_EQ(sans(req.get()), (std::vector<std::string>{"*." + zone.text(), zone.text()}));
    EXPECT_EQ(X509_REQ_verify(req.get(), X509_REQ_get0_pubkey(req.get())), 1);
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
