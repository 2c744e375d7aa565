// The plugin's configuration file (INI, declared once in plugin_config.cpp).
//
//     zone = example.com                  # claims _acme-challenge.<name> at/under example.com
//     challenge-zone = acme.example.net   # claims this whole zone
//     catalog = catalog.example 127.0.0.1:53 key xfr-key
//                                         # claims every member of this RFC 9432 catalog,
//                                         # transferred (AXFR) from that server, optionally
//                                         # TSIG-signed with a key of control.keys; NOTIFY
//                                         # for it is accepted from that address only
//     nameserver = ns1.example.com        # NS of the claimed zones; the first is the SOA MNAME
//     contact = hostmaster.example.com
//     ttl = 0                             # TTL of served records and of negative answers
//     lifetime = 600                      # seconds a value lives after it was added
//     state-dir = /var/lib/bind/acmezone
//     max-values-per-name = 64
//     max-values-per-zone = 10000         # all names of one zone / challenge-zone
//     max-values = 100000                 # all names together
//     [control]
//     listen = 127.0.0.1:5353             # UDP and TCP; repeatable; [::1]:5353
//     keys = /etc/acmezone/keys.conf      # BIND key{} syntax
//     grant = acme-key zonesub example.com
//     grant = lab-key name _acme-challenge.www.example.com
//     grant = acme-key catalog catalog.example   # zonesub on every member
//     notify = 127.0.0.1:5400             # secondaries to NOTIFY after each change
//     allow-hmac-md5 = false
//     allow-hmac-sha1 = false
//     fudge = 300
//     max-tcp-connections = 256
//     max-tcp-connections-per-address = 64
//     tcp-idle-timeout = 10
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "common/catalog_zone.h"
#include "common/config_file.h"
#include "common/dns_name.h"
#include "common/endpoint.h"
#include "common/tsig_keyring.h"

namespace acmezone::plugin {

// What a key may write. `zonesub Z` where Z is a `zone`: TXT at any
// _acme-challenge name at or under Z. `zonesub Z` where Z is a
// `challenge-zone`: TXT at any name at or under Z. `name N`: TXT at N only.
// `catalog C`: zonesub on every member zone of catalog C, as it is now.
struct Grant {
    enum class Kind { zonesub, name, catalog };
    DnsName key;
    Kind kind = Kind::zonesub;
    DnsName target;
};

struct ControlConfig {
    std::vector<Endpoint> listen;
    std::string keys_file;
    TsigKeyring keyring;
    std::vector<Grant> grants;
    std::vector<Endpoint> notify;
    bool allow_hmac_md5 = false;
    bool allow_hmac_sha1 = false;
    std::uint16_t fudge = 300;  // seconds of clock skew accepted in TSIG
    // Signed messages remembered within the fudge window (replay memory):
    // the sustained rate of signed messages is at most this / fudge.
    std::size_t replay_memory = 100000;
    std::size_t max_tcp_connections = 256;
    std::size_t max_tcp_connections_per_address = 64;
    std::chrono::seconds tcp_idle_timeout{10};
};

// A catalog to follow (catalog_follower.h): AXFR from `server`, NOTIFY
// accepted from its address, `key` one of control.keys.
using CatalogSource = CatalogLine;

struct PluginConfig {
    std::vector<DnsName> zones;
    std::vector<CatalogSource> catalogs;
    std::vector<DnsName> challenge_zones;
    std::vector<DnsName> nameservers;  // at least one
    DnsName contact;
    std::uint32_t ttl = 0;
    std::chrono::seconds lifetime{600};
    std::filesystem::path state_dir;
    std::size_t max_values_per_name = 64;
    std::size_t max_values_per_zone = 10000;
    std::size_t max_values = 100000;
    ControlConfig control;

    // The option declaration: drives parsing, messages and documentation.
    static const po::options_description& options();
    // Throws ConfigError naming file, line and key.
    static PluginConfig load(const std::string& path);
    static PluginConfig parse(std::string_view text, const std::string& origin);
};

}  // namespace acmezone::plugin
