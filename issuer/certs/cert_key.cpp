// See cert_key.h.
#include "issuer/certs/cert_key.h"

#include <openssl/core_names.h>
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

CertKey::CertKey(EvpPkeyPtr key) : key_(std::move(key)), public_der_(public_key_der(key_.get())) {}

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

std::optional<KeyType> key_type_of(EVP_PKEY* key) {
    if (EVP_PKEY_get_base_id(key) == EVP_PKEY_EC) {
        char group[64] = {};
        if (EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group,
                                           nullptr) != 1) {
            return std::nullopt;
        }
        const std::string g(group);
        if (g == "prime256v1" || g == "P-256") {
            return KeyType::ecdsa_p256;
        }
        if (g == "secp384r1" || g == "P-384") {
            return KeyType::ecdsa_p384;
        }
        return std::nullopt;
    }
    if (EVP_PKEY_get_base_id(key) == EVP_PKEY_RSA) {
        switch (EVP_PKEY_get_bits(key)) {
            case 2048:
                return KeyType::rsa_2048;
            case 3072:
                return KeyType::rsa_3072;
            case 4096:
                return KeyType::rsa_4096;
            default:
                return std::nullopt;
        }
    }
    return std::nullopt;
}

}  // namespace acmezone::issuer
