// acmezone-issuer's configuration file (INI; every option declared once, in
// issuer_config.cpp, as a table row with its type, range, default and help:
// that row drives parsing, error messages and `acmezone-issuer --help-config`,
// which gives the ranges left out below).
//
//     [acme]
//     directory = https://acme-v02.api.letsencrypt.org/directory   (required)
//     ca-file = /path/to/extra-trust.pem   trust anchor for the CA's HTTPS (Pebble)
//     eab-kid = KID                       External Account Binding for the first CA
//     eab-key-file = /path/eab.key        (ZeroSSL, Google): base64url MAC key, 0600
//     contact = mailto:hostmaster@example.com   (repeatable)
//     state-dir = /var/lib/acmezone       (required) account key, per-certificate state
//     timeout = 30                        seconds for one HTTPS request
//     retry-deadline = 300                seconds to retry rateLimited,
//                                         serverInternal and network errors
//     validation-timeout = 300            seconds for the CA to validate and issue
//     caa-identity = letsencrypt.org      (repeatable) the CA's CAA domain, for the CAA
//                                         check before ordering; default: the directory's
//                                         meta.caaIdentities (see precheck.h)
//     rate-limits = letsencrypt           the CA's limits the issuer keeps within
//                                         (rate_budget.h): letsencrypt or none;
//                                         each figure can be overridden (0: no limit):
//     orders-per-3h = 300                 new orders per account per 3 hours
//     certs-per-domain-per-week = 50      certificates per registered domain per 7 days
//     certs-per-nameset-per-week = 5      certificates per exact set of names per 7 days
//     failed-authz-per-name-per-hour = 5  failed authorizations per name per hour
//     fallback-directory = https://...    a second CA, used while the first has been
//                                         failing (unreachable, or refusing the
//                                         account) for fallback-after (ca_failover.h)
//     fallback-ca-file = /path/ca.pem     trust anchor for the second CA's HTTPS
//     fallback-eab-kid = KID              External Account Binding for the second
//     fallback-eab-key-file = /path/eab.key   CA: its base64url MAC key, mode 0600
//     fallback-after = 1h                 90s, 30m, 1h, 2d (0: at the first failure)
//     fallback-rate-limits = letsencrypt  the second CA's limits: letsencrypt or none
//     standby-directory = https://...     the standby CA: every zone also holds a
//                                         certificate set from it, made live by
//                                         `switch` (pass/standby.h); with its own
//     standby-ca-file, standby-eab-kid, standby-eab-key-file, standby-rate-limits
//                                         as the fallback's, account-standby.key, and
//     standby-renew-before = 1/3          its own renewal point (default renew-before)
//     standby-grace = 1d                  a zone without a usable standby set for longer
//                                         (since a pass found it so): status exits 1
//     [zones]
//     zone = example.com                  (repeatable)
//     zones-file = /etc/acmezone/zones    one zone a line, '#' comments
//     catalog = catalog.example 127.0.0.1:53 key xfr-key
//                                         every member of this RFC 9432 catalog too,
//                                         transferred (AXFR) at every load (each pass);
//                                         the key from publish.keys (cli/catalog_zones.h)
//     catalog-group = catalog.example web only that catalog's members in group web
//     [publish]                           control or gdnsdctl (or both) is required
//     control = 127.0.0.1:5353            (repeatable) every listed control socket
//     key = acme-key                      (required with control) the TSIG key's name in `keys`
//     keys = /etc/acmezone/keys.conf      (required with control) BIND key{} syntax, mode
//                                         0600 (or 0640)
//     gdnsdctl = /usr/bin/gdnsdctl -s 127.0.0.1:3506   (repeatable) publish through gdnsd's
//                                         acme-dns-01 instead (gdnsd_publisher.h); split at
//                                         spaces, run without a shell
//     gdnsdctl-timeout = 30               seconds for one gdnsdctl run
//     [dns]
//     resolver = 127.0.0.1:53             follows CNAMEs, finds the authoritative servers
//     check-server = 127.0.0.1:5300       (repeatable) check these instead of the zone's NS
//     timeout = 3                         seconds for one DNS exchange
//     propagation-timeout = 120           seconds to wait until every server serves the values
//     [certs]
//     dir = /var/lib/acmezone/certs       (required)
//     key-type = ecdsa-p256               ecdsa-p256, ecdsa-p384, rsa-2048, rsa-3072, rsa-4096;
//                                         or two (ecdsa-p256 rsa-2048): a certificate of
//                                         each, stored and switched together
//     parallel = 16                       zones in flight at once
//     trust-file = /path/roots.pem        verify issued chains up to these roots
//     next-key = no                       yes: keep each certificate's next key ready, so
//                                         its pin (status --pins) can be published first
//     preferred-chain = ISSUER CN         of the topmost certificate of the CA's alternate
//                                         chain (Link rel="alternate") to store instead of
//                                         the default one; the default when none matches
//     ct = require                        Certificate Transparency (certs/ct.h): require SCTs
//                                         from 2 distinct logs before storing, warn (log,
//                                         store) or off; default require, off for a CA on
//                                         this machine (localhost, 127.0.0.0/8, [::1])
//     ct-log-list = /etc/acmezone/ct_log_list.cnf   OpenSSL's CT log file format: each SCT
//                                         must verify against its log's key
//     renew-before = 1/3                  renew with this much of the lifetime left: a
//                                         fraction (1/3, 0.25) or a time (30d, 36h, 90m;
//                                         at most half the lifetime)
//     renew-spread = 1/20                 and up to this much earlier, at a fixed point per
//                                         zone (at most a quarter of the lifetime); schedule.h
//     ari = yes                           follow the CA's renewal information (RFC 9773)
//     retry-min = 300                     seconds before retrying a failed zone, doubling
//     retry-max = 21600                   per consecutive failure up to this
//     [daemon]
//     max-sleep = 3600                    seconds between the daemon's passes at most
//     stop-grace = 60                     seconds SIGTERM lets zones in flight finish
//     [hooks]
//     deploy-hook = systemctl reload nginx   /bin/sh command after a certificate changed;
//                                         ACMEZONE_* environment (hooks.h); failure reported
//     notify-hook = /usr/local/bin/page   /bin/sh command, a JSON event on stdin (hooks.h):
//                                         failed, expiring, recovered
//     notify-expiring-days = 14           `expiring` at this many days left (0: never)
//     timeout = 300                       seconds a hook may run, then killed
//     [status]
//     metrics-file = /var/lib/prometheus/node-exporter/acmezone.prom
//                                         written after each pass (metrics.h), mode 0644
//     [serve]                             `acmezone-issuer serve` (issuer/serve/), with listen:
//     listen = 0.0.0.0:8443               HTTPS with client certificates only (TLS 1.2+)
//     cert = /etc/acmezone/serve.crt      the server's certificate chain
//     key = /etc/acmezone/serve.key       its key, mode 0600
//     client-ca = /etc/acmezone/hosts-ca.pem   clients need a certificate it issued
//     client-crl = /etc/acmezone/hosts.crl     and not revoked there
//     allow = example.com web1.example.net     (repeatable) ZONE HOST...
//     allow-regex = example.com ^cp[0-9]+\.example\.net$   (repeatable) ZONE REGEX...
//     stage-for = 0                       serve a new version only this long after issuance
//     max-connections = 512, max-header-bytes = 8192, idle-timeout = 30, max-wait = 300
//
// Relative paths are relative to the configuration file's directory.
// Errors name the file, the line and the key ("issuer.conf:12: certs.parallel:
// ..."); zones-file errors name that file and its line.
#pragma once

