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

#include <string>
#include <string_view>

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

}  // namespace acmezone::issuer
