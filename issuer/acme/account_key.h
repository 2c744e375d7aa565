// The ACME account key: the one component that holds it.
//
// RFC 8555 §6.2 signs every request with the account key; acmezone uses
// ES256 (ECDSA P-256 with SHA-256, RFC 7518 §3.4). Like OpenBSD
// acme-client's separate signer process, this class is the only code that
// touches the private key: the JWS, HTTP and JSON code get signatures, the
// public JWK and its thumbprint, never key material.
//
// On disk the key is a PKCS#8 PEM file, created 0600 from its first byte
// (write_file_atomic with O_CREAT|O_EXCL, then link()ed into place, so that
// a key already there is never replaced). An existing file that group or
// others may read is refused, as is a key of another type.
//
// Immutable after construction, so thread-safe: every zone in flight signs
// with the same AccountKey concurrently.
#pragma once

#include <json/value.h>

#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include "issuer/certs/openssl_ptr.h"

namespace acmezone::issuer {

class AccountKey {
  public:
    // Loads `path`, or when it does not exist generates a new P-256 key and
    // writes it there (0600). Throws std::runtime_error naming the path.
    static AccountKey load_or_create(const std::filesystem::path& path);
    // A fresh key that lives only in memory (tests).
    static AccountKey generate();
    // Parses a PEM private key; throws when it is not an EC P-256 key.
    static AccountKey from_pem(std::string_view pem, const std::string& origin);

    // "ES256", the JWS "alg".
    static constexpr const char* algorithm() { return "ES256"; }
    // JWS signature of `signing_input`: R || S, 32 octets each (RFC 7518 §3.4).
    std::string sign(std::string_view signing_input) const;
    // {"crv":"P-256","kty":"EC","x":...,"y":...}
    Json::Value public_jwk() const;
    // RFC 7638 thumbprint: base64url(SHA-256(canonical JWK)).
    std::string thumbprint() const;

  private:
    explicit AccountKey(EvpPkeyPtr key);
    std::shared_ptr<EVP_PKEY> key_;
    std::string x_, y_;  // base64url public coordinates
};

}  // namespace acmezone::issuer
