// See cert_key.h.
#include "issuer/certs/cert_key.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <array>
#include <stdexcept>
#include <utility>

#include "common/base64.h"
#include "issuer/certs/der.h"

namespace acmezone::issuer {
namespace {

constexpr std::array<std::pair<KeyType, std::string_view>, 5> kNames{{
    {KeyType::ecdsa_p256, "ecdsa-p256"},
    {KeyType::ecdsa_p384, "ecdsa-p384"},
    {KeyType::rsa_2048, "rsa-2048"},
    {KeyType::rsa_3072, "rsa-3072"},
    {KeyType::rsa_4096, "rsa-4096"},
}};

// An ECDSA key's curve as the DER of its OID, and the size of its scalars;
// nullopt for any other key (encoded by OpenSSL instead).
struct Curve {
    std::string_view oid;
    std::size_t scalar_bytes;
};
constexpr std::string_view kEcPublicKey{"\x2a\x86\x48\xce\x3d\x02\x01", 7};  // 1.2.840.10045.2.1
constexpr Curve kP256{{"\x2a\x86\x48\xce\x3d\x03\x01\x07", 8}, 32};          // 1.2.840.10045.3.1.7
constexpr Curve kP384{{"\x2b\x81\x04\x00\x22", 5}, 48};                      // 1.3.132.0.34

std::optional<Curve> curve_of(EVP_PKEY* key) {
    switch (key_type_of(key).value_or(KeyType::rsa_2048)) {
        case KeyType::ecdsa_p256:
            return kP256;
        case KeyType::ecdsa_p384:
            return kP384;
        default:
            return std::nullopt;
    }
}

// The public point of a key made here: uncompressed (04 || x || y), of a
// named curve, as OpenSSL makes keys; nullopt for anything else.
std::optional<std::string> ec_point(EVP_PKEY* key, const Curve& curve) {
    std::string point(1 + 2 * curve.scalar_bytes, '\0');
    std::size_t length = 0;
    if (EVP_PKEY_get_octet_string_param(key, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY,
                                        reinterpret_cast<unsigned char*>(point.data()),
                                        point.size(), &length) != 1 ||
        length != point.size() || point[0] != '\x04') {
        ERR_clear_error();
        return std::nullopt;
    }
    return point;
}

// What the hand encodings below need of a key, when they may write it: made
// here (generate()) and an ECDSA key of a named curve with its point
// uncompressed; nullopt otherwise (OpenSSL encodes it).
struct HandEncodable {
    Curve curve;
    std::string point;
};
std::optional<HandEncodable> hand_encodable(EVP_PKEY* key, bool generated) {
    if (!generated) {
        return std::nullopt;
    }
    const auto curve = curve_of(key);
    if (!curve) {
        return std::nullopt;
    }
    auto point = ec_point(key, *curve);
    if (!point) {
        return std::nullopt;
    }
    return HandEncodable{*curve, std::move(*point)};
}

std::string ec_algorithm(const Curve& curve) {
    return der::tlv(der::kSequence,
                    der::tlv(der::kOid, kEcPublicKey) + der::tlv(der::kOid, curve.oid));
}

// SubjectPublicKeyInfo (RFC 5480).
std::string ec_public_der(const Curve& curve, const std::string& point) {
    return der::tlv(der::kSequence,
                    ec_algorithm(curve) + der::tlv(der::kBitString, std::string(1, '\0') + point));
}

// A string holding key material, wiped when it goes. Filled only up to the
// capacity reserved for it: a string that grows leaves its old buffer behind.
struct Secret {
    std::string bytes;
    explicit Secret(std::size_t capacity) { bytes.reserve(capacity); }
    Secret(const Secret&) = delete;
    Secret& operator=(const Secret&) = delete;
    ~Secret() { OPENSSL_cleanse(bytes.data(), bytes.size()); }
};

// RFC 5958 OneAsymmetricKey v1 (PKCS#8) holding an RFC 5915 ECPrivateKey,
// as OpenSSL writes it: the curve in the algorithm only, the public key
// included. Every buffer that holds the private scalar is sized first and
// wiped afterwards; the PEM returned is the caller's to keep.
std::string ec_private_pem(EVP_PKEY* key, const Curve& curve, const std::string& point) {
    using der::append_header;
    using der::header_size;
    BIGNUM* raw = nullptr;
    if (EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_PRIV_KEY, &raw) != 1) {
        throw OpensslError("reading an ECDSA private key");
    }
    BignumPtr scalar(raw);
    Secret d(curve.scalar_bytes);
    d.bytes.resize(curve.scalar_bytes);
    const int written = BN_bn2binpad(scalar.get(), reinterpret_cast<unsigned char*>(d.bytes.data()),
                                     static_cast<int>(d.bytes.size()));
    BN_clear(scalar.get());
    if (written != static_cast<int>(d.bytes.size())) {
        throw OpensslError("encoding an ECDSA private key");
    }
    constexpr std::string_view kVersion0{"\x02\x01\x00", 3};  // INTEGER 0
    constexpr std::string_view kVersion1{"\x02\x01\x01", 3};  // INTEGER 1 (ecPrivkeyVer1)
    const std::string algorithm = ec_algorithm(curve);
    // Contents' sizes, innermost first.
    const std::size_t bits = 1 + point.size();  // BIT STRING: no unused bits, the point
    const std::size_t public_key = header_size(bits) + bits;  // [1] publicKey
    const std::size_t ec_private_key = kVersion1.size() + header_size(d.bytes.size()) +
                                       d.bytes.size() + header_size(public_key) + public_key;
    const std::size_t private_key = header_size(ec_private_key) + ec_private_key;
    const std::size_t info =
        kVersion0.size() + algorithm.size() + header_size(private_key) + private_key;

