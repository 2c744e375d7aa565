// fetch.conf: what acmezone-fetch pulls, from where, and where it puts it.
//
//     server = https://issuer.example.net:8443    (repeatable: tried in order)
//     server-ca = /etc/acmezone/fetch/server-ca.pem
//     client-cert = /etc/acmezone/fetch/host.pem
//     client-key = /etc/acmezone/fetch/host.key
//     zone = example.com                          (repeatable)
//     target = /var/lib/acmezone-fetch
//     key-group = ssl-cert
//     deploy-hook = systemctl reload nginx
//
// One table (option_table.h) declares every option once: its help, default
// and range drive the parser, the errors (file:line: key: why) and
// `acmezone-fetch --help-config`. Relative paths are relative to the file's
// directory.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "common/config_file.h"
#include "common/dns_name.h"

namespace acmezone::issuer {

struct FetchConfig {
    std::string origin;                // the file, for messages
    std::vector<std::string> servers;  // base URLs, "https://host:port", tried in order
    std::filesystem::path server_ca;
    std::filesystem::path client_cert;
    std::filesystem::path client_key;
    std::vector<DnsName> zones;  // may be empty only with --mirror
    std::filesystem::path target;
    std::optional<std::string> key_group;        // keys 0640 root:GROUP, else 0600
    std::optional<gid_t> key_gid;                // key_group's id
    std::optional<std::string> deploy_hook;      // a command line for /bin/sh -c
    std::optional<std::filesystem::path> trust;  // roots the chain must verify to
    std::chrono::seconds connect_timeout{10};
    std::chrono::seconds timeout{60};     // one request without a wait
    std::chrono::seconds wait{60};        // --watch: one long poll
    std::chrono::seconds retry_max{300};  // --watch: longest back-off
    std::chrono::seconds hook_timeout{300};

    // Throws ConfigError naming the file, the line and the key. A key-group
    // that does not exist, or (when not running as root) is none of this
    // process's groups, is an error naming the group.
    static FetchConfig load(const std::string& path);
    static FetchConfig parse(const std::string& text, const std::string& origin,
                             const std::filesystem::path& base);
    // Every option with its help and default (--help-config).
    static const po::options_description& options();
};

}  // namespace acmezone::issuer
