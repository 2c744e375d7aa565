// See ari.h.
#include "issuer/acme/ari.h"

#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <algorithm>

#include "common/base64.h"
#include "common/utc_time.h"
#include "issuer/certs/openssl_ptr.h"

namespace acmezone::issuer {

std::string ari_cert_id(std::string_view pem) {
    BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
    if (!bio) {
        throw AriError("certID: out of memory");
    }
    X509Ptr cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
    if (!cert) {
        throw AriError("certID: the certificate does not parse");
    }
    return ari_cert_id(cert.get());
}

std::string ari_cert_id(X509* cert) {
    const ASN1_OCTET_STRING* aki = X509_get0_authority_key_id(cert);
    if (aki == nullptr || ASN1_STRING_length(aki) <= 0) {
        throw AriError("certID: the certificate has no Authority Key Identifier keyIdentifier");
    }
    const std::string key_id(reinterpret_cast<const char*>(ASN1_STRING_get0_data(aki)),
                             static_cast<std::size_t>(ASN1_STRING_length(aki)));
    // The serial's DER encoding: 02 <length> <content>; certID wants the content.
    const ASN1_INTEGER* serial = X509_get0_serialNumber(cert);
    unsigned char* der = nullptr;
    const int der_len = i2d_ASN1_INTEGER(serial, &der);
    if (der_len <= 2 || der == nullptr) {
        OPENSSL_free(der);
        throw AriError("certID: the serial number does not encode");
    }
    const std::string der_text(reinterpret_cast<const char*>(der),
                               static_cast<std::size_t>(der_len));
    OPENSSL_free(der);
    // Skip the tag and the length (short form, or long form 0x8N + N bytes).
    std::size_t header = 2;
    const auto first_len = static_cast<unsigned char>(der_text[1]);
    if (first_len & 0x80) {
        header += first_len & 0x7f;
    }
    if (header >= der_text.size()) {
        throw AriError("certID: the serial number does not encode");
    }
    return base64url_encode(key_id) + "." + base64url_encode(der_text.substr(header));
}

RenewalInfo parse_renewal_info(const Json::Value& doc) {
    if (!doc.isObject() || !doc["suggestedWindow"].isObject()) {
        throw AriError("renewalInfo: the CA's answer has no \"suggestedWindow\" object");
    }
    const Json::Value& w = doc["suggestedWindow"];
    auto time_of = [&](const char* key) {
        const Json::Value& v = w[key];
        auto t = v.isString() ? parse_utc(v.asString()) : std::nullopt;
        if (!t) {
            throw AriError(std::string("renewalInfo: suggestedWindow.") + key +
                           " is not an RFC 3339 UTC time");
        }
        return *t;
    };
    RenewalInfo info;
    info.window_start = time_of("start");
    info.window_end = time_of("end");
    if (info.window_end < info.window_start) {
        throw AriError("renewalInfo: suggestedWindow ends (" + format_utc(info.window_end) +
                       ") before it starts (" + format_utc(info.window_start) + ")");
    }
    if (doc["explanationURL"].isString()) {
        info.explanation_url = doc["explanationURL"].asString();
    }
    return info;
}

std::chrono::seconds ari_repoll_interval(std::optional<std::chrono::seconds> retry_after) {
    using namespace std::chrono_literals;
    if (!retry_after) {
        return 6h;
    }
    return std::clamp<std::chrono::seconds>(*retry_after, 60s, 24h);
}

}  // namespace acmezone::issuer
