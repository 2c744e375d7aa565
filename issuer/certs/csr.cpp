// See csr.h.
//
// The CSR is written as DER here, not built with X509_REQ: OpenSSL 3's
// X509_REQ_set_pubkey() encodes the key and decodes it again through its
// provider encoder and decoder, whose set-up alone costs more than the rest
// of a CSR; the key's SubjectPublicKeyInfo is at hand (CertKey::public_der).
// Only the signature is OpenSSL's. tests/unit/issuer/certs/test_csr.cpp reads
// every CSR back with OpenSSL and verifies it.
#include "issuer/certs/csr.h"

#include <openssl/evp.h>

#include <stdexcept>
#include <string_view>

#include "issuer/certs/der.h"

namespace acmezone::issuer {
namespace {

using der::kBitString;
using der::kInteger;
using der::kNull;
using der::kOctetString;
using der::kOid;
using der::kSequence;
using der::kSet;
using der::kUtf8String;
using der::tlv;
constexpr unsigned char kAttributes = 0xa0;  // [0] IMPLICIT SET OF Attribute
constexpr unsigned char kDnsName = 0x82;     // GeneralName [2] IMPLICIT IA5String

// OID contents.
constexpr std::string_view kCommonName{"\x55\x04\x03", 3};      // 2.5.4.3
constexpr std::string_view kSubjectAltName{"\x55\x1d\x11", 3};  // 2.5.29.17
constexpr std::string_view kExtensionRequest{"\x2a\x86\x48\x86\xf7\x0d\x01\x09\x0e", 9};  // PKCS#9
constexpr std::string_view kEcdsaWithSha256{"\x2a\x86\x48\xce\x3d\x04\x03\x02", 8};
constexpr std::string_view kSha256WithRsa{"\x2a\x86\x48\x86\xf7\x0d\x01\x01\x0b", 9};

// RFC 5280's ub-common-name: a longer first name is left out of the subject
// (the names are in subjectAltName, which is all an ACME CA reads).
constexpr std::size_t kMaxCommonName = 64;

std::string signature_algorithm(EVP_PKEY* key) {
    if (EVP_PKEY_get_base_id(key) == EVP_PKEY_EC) {
        return tlv(kSequence, tlv(kOid, kEcdsaWithSha256));
    }
    if (EVP_PKEY_get_base_id(key) == EVP_PKEY_RSA) {
        return tlv(kSequence, tlv(kOid, kSha256WithRsa) + tlv(kNull, ""));
    }
    throw std::invalid_argument("CSR: the key is neither ECDSA nor RSA");
}

std::string sign_sha256(EVP_PKEY* key, std::string_view data) {
    using MdCtxPtr = std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)>;
    MdCtxPtr ctx(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
    const auto* in = reinterpret_cast<const unsigned char*>(data.data());
    std::size_t length = 0;
    if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key) != 1 ||
        EVP_DigestSign(ctx.get(), nullptr, &length, in, data.size()) != 1) {
        throw OpensslError("CSR: signing");
    }
    std::string signature(length, '\0');
    if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(signature.data()), &length, in,
                       data.size()) != 1) {
        throw OpensslError("CSR: signing");
    }
    signature.resize(length);
    return signature;
}

}  // namespace

std::string make_csr_der(const CertKey& key, const std::vector<DnsName>& names) {
    if (names.empty()) {
        throw std::invalid_argument("a CSR needs at least one name");
    }
    const std::string cn = names.front().text();
    const std::string subject =
        cn.size() <= kMaxCommonName
            ? tlv(kSequence,
                  tlv(kSet, tlv(kSequence, tlv(kOid, kCommonName) + tlv(kUtf8String, cn))))
            : tlv(kSequence, "");

    std::string general_names;
    for (const DnsName& n : names) {
        general_names += tlv(kDnsName, n.text());
    }
    const std::string san_extension = tlv(
        kSequence, tlv(kOid, kSubjectAltName) + tlv(kOctetString, tlv(kSequence, general_names)));
    const std::string extension_request =
        tlv(kSequence, tlv(kOid, kExtensionRequest) + tlv(kSet, tlv(kSequence, san_extension)));

    // CertificationRequestInfo (RFC 2986 §4.1): version 0 (v1).
    const std::string info =
        tlv(kSequence, tlv(kInteger, std::string(1, '\0')) + subject + key.public_der() +
                           tlv(kAttributes, extension_request));
    const std::string algorithm = signature_algorithm(key.get());
    return tlv(kSequence, info + algorithm +
                              tlv(kBitString, std::string(1, '\0') + sign_sha256(key.get(), info)));
}

}  // namespace acmezone::issuer