#include <chrono>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/config_file.h"
#include "common/dns_name.h"
#include "common/endpoint.h"
#include "common/tsig_keyring.h"
#include "issuer/ca/rate_budget.h"
#include "issuer/certs/cert_key.h"
#include "issuer/certs/ct.h"
#include "issuer/dns/challenge_dns.h"
#include "issuer/pass/schedule.h"
#include "issuer/serve/serve_settings.h"

namespace acmezone::issuer {

struct IssuerConfig {
    std::string origin;  // the file, for messages

    // [acme]
    std::string directory;
    std::optional<std::filesystem::path> ca_file;
    std::string eab_kid;  // the first CA's External Account Binding; empty: none
    std::optional<std::filesystem::path> eab_key_file;
    std::vector<std::string> contact;
    std::filesystem::path state_dir;
    std::chrono::seconds http_timeout{30};
    std::chrono::seconds retry_deadline{300};
    std::chrono::seconds validation_timeout{300};
    RateLimits rate_limits;  // the first CA's
    // A CA besides the first: its own directory, trust, EAB and limits (and
    // its own account key, *_account_key_path below).
    struct OtherCa {
        std::string directory;
        std::optional<std::filesystem::path> ca_file;
        std::string eab_kid;  // empty: no External Account Binding
        std::optional<std::filesystem::path> eab_key_file;
        RateLimits rate_limits;
    };
    struct FallbackCa : OtherCa {
        std::chrono::seconds after{3600};
    };
    std::optional<FallbackCa> fallback;
    // The standby CA (pass/standby.h): every zone also holds a set from it.
    struct StandbyCa : OtherCa {
        LifetimePart renew_before;          // default: [certs] renew-before
        std::chrono::seconds grace{86400};  // missing longer: status exits 1
    };
    std::optional<StandbyCa> standby;

