// SPKI pins: the SHA-256 of a key's DER SubjectPublicKeyInfo.
//
// The same digest is what HPKP-style pinning takes (base64, RFC 7469
// "pin-sha256") and what a TLSA record of usage 3, selector 1, matching
// type 1 carries (hex, RFC 6698 "3 1 1"). `status --pins` prints both for
// the current key and the next one of each certificate, so that a key roll
// can be announced (a TLSA record published) before it happens.
//
// Computes only from the public half: nothing here sees a private key's
// secret parts.
#pragma once

#include <ostream>
#include <string>
#include <string_view>

#include "issuer/issuer_config.h"

namespace acmezone::issuer {

struct SpkiPin {
    std::string base64;  // base64 (padded) of the SHA-256, 44 characters
    std::string hex;     // the same 32 bytes in lower-case hex, 64 characters
};

// The pin of a DER SubjectPublicKeyInfo (see CertKey::public_der()).
SpkiPin spki_pin(std::string_view public_key_der);

// The pin of the public key in a PEM private key or certificate: the first
// PEM block of `pem` decides. Throws std::runtime_error naming `origin`.
SpkiPin spki_pin_of_pem(std::string_view pem, const std::string& origin);

// `status --pins`: for every configured zone and key type, the pin of the
// current certificate's key and of the next key (with next-key = yes), as a
// table or, with `json`, an array of
//   {"zone": "example.com", "key_type": "ecdsa-p256",
//    "current": {"sha256_base64": "...", "sha256_hex": "..."} or null,
//    "next": {...} or null}
// Returns 0 when every zone has a current pin for every key type (and a next
// one when next-key = yes), else 1. A file that does not parse is reported
// on stderr and counts as missing.
int print_pins(const IssuerConfig& config, bool json, std::ostream& out);

}  // namespace acmezone::issuer
