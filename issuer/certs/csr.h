// Certificate signing requests for ACME finalize (RFC 8555 §7.4, RFC 2986).
//
// The CSR carries every name in a subjectAltName extension (the first name is
// also the subject CN, for old readers; ACME CAs read only the SANs), is
// signed by the certificate's own key (SHA-256), and is returned as DER,
// which the ACME client base64url-encodes.
#pragma once

#include <string>
#include <vector>

#include "common/dns_name.h"
#include "issuer/certs/cert_key.h"

namespace acmezone::issuer {

// Throws std::invalid_argument for an empty name list.
std::string make_csr_der(const CertKey& key, const std::vector<DnsName>& names);

}  // namespace acmezone::issuer
