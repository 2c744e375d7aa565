// Who a client is: the names of its (already verified) TLS certificate.
#pragma once

#include <openssl/x509.h>

#include <string>
#include <vector>

namespace acmezone::issuer {

// The certificate's DNS subjectAltNames, lower-case, in order; its subject
// CN (lower-case) when it has no DNS SAN; empty when it has neither.
std::vector<std::string> client_names(X509* cert);

}  // namespace acmezone::issuer
