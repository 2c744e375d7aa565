// See account_key.h. ES256 with OpenSSL 3's EVP interface: EVP_DigestSign
// yields a DER ECDSA-Sig-Value, which JWS wants as fixed-width R || S.
#include "issuer/acme/account_key.h"

#include <openssl/core_names.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <sys/stat.h>
#include <unistd.h>

#include <random>
#include <stdexcept>
#include <system_error>
#include <vector>

#include "common/base64.h"
#include "common/file_io.h"

namespace acmezone::issuer {
namespace {

constexpr std::size_t kCoordinateSize = 32;  // P-256

std::string fixed_width(const BIGNUM* bn) {
    std::string out(kCoordinateSize, '\0');
    if (BN_bn2binpad(bn, reinterpret_cast<unsigned char*>(out.data()),
                     static_cast<int>(kCoordinateSize)) < 0) {
        throw OpensslError("BN_bn2binpad");
    }
    return out;
}

std::string coordinate(const EVP_PKEY* key, const char* param) {
    BIGNUM* raw = nullptr;
    if (EVP_PKEY_get_bn_param(key, param, &raw) != 1) {
        throw OpensslError(std::string("account key: reading ") + param);
    }
    BignumPtr bn(raw);
    return base64url_encode(fixed_width(bn.get()));
}

bool is_p256(const EVP_PKEY* key) {
    if (EVP_PKEY_get_base_id(key) != EVP_PKEY_EC) {
        return false;
    }
    char group[64] = {};
    std::size_t len = 0;
    if (EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group,
                                       &len) != 1) {
        return false;
    }
    return std::string_view(group, len) == "prime256v1" || std::string_view(group, len) == "P-256";
}

EvpPkeyPtr generate_p256() {
    EvpPkeyPtr key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
    if (!key) {
        throw OpensslError("account key: generating a P-256 key");
    }
    return key;
}

std::string to_pem(EVP_PKEY* key) {
    BioPtr bio(BIO_new(BIO_s_mem()));
    if (!bio ||
        PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr) != 1) {
        throw OpensslError("account key: encoding PEM");
    }
    return bio_contents(bio.get());
}

}  // namespace

AccountKey::AccountKey(EvpPkeyPtr key) : key_(key.release(), EVP_PKEY_free) {
    x_ = coordinate(key_.get(), OSSL_PKEY_PARAM_EC_PUB_X);
    y_ = coordinate(key_.get(), OSSL_PKEY_PARAM_EC_PUB_Y);
}

AccountKey AccountKey::generate() {
    return AccountKey(generate_p256());
}

AccountKey AccountKey::from_pem(std::string_view pem, const std::string& origin) {
    BioPtr bio = memory_bio(pem);
    EvpPkeyPtr key(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
    if (!key) {
        throw std::runtime_error(openssl_error(origin + ": not a PEM private key"));
    }
    if (!is_p256(key.get())) {
        throw std::runtime_error(origin +
                                 ": the account key must be an EC P-256 key (ES256); move it away "
                                 "to have a new one created");
    }
    return AccountKey(std::move(key));
}

namespace {

// 0600, a regular file, not a symlink: read_private_file checks the open file.
AccountKey load_existing(const std::filesystem::path& path) {
    return AccountKey::from_pem(read_private_file(path, "account key"), path.string());
}

}  // namespace

AccountKey AccountKey::load_or_create(const std::filesystem::path& path) {
    struct stat st {};
    if (::lstat(path.c_str(), &st) == 0) {
        return load_existing(path);
    }
    if (errno != ENOENT) {
        throw std::system_error(errno, std::generic_category(), path.string());
    }
    // Written complete under a private name, then link()ed into place: link
    // never replaces an existing file, so when two issuers start at once the
    // second one finds the first one's key instead of overwriting it.
    EvpPkeyPtr key = generate_p256();
    const std::filesystem::path tmp =
        path.parent_path() / (path.filename().string() + ".new-" + std::to_string(::getpid()) +
                              "-" + std::to_string(std::random_device{}()));
    write_file_atomic(tmp, to_pem(key.get()), 0600);
    const int rc = ::link(tmp.c_str(), path.c_str());
    const int saved = errno;
    ::unlink(tmp.c_str());
    if (rc != 0) {
        if (saved == EEXIST && ::lstat(path.c_str(), &st) == 0) {
            return load_existing(path);  // another process won the race: use its key
        }
        throw std::system_error(saved, std::generic_category(), "creating " + path.string());
    }
    fsync_directory(path.parent_path().empty() ? std::filesystem::path(".") : path.parent_path());
    return AccountKey(std::move(key));
}

std::string AccountKey::sign(std::string_view signing_input) const {
    // SHA-256, then ECDSA with a signing context made once a thread for this
    // key: OpenSSL 3 looks the algorithms up again on every
    // EVP_DigestSignInit, which cost a third of each signature. The context
    // holds a reference to the key, so the address it is found by stays ours.
    thread_local EvpPkeyCtxPtr ctx;
    thread_local const EVP_PKEY* ctx_key = nullptr;
    if (!ctx || ctx_key != key_.get()) {
        EvpPkeyCtxPtr fresh(EVP_PKEY_CTX_new_from_pkey(nullptr, key_.get(), nullptr));
        if (!fresh || EVP_PKEY_sign_init(fresh.get()) != 1) {
            throw OpensslError("ES256: EVP_PKEY_sign_init");
        }
        ctx = std::move(fresh);
        ctx_key = key_.get();
    }
    unsigned char digest[SHA256_DIGEST_LENGTH];
    SHA256(reinterpret_cast<const unsigned char*>(signing_input.data()), signing_input.size(),
           digest);
    unsigned char der[128];  // an ECDSA-Sig-Value for P-256 is at most 72 octets
    std::size_t der_len = sizeof der;
    if (EVP_PKEY_sign(ctx.get(), der, &der_len, digest, sizeof digest) != 1) {
        ctx.reset();  // made again next time
        throw OpensslError("ES256: EVP_PKEY_sign");
    }
    const unsigned char* p = der;
    EcdsaSigPtr sig(d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der_len)));
    if (!sig) {
        throw OpensslError("ES256: decoding the signature");
    }
    return fixed_width(ECDSA_SIG_get0_r(sig.get())) + fixed_width(ECDSA_SIG_get0_s(sig.get()));
}

Json::Value AccountKey::public_jwk() const {
    Json::Value jwk(Json::objectValue);
    jwk["crv"] = "P-256";
    jwk["kty"] = "EC";
    jwk["x"] = x_;
    jwk["y"] = y_;
    return jwk;
}

std::string AccountKey::thumbprint() const {
    // RFC 7638 §3.2: required members only, lexicographic order, no white space.
    const std::string canonical =
        R"({"crv":"P-256","kty":"EC","x":")" + x_ + R"(","y":")" + y_ + R"("})";
    unsigned char digest[SHA256_DIGEST_LENGTH];
    SHA256(reinterpret_cast<const unsigned char*>(canonical.data()), canonical.size(), digest);
    return base64url_encode(std::string_view(reinterpret_cast<const char*>(digest), sizeof digest));
}

}  // namespace acmezone::issuer
