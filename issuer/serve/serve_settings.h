// `acmezone-issuer serve`'s settings: the [serve] section of issuer.conf
// (parsed and documented in issuer/cli/issuer_config.*).
#pragma once

#include <chrono>
#include <filesystem>
#include <optional>

#include "common/endpoint.h"
#include "issuer/serve/access_rules.h"

namespace acmezone::issuer {

struct ServeSettings {
    Endpoint listen;
    std::filesystem::path cert_file;  // the server's certificate chain (PEM, leaf first)
    std::filesystem::path key_file;   // its private key, mode 0600 (or 0640)
    std::filesystem::path client_ca;  // clients must present a certificate it issued
    std::optional<std::filesystem::path> client_crl;  // and one it has not revoked
    AccessRules access;
    std::chrono::seconds stage_for{0};
    unsigned max_connections = 512;
    unsigned max_header_bytes = 8192;
    std::chrono::seconds idle_timeout{30};
    std::chrono::seconds max_wait{300};
};

}  // namespace acmezone::issuer
