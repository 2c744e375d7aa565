// See cert_key.h.
#include "issuer/cert_key.h"

#include <openssl/pem.h>
#include <openssl/x509.h>

#include <array>
#include <stdexcept>
#include <utility>

namespace acmezone::issuer {
namespace {

constexpr std::array<std::pair<KeyType, std::string_view>, 5> kNames{{
    {KeyType::ecdsa_p256, "ecdsa-p256"},
    {KeyType::ecdsa_p384, "ecdsa-p384"},
    {KeyType::rsa_2048, "rsa-2048"},
    {KeyType::rsa_3072, "rsa-3072"},
    {KeyType::rsa_4096, "rsa-4096"},
}};

}  // namespace

std::string_view to_string(KeyType type) {
    for (const auto& [t, name] : kNames) {
        if (t == type) {
            return name;
        }
    }
    return "?";
}

std::optional<KeyType> key_type_from_name(std::string_view name) {
    for (const auto& [t, n] : kNames) {
        if (n == name) {
            return t;
        }
    }
    return std::nullopt;
}

std::string key_type_names() {
    std::string out;
    for (const auto& [t, n] : kNames) {
        out += out.empty() ? "" : ", ";
        out += n;
    }
    return out;
}

CertKey CertKey::generate(KeyType type) {
    EVP_PKEY* raw = nullptr;
    switch (type) {
        case KeyType::ecdsa_p256:
            raw = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
            break;
        case KeyType::ecdsa_p384:
            raw = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-384");
            break;
        case KeyType::rsa_2048:
            raw = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<std::size_t>(2048));
            break;
        case KeyType::rsa_3072:
            raw = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<std::size_t>(3072));
            break;
        case KeyType::rsa_4096:
            raw = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<std::size_t>(4096));
            break;
    }
    EvpPkeyPtr key(raw);
    if (!key) {
        throw OpensslError("generating a " + std::string(to_string(type)) + " key");
    }
    return CertKey(std::move(key));
}

CertKey CertKey::from_pem(std::string_view pem, const std::string& origin) {
    BioPtr bio = memory_bio(pem);
    EvpPkeyPtr key(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
    if (!key) {
        throw std::runtime_error(openssl_error(origin + ": not a PEM private key"));
    }
    return CertKey(std::move(key));
}

std::string CertKey::private_pem() const {
    BioPtr bio(BIO_new(BIO_s_mem()));
    if (!bio || PEM_write_bio_PrivateKey(bio.get(), key_.get(), nullptr, nullptr, 0, nullptr,
                                         nullptr) != 1) {
        throw OpensslError("encoding a private key");
    }
    return bio_contents(bio.get());
}

std::string CertKey::public_der() const {
    return public_key_der(key_.get());
}

std::string public_key_der(EVP_PKEY* key) {
    unsigned char* der = nullptr;
    int len = i2d_PUBKEY(key, &der);
    if (len <= 0) {
        throw OpensslError("encoding a public key");
    }
    std::string out(reinterpret_cast<char*>(der), static_cast<std::size_t>(len));
    OPENSSL_free(der);
    return out;
}

}  // namespace acmezone::issuer
