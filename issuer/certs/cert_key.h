// The private key of one certificate.
//
// Every issuance makes a fresh key (never reused across renewals), of the
// configured type. The key holder owns the EVP_PKEY; what leaves it is the
// CSR signature (csr.cpp), the public key for comparisons, and the PEM text
// that the certificate store writes 0600 as privkey.pem. It is never logged.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "issuer/certs/openssl_ptr.h"

namespace acmezone::issuer {

enum class KeyType { ecdsa_p256, ecdsa_p384, rsa_2048, rsa_3072, rsa_4096 };

// "ecdsa-p256", ...
std::string_view to_string(KeyType type);
std::optional<KeyType> key_type_from_name(std::string_view name);
// "ecdsa-p256, ecdsa-p384, rsa-2048, rsa-3072, rsa-4096", for messages.
std::string key_type_names();

class CertKey {
  public:
    static CertKey generate(KeyType type);
    // Parses a PEM private key; throws std::runtime_error naming `origin`.
    static CertKey from_pem(std::string_view pem, const std::string& origin);

    // PKCS#8 PEM of the private key: for the certificate store only.
    std::string private_pem() const;
    // DER SubjectPublicKeyInfo of the public half (encoded once, when the
    // key is made or read: OpenSSL 3's encoder set-up costs more than a CSR).
    const std::string& public_der() const { return public_der_; }
    // For signing the CSR.
    EVP_PKEY* get() const { return key_.get(); }

  private:
    CertKey(EvpPkeyPtr key, bool generated);
    EvpPkeyPtr key_;
    // Made by generate(): an ECDSA key's PKCS#8 and SubjectPublicKeyInfo are
    // then written by hand (der.h), the bytes OpenSSL's encoders would write
    // for it; a key read from a file may be set otherwise (a compressed
    // point, no public key inside), so OpenSSL encodes it.
    bool generated_ = false;
    std::string public_der_;
};

// DER SubjectPublicKeyInfo of any public key.
std::string public_key_der(EVP_PKEY* key);

// The type of a (public or private) key, nullopt when it is none of ours.
std::optional<KeyType> key_type_of(EVP_PKEY* key);

}  // namespace acmezone::issuer
