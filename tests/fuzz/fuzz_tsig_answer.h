// What fuzz_tsig_answer.cpp and its seed generator (make_tsig_answers.cpp)
// share: the keys, the fixed "now" and the input's layout.
//
// Input: one octet N, then N octets: the MAC of the request the issuer sent
// as ldns holds it in TsigSigner::Signed::mac (an INT16_DATA rdf: 2-octet
// length, then the MAC; the answer's MAC covers it), then the answer as
// received (wire form).
#pragma once

#include <cstdint>

namespace acmezone::fuzz_tsig_answer {

// 2026-01-01T00:00:00Z: the generator signs the answers at it, the target
// judges them at it.
inline constexpr std::uint64_t kNow = 1767225600;

// The issuer's keys (acme-key: the zones-example secret) and the plugin's
// keyring; the generator also uses a keyring where acme-key has another
// secret (BADSIG) and a key the plugin lacks (BADKEY).
inline constexpr const char* kKeys = R"(
key "acme-key" { algorithm hmac-sha256; secret "kdrYRT+tT+aVpeSTAldk/XMzgwQHtTpMMAycoEnjmEI="; };
key "lab-key" { algorithm hmac-sha512; secret "bGFiLWtleS1zZWNyZXQtZm9yLWZ1enppbmctb25seQ=="; };
key "md5-key" { algorithm hmac-md5; secret "bWQ1LWtleS1zZWNyZXQtZm9yLWZ1enppbmc="; };
)";

}  // namespace acmezone::fuzz_tsig_answer
