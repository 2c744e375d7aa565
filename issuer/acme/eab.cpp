// See eab.h. HMAC-SHA256 with OpenSSL 3's EVP_MAC interface.
#include "issuer/acme/eab.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <stdexcept>

#include "common/base64.h"
#include "common/file_io.h"
#include "issuer/acme/jws.h"
#include "issuer/certs/openssl_ptr.h"

namespace acmezone::issuer {

EabKey::EabKey(std::string kid, std::vector<unsigned char> mac_key)
    : kid_(std::move(kid)), mac_key_(std::move(mac_key)) {
    if (kid_.empty() || mac_key_.empty()) {
        throw std::invalid_argument("EAB: the key identifier and the MAC key must not be empty");
    }
}

EabKey::~EabKey() {
    OPENSSL_cleanse(mac_key_.data(), mac_key_.size());
}

EabKey EabKey::load(std::string kid, const std::filesystem::path& path) {
    std::string text = read_private_file(path, "EAB key file");
    const auto first = text.find_first_not_of(" \t\r\n");
    const auto last = text.find_last_not_of(" \t\r\n=");
    std::string word =
        first == std::string::npos ? std::string() : text.substr(first, last - first + 1);
    OPENSSL_cleanse(text.data(), text.size());
    auto raw = base64url_decode(word);
    const bool bad = !raw || raw->empty() || word.find_first_of(" \t\r\n") != std::string::npos;
    OPENSSL_cleanse(word.data(), word.size());
    if (bad) {
        if (raw) {
            OPENSSL_cleanse(raw->data(), raw->size());
        }
        throw std::runtime_error("EAB key file " + path.string() +
                                 ": expected the MAC key as one base64url word, as the CA gave it");
    }
    std::vector<unsigned char> key(raw->begin(), raw->end());
    OPENSSL_cleanse(raw->data(), raw->size());
    return EabKey(std::move(kid), std::move(key));
}

Json::Value EabKey::bind(const Json::Value& account_jwk, const std::string& new_account_url) const {
    Json::Value header(Json::objectValue);
    header["alg"] = "HS256";
    header["kid"] = kid_;
    header["url"] = new_account_url;
    const std::string protected_b64 = base64url_encode(to_json_text(header));
    const std::string payload_b64 = base64url_encode(to_json_text(account_jwk));
    const std::string input = protected_b64 + "." + payload_b64;

    unsigned char mac[EVP_MAX_MD_SIZE];
    std::size_t mac_len = 0;
    if (EVP_Q_mac(nullptr, "HMAC", nullptr, "SHA256", nullptr, mac_key_.data(), mac_key_.size(),
                  reinterpret_cast<const unsigned char*>(input.data()), input.size(), mac,
                  sizeof mac, &mac_len) == nullptr) {
        throw OpensslError("EAB: HMAC-SHA256");
    }
    Json::Value jws(Json::objectValue);
    jws["protected"] = protected_b64;
    jws["payload"] = payload_b64;
    jws["signature"] =
        base64url_encode(std::string_view(reinterpret_cast<const char*>(mac), mac_len));
    return jws;
}

}  // namespace acmezone::issuer