    // [zones]: both sources merged, in order, without duplicates; after
    // load(), the members of every catalog follow (cli/catalog_zones.h)
    std::vector<DnsName> zones;
    struct Catalog {
        DnsName zone;
        Endpoint server;
        std::optional<DnsName> key_name;  // in publish.keys
        std::optional<TsigKey> key;
        std::vector<std::string> groups;  // empty: every member
    };
    std::vector<Catalog> catalogs;
    // Zones that came from a catalog, and which (listed zones are not here).
    std::map<DnsName, DnsName> catalog_of;
    // Of those, the ones whose member entry has an RFC 9432 coo property: the
    // catalog the zone is moving to (status shows it).
    std::map<DnsName, DnsName> coo_of;
    // Members that left a catalog since acmezone first saw them: not renewed,
    // their certificates stay in certs_dir (status shows them).
    struct LeftZone {
        DnsName zone;
        DnsName catalog;
    };
    std::vector<LeftZone> left;

    // [publish] and [dns]
    std::filesystem::path keys_file;  // empty without control sockets
    DnsSettings dns;

    // [certs]
    std::filesystem::path certs_dir;
    KeyType key_type = KeyType::ecdsa_p256;               // the first of key_types
    std::vector<KeyType> key_types{KeyType::ecdsa_p256};  // one or two
    unsigned parallel = 16;
    std::optional<std::filesystem::path> trust_file;
    ScheduleSettings schedule;
    bool ari = true;
    std::optional<CtMode> ct_mode;  // nullopt: default_ct_mode() of the issuing CA
    std::optional<std::filesystem::path> ct_log_list;

    // [daemon]
    std::chrono::seconds daemon_max_sleep{3600};
    std::chrono::seconds stop_grace{60};

    // Checks before ordering: [acme] caa-identity (empty: the directory's)
    std::vector<std::string> caa_identities;

    // Keys, chains, hooks and status: [certs] next-key, preferred-chain;
    // [hooks]; [status]
    bool next_key = false;
    std::string preferred_chain;  // "": the CA's default chain
    std::string deploy_hook;      // "": none
    std::string notify_hook;      // "": none
    unsigned notify_expiring_days = 14;
    std::chrono::seconds hook_timeout{300};
    std::optional<std::filesystem::path> metrics_file;

    // [serve]: nullopt without serve.listen
    std::optional<ServeSettings> serve;

    std::filesystem::path account_key_path() const { return state_dir / "account.key"; }
    // A separate account key for the fallback CA, and one for the standby CA.
    std::filesystem::path fallback_account_key_path() const {
        return state_dir / "account-fallback.key";
    }
    std::filesystem::path standby_account_key_path() const {
        return state_dir / "account-standby.key";
    }
    // Every key type a zone's set holds, the first first (a configuration
    // built by hand may leave key_types empty: then key_type alone).
    std::vector<KeyType> configured_key_types() const {
        return key_types.empty() ? std::vector<KeyType>{key_type} : key_types;
    }
    // [certs] ct for certificates from the CA at `directory`.
    CtMode ct_mode_for(std::string_view directory) const {
        return ct_mode.value_or(default_ct_mode(directory));
    }
    std::filesystem::path rate_budget_path() const { return state_dir / "rate-budget.json"; }

    static const po::options_description& options();
    // Throws ConfigError naming the file, line and key. Then follows the
    // catalogs (transfers each; a failed one keeps its saved member set).
    static IssuerConfig load(const std::string& path);
    // `base_dir` resolves relative paths (the file's directory for load()).
    static IssuerConfig parse(std::string_view text, const std::string& origin,
                              const std::filesystem::path& base_dir);
};

// Zones from a zones file: one name a line, blank lines and '#' comments
// ignored. Throws ConfigError "<origin>:<line>: ..." for a bad name or a
// duplicate.
std::vector<DnsName> parse_zones_file(std::string_view text, const std::string& origin);

// The configured zones that `names` (zone names as an operator typed them
// after `command`, e.g. "issue") name, each once, in the order given.
// Throws ConfigError "COMMAND: invalid zone name ..." or "COMMAND: Z is not a
// configured zone (add it to [zones] in ORIGIN)".
std::vector<DnsName> configured_zones_named(const IssuerConfig& config,
                                            const std::vector<std::string>& names,
                                            const std::string& command);

}  // namespace acmezone::issuer
