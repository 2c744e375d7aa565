// See jws.h.
#include "issuer/acme/jws.h"

#include <json/writer.h>
#include <openssl/sha.h>

#include <memory>
#include <sstream>

#include "common/base64.h"

namespace acmezone::issuer {

std::string to_json_text(const Json::Value& value) {
    // One writer a thread, made once: making one (its settings are a
    // Json::Value, read back) cost more than writing a JWS with it.
    thread_local const std::unique_ptr<Json::StreamWriter> writer = [] {
        Json::StreamWriterBuilder builder;
        builder["indentation"] = "";
        builder["emitUTF8"] = true;
        return std::unique_ptr<Json::StreamWriter>(builder.newStreamWriter());
    }();
    std::ostringstream out;
    writer->write(value, &out);
    return std::move(out).str();
}

Json::Value jws_sign(const AccountKey& key, const JwsRequest& request) {
    Json::Value header(Json::objectValue);
    header["alg"] = AccountKey::algorithm();
    header["nonce"] = request.nonce;
    header["url"] = request.url;
    if (request.kid) {
        header["kid"] = *request.kid;
    } else {
        header["jwk"] = key.public_jwk();
    }
    const std::string protected_b64 = base64url_encode(to_json_text(header));
    const std::string payload_b64 =
        request.payload ? base64url_encode(to_json_text(*request.payload)) : std::string();
    const std::string signature = key.sign(protected_b64 + "." + payload_b64);

    Json::Value jws(Json::objectValue);
    jws["protected"] = protected_b64;
    jws["payload"] = payload_b64;
    jws["signature"] = base64url_encode(signature);
    return jws;
}

std::string key_authorization(const std::string& token, const std::string& thumbprint) {
    return token + "." + thumbprint;
}

std::string dns01_txt_value(const std::string& token, const std::string& thumbprint) {
    const std::string auth = key_authorization(token, thumbprint);
    unsigned char digest[SHA256_DIGEST_LENGTH];
    SHA256(reinterpret_cast<const unsigned char*>(auth.data()), auth.size(), digest);
    return base64url_encode(std::string_view(reinterpret_cast<const char*>(digest), sizeof digest));
}

}  // namespace acmezone::issuer
