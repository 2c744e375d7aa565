// JSON Web Signatures as ACME sends them (RFC 8555 §6.2, RFC 7515).
//
// Every ACME POST body is a flattened JWS JSON object:
//     {"protected": b64u(header), "payload": b64u(payload), "signature": b64u(sig)}
// The protected header holds "alg", "nonce", "url" and either "jwk" (only for
// newAccount) or "kid" (the account URL, everything else). A POST-as-GET
// (RFC 8555 §6.3) has the empty string as payload, not "{}".
//
// Also here, because it is the other use of the key's thumbprint: the dns-01
// TXT value, base64url(SHA-256(token "." thumbprint)) (RFC 8555 §8.1, §8.4).
#pragma once

#include <json/value.h>

#include <optional>
#include <string>

#include "issuer/acme/account_key.h"

namespace acmezone::issuer {

struct JwsRequest {
    std::string url;
    std::string nonce;
    std::optional<std::string> kid;      // nullopt: embed the public "jwk"
    std::optional<Json::Value> payload;  // nullopt: POST-as-GET (empty payload)
};

// The flattened JWS object for `request`, signed with `key`.
Json::Value jws_sign(const AccountKey& key, const JwsRequest& request);

// Compact JSON text (no white space), as sent on the wire.
std::string to_json_text(const Json::Value& value);

// The key authorization "token.thumbprint" (RFC 8555 §8.1).
std::string key_authorization(const std::string& token, const std::string& thumbprint);
// The TXT value for dns-01: base64url(SHA-256(key authorization)).
std::string dns01_txt_value(const std::string& token, const std::string& thumbprint);

}  // namespace acmezone::issuer