    Secret der(header_size(info) + info);
    append_header(der.bytes, der::kSequence, info);
    der.bytes += kVersion0;
    der.bytes += algorithm;
    append_header(der.bytes, der::kOctetString, private_key);
    append_header(der.bytes, der::kSequence, ec_private_key);
    der.bytes += kVersion1;
    append_header(der.bytes, der::kOctetString, d.bytes.size());
    der.bytes += d.bytes;
    append_header(der.bytes, 0xa1, public_key);
    append_header(der.bytes, der::kBitString, bits);
    der.bytes += '\0';
    der.bytes += point;
    if (der.bytes.size() != header_size(info) + info) {
        throw std::logic_error("PKCS#8: the sizes do not add up");
    }

    const std::string_view begin = "-----BEGIN PRIVATE KEY-----\n";
    const std::string_view end = "-----END PRIVATE KEY-----\n";
    Secret body(0);  // base64_encode() reserves the size it fills
    body.bytes = base64_encode(
        std::span(reinterpret_cast<const std::uint8_t*>(der.bytes.data()), der.bytes.size()));
    std::string pem;
    pem.reserve(begin.size() + body.bytes.size() + (body.bytes.size() + 63) / 64 + end.size());
    pem += begin;
    for (std::size_t i = 0; i < body.bytes.size(); i += 64) {
        pem.append(body.bytes, i, 64);
        pem += '\n';
    }
    pem += end;
    return pem;
}

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
    return CertKey(std::move(key), /*generated=*/true);
}

CertKey CertKey::from_pem(std::string_view pem, const std::string& origin) {
    BioPtr bio = memory_bio(pem);
    EvpPkeyPtr key(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
    if (!key) {
        throw std::runtime_error(openssl_error(origin + ": not a PEM private key"));
    }
    return CertKey(std::move(key), /*generated=*/false);
}

std::string CertKey::private_pem() const {
    if (const auto ec = hand_encodable(key_.get(), generated_)) {
        return ec_private_pem(key_.get(), ec->curve, ec->point);
    }
    BioPtr bio(BIO_new(BIO_s_mem()));
    if (!bio || PEM_write_bio_PrivateKey(bio.get(), key_.get(), nullptr, nullptr, 0, nullptr,
                                         nullptr) != 1) {
        throw OpensslError("encoding a private key");
    }
    return bio_contents(bio.get());
}

CertKey::CertKey(EvpPkeyPtr key, bool generated) : key_(std::move(key)), generated_(generated) {
    const auto ec = hand_encodable(key_.get(), generated_);
    public_der_ = ec ? ec_public_der(ec->curve, ec->point) : public_key_der(key_.get());
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
