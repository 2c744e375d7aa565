// What the issuer checks before it stores a certificate, and what `status`
// reads back.
//
// check_certificate() refuses (throws CertCheckError with the reason) unless:
//   - the PEM chain parses and holds a leaf and at least one more certificate
//     is optional: a chain of one is accepted when it verifies;
//   - the leaf's public key is the one we generated;
//   - the leaf's DNS SANs are exactly the expected names (no more, no fewer;
//     case-insensitive; any IP or other SAN is an error);
//   - the leaf verifies up the chain: with a trust store, to one of its
//     roots; without, to the last certificate of the chain (its issuer
//     relation and signatures, partial chains allowed), since the CA's root
//     is not always in the chain it sends;
//   - the leaf is inside its validity period now.
// So a broken answer from the CA never replaces a working certificate.
#pragma once

#include <chrono>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <openssl/types.h>

#include "common/dns_name.h"
#include "issuer/certs/openssl_ptr.h"

namespace acmezone::issuer {

class CertCheckError : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

// Validity times are clamped to 1970..2200 (a notAfter of 9999, which RFC
// 5280 uses for "no expiry", reads as 2200).
struct CertInfo {
    std::vector<std::string> dns_names;  // the leaf's DNS SANs, lower-case, sorted
    std::chrono::system_clock::time_point not_before;
    std::chrono::system_clock::time_point not_after;
    std::string serial_hex;
    std::string issuer;  // one-line issuer DN
};

// The PEM blocks of a chain, in order ("-----BEGIN CERTIFICATE-----"... each
// with its trailing newline). Throws CertCheckError when there is none.
std::vector<std::string> split_pem_chain(std::string_view pem);

// Reads the leaf (the first certificate) of `pem`; throws CertCheckError.
CertInfo read_certificate(std::string_view pem);
// The same of a certificate parsed already.
CertInfo read_certificate(X509* leaf);

// One PEM certificate block (as split_pem_chain() gives them), parsed;
// throws CertCheckError. The last one a thread parsed is kept, so the same
// leaf asked for again in a row is not parsed again (OpenSSL 3 spends most of
// a millisecond on one): the caller must not modify it.
X509Ptr parse_leaf(const std::string& pem);

// The issuer's common name (CN) of the topmost (last) certificate of a PEM
// chain: the root a chain leads to, the name preferred-chain matches. "" when
// that issuer has no CN. Throws CertCheckError when the chain does not parse.
std::string chain_top_issuer_cn(std::string_view pem);

// Checks as described above; returns the leaf's info.
// `public_key_der`: DER SubjectPublicKeyInfo the leaf must carry.
// `trust_file`: optional PEM file of trusted roots.
CertInfo check_certificate(std::string_view fullchain_pem, std::string_view public_key_der,
                           const std::vector<DnsName>& expected_names,
                           const std::optional<std::string>& trust_file = std::nullopt);

}  // namespace acmezone::issuer
