// `status --pins`: the SPKI pins (certs/pins.h) of every configured zone's
// current and next keys, as the operator reads them.
#pragma once

#include <ostream>

#include "issuer/cli/issuer_config.h"

namespace acmezone::issuer {

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
