// See pins.h.
#include "issuer/certs/pins.h"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <array>
#include <cstdint>
#include <stdexcept>

#include "common/base64.h"
#include "issuer/certs/cert_key.h"
#include "issuer/certs/openssl_ptr.h"

namespace acmezone::issuer {

SpkiPin spki_pin(std::string_view public_key_der) {
    std::array<std::uint8_t, EVP_MAX_MD_SIZE> md{};
    unsigned int len = 0;
    if (EVP_Digest(public_key_der.data(), public_key_der.size(), md.data(), &len, EVP_sha256(),
                   nullptr) != 1 ||
        len != 32) {
        throw OpensslError("SHA-256 of a public key");
    }
    SpkiPin pin;
    pin.base64 = base64_encode(std::span<const std::uint8_t>(md.data(), len));
    static constexpr char kHex[] = "0123456789abcdef";
    for (unsigned int i = 0; i < len; ++i) {
        pin.hex += kHex[md[i] >> 4];
        pin.hex += kHex[md[i] & 0xf];
    }
    return pin;
}

SpkiPin spki_pin_of_pem(std::string_view pem, const std::string& origin) {
    if (pem.find("-----BEGIN CERTIFICATE-----") != std::string_view::npos &&
        pem.find("-----BEGIN CERTIFICATE-----") < pem.find("PRIVATE KEY-----")) {
        BioPtr bio = memory_bio(pem);
        X509Ptr cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
        if (!cert) {
            throw std::runtime_error(openssl_error(origin + ": not a PEM certificate"));
        }
        return spki_pin(public_key_der(X509_get0_pubkey(cert.get())));
    }
    return spki_pin(CertKey::from_pem(pem, origin).public_der());
}

}  // namespace acmezone::issuer
