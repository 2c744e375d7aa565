// See issuer_config.h. Each section has its rows in the option table (key,
// type, range, default, help: the one declaration of every option, see
// common/option_table.h) and, next to them, one function that converts what
// the table yields and cross-checks it.
#include "issuer/cli/issuer_config.h"

#include <algorithm>
#include <set>
#include <sstream>

#include "common/catalog_zone.h"
#include "common/error.h"
#include "common/file_io.h"
#include "common/option_table.h"
#include "common/tsig_keyring.h"
#include "issuer/acme/eab.h"
#include "issuer/cli/catalog_zones.h"
#include "issuer/dns/gdnsd_publisher.h"

namespace acmezone::issuer {
namespace fs = std::filesystem;
namespace {

using strings = std::vector<std::string>;
using Row = OptionRow;

// Every option: the rows of each section, next to the function that parses
// that section (below).
const OptionTable& table();

// The parsed file and the directory relative paths start from.
struct Input {
    const ConfigFile& cf;
    const fs::path& base;

    bool given(const char* key) const { return OptionTable::given(cf, key); }
    std::string text(const char* key) const { return table().text(cf, key).value_or(""); }
    strings texts(const char* key) const { return table().texts(cf, key); }
    unsigned number(const char* key) const { return table().number(cf, key); }
    std::chrono::seconds seconds(const char* key) const {
        return std::chrono::seconds(number(key));
    }
    bool yes_no(const char* key) const { return table().yes_no(cf, key); }
    // Relative to the file's directory; nullopt when not given.
    std::optional<fs::path> path(const char* key) const {
        if (!given(key)) {
            return std::nullopt;
        }
        fs::path p(text(key));
        return p.is_absolute() ? p : base / p;
    }
    [[noreturn]] void fail(const char* key, std::size_t occurrence, const std::string& m) const {
        cf.fail(key, occurrence, m);
    }
};

Endpoint endpoint(const Input& in, const char* key, std::size_t occurrence, const std::string& text,
                  std::uint16_t default_port) {
    std::string error;
    auto ep = Endpoint::try_parse(text, default_port, &error);
    if (!ep) {
        in.fail(key, occurrence, "invalid address \"" + text + "\": " + error);
    }
    return *ep;
}

// `seen`: the zones so far, for a look-up (not a scan: 10,000 zones).
void add_zone(std::vector<DnsName>& zones, std::set<DnsName>& seen, const DnsName& z,
              const std::string& where) {
    if (!seen.insert(z).second) {
        throw ConfigError(where + ": zone " + z.text() + " given twice");
    }
    zones.push_back(z);
}

std::string https_url(const Input& in, const char* key) {
    std::string url = in.text(key);
    if (url.rfind("https://", 0) != 0) {
        in.fail(key, 0, "\"" + url + "\" is not an https:// URL");
    }
    return url;
}

RateLimits rate_limits_option(const Input& in, const char* key) {
    const std::string name = in.text(key);
    if (name == "letsencrypt") {
        return RateLimits::letsencrypt();
    }
    if (name == "none") {
        return RateLimits::none();
    }
    in.fail(key, 0, "unknown rate limits \"" + name + "\" (expected letsencrypt or none)");
}

// "90", "90s", "30m", "1h", "2d": seconds, at most 30 days.
std::chrono::seconds duration(const Input& in, const char* key) {
    const std::string text = in.text(key);
    std::size_t digits = 0;
    while (digits < text.size() && digits < 9 && text[digits] >= '0' && text[digits] <= '9') {
        ++digits;
    }
    const std::string unit = text.substr(digits);
    long factor = unit.empty() || unit == "s" ? 1
                  : unit == "m"               ? 60
                  : unit == "h"               ? 3600
                  : unit == "d"               ? 86400
                                              : 0;
    if (digits == 0 || factor == 0) {
        in.fail(key, 0,
                "\"" + text + "\" is not a duration (seconds, or a number with s, m, h or d)");
    }
    const long value = std::stol(text.substr(0, digits)) * factor;
    if (value > 30L * 86400) {
        in.fail(key, 0, "\"" + text + "\" is longer than 30 days");
    }
    return std::chrono::seconds(value);
}

// clang-format off
// [acme] <prefix>eab-kid and <prefix>eab-key-file: a CA's External Account
// Binding (prefix "" for the first CA, "fallback-", "standby-").
std::vector<Row> eab_rows(const std::string& prefix, const std::string& what) {
    const std::string k = "acme." + prefix;
    return {
        Row::text(k + "eab-kid", "External Account Binding key identifier " + what + " gave"),
        Row::text(k + "eab-key-file",
            "file holding " + what + "'s base64url EAB MAC key, mode 0600"),
    };
}

std::vector<Row> acme_rows() {
    std::vector<Row> rows = {
        Row::required_text("acme.directory", "URL of the ACME server's directory"),
        Row::text("acme.ca-file",
            "PEM file trusted for the CA's own HTTPS instead of the system store (Pebble)"),
        Row::texts("acme.contact",
            "account contact URL, e.g. mailto:hostmaster@example.com (repeatable)"),
        Row::required_text("acme.state-dir", "directory for the account key and state"),
        Row::number("acme.timeout", 30, {1, 600}, "seconds for one HTTPS request"),
        Row::number("acme.retry-deadline", 300, {0, 86400},
            "seconds to retry rateLimited, serverInternal and network errors"),
        Row::number("acme.validation-timeout", 300, {1, 86400},
            "seconds for the CA to validate and issue"),
        Row::texts("acme.caa-identity",
            "the CA's CAA domain, e.g. letsencrypt.org (repeatable); default: the directory's "
            "meta.caaIdentities"),
        Row::text("acme.rate-limits",
            "the CA's rate limits the issuer keeps within: letsencrypt or none", "letsencrypt"),
        Row::number("acme.orders-per-3h", std::nullopt, {0, 1000000},
            "override: new orders per account per 3 hours", "0: no limit"),
        Row::number("acme.certs-per-domain-per-week", std::nullopt, {0, 1000000},
            "override: certificates per registered domain per 7 days", "0: no limit"),
        Row::number("acme.certs-per-nameset-per-week", std::nullopt, {0, 1000000},
            "override: certificates per exact set of names per 7 days", "0: no limit"),
        Row::number("acme.failed-authz-per-name-per-hour", std::nullopt, {0, 1000000},
            "override: failed authorizations per name per hour", "0: no limit"),
    };
    std::vector<Row> eab = eab_rows("", "the CA");  // after acme.ca-file
    rows.insert(rows.begin() + 2, std::make_move_iterator(eab.begin()),
                std::make_move_iterator(eab.end()));
    return rows;
}

// The rows of a CA besides the first: [acme] <prefix>-directory, -ca-file,
// -eab-kid, -eab-key-file, -rate-limits; `what` says what it is for.
std::vector<Row> other_ca_rows(const std::string& prefix, const std::string& what) {
    const std::string k = "acme." + prefix;
    std::vector<Row> eab = eab_rows(prefix + "-", what);
    return {
        Row::text(k + "-directory", "URL of " + what + "'s directory"),
        Row::text(k + "-ca-file",
            "PEM file trusted for " + what + "'s own HTTPS instead of the system store"),
        std::move(eab[0]),
        std::move(eab[1]),
        Row::text(k + "-rate-limits",
            what + "'s rate limits: letsencrypt or none", "letsencrypt"),
    };
}

std::vector<Row> second_ca_rows() {
    std::vector<Row> rows = other_ca_rows(
        "fallback", "a second CA, used while the first fails (see fallback-after),");
    rows.push_back(Row::text("acme.fallback-after",
            "how long the first CA must have been failing before the second is used "
            "(seconds, or with a unit: 90s, 30m, 1h, 2d)", "1h"));
    for (Row& r : other_ca_rows("standby", "the standby CA, whose certificate set every zone "
                                           "also holds (switch makes it live),")) {
        rows.push_back(std::move(r));
    }
    rows.push_back(Row::text("acme.standby-grace",
        "how long a zone may be without a usable standby set before status exits 1 "
        "(seconds, or with a unit: 90s, 30m, 1h, 2d; default 1d)"));
    rows.push_back(Row::text("acme.standby-renew-before",
            "renew the standby set when this much of its lifetime is left: a fraction or a "
            "time, as [certs] renew-before (default: renew-before)"));
    return rows;
}
// clang-format on

// [acme] <prefix>eab-kid and <prefix>eab-key-file (eab_rows) into `kid` and
// `key_file`: both or neither; the key file is checked now (mode 0600, a
// base64url MAC key) and loaded when used.
void parse_eab(const Input& in, const std::string& prefix, std::string& kid,
               std::optional<std::filesystem::path>& key_file) {
    const std::string kid_key = "acme." + prefix + "eab-kid";
    const std::string key_file_key = "acme." + prefix + "eab-key-file";
    const bool given = in.given(kid_key.c_str());
    if (given != in.given(key_file_key.c_str())) {
        in.fail((given ? kid_key : key_file_key).c_str(), 0,
                "External Account Binding needs both " + prefix + "eab-kid and " + prefix +
                    "eab-key-file");
    }
    if (given) {
        kid = in.text(kid_key.c_str());
        if (kid.empty()) {
            in.fail(kid_key.c_str(), 0, "is empty");
        }
        key_file = in.path(key_file_key.c_str());
        try {
            (void)EabKey::load(kid, *key_file);  // checked now, loaded when used
        } catch (const std::exception& e) {
            in.fail(key_file_key.c_str(), 0, e.what());
        }
    }
}

// [acme]: the CA, the account, its timeouts and CAA identities.
void parse_acme(const Input& in, IssuerConfig& c) {
    c.directory = https_url(in, "acme.directory");
    c.ca_file = in.path("acme.ca-file");
    parse_eab(in, "", c.eab_kid, c.eab_key_file);
    const strings contacts = in.texts("acme.contact");
    for (std::size_t i = 0; i < contacts.size(); ++i) {
        if (contacts[i].rfind("mailto:", 0) != 0 || contacts[i].size() <= 7 ||
            contacts[i].find('@') == std::string::npos) {
            in.fail("acme.contact", i,
                    "\"" + contacts[i] + "\" is not a mailto: URL (mailto:user@example.com)");
        }
        c.contact.push_back(contacts[i]);
    }
    c.state_dir = *in.path("acme.state-dir");
    c.http_timeout = in.seconds("acme.timeout");
    c.retry_deadline = in.seconds("acme.retry-deadline");
    c.validation_timeout = in.seconds("acme.validation-timeout");
    const strings ids = in.texts("acme.caa-identity");
    for (std::size_t i = 0; i < ids.size(); ++i) {
        std::string error;
        auto name = DnsName::try_parse(ids[i], &error);
        if (!name || name->is_root()) {
            in.fail("acme.caa-identity", i,
                    "\"" + ids[i] + "\" is not a domain name (expected the CA's CAA " +
                        "domain, e.g. letsencrypt.org)" + (error.empty() ? "" : ": " + error));
        }
        c.caa_identities.push_back(name->text());
    }
}

// [acme]: the first CA's rate limits, a preset and its overrides.
void parse_rate_limits(const Input& in, IssuerConfig& c) {
    c.rate_limits = rate_limits_option(in, "acme.rate-limits");
    const std::pair<const char*, unsigned RateLimits::*> overrides[] = {
        {"acme.orders-per-3h", &RateLimits::orders_per_3h},
        {"acme.certs-per-domain-per-week", &RateLimits::certs_per_domain_per_week},
        {"acme.certs-per-nameset-per-week", &RateLimits::certs_per_nameset_per_week},
        {"acme.failed-authz-per-name-per-hour", &RateLimits::failed_authz_per_name_per_hour},
    };
    for (const auto& [key, member] : overrides) {
        if (in.given(key)) {
            c.rate_limits.*member = in.number(key);
        }
    }
}

// [acme] <prefix>-directory and the options that go with it into `ca`; false
// (and none of them may be given) when the directory is not given.
bool parse_other_ca(const Input& in, const IssuerConfig& c, const std::string& prefix,
                    IssuerConfig::OtherCa& ca) {
    const std::string k = "acme." + prefix;
    const std::string dir_key = k + "-directory";
    const std::string kid_key = k + "-eab-kid";
    const std::string key_file_key = k + "-eab-key-file";
    if (!in.given(dir_key.c_str())) {
        for (const std::string& key : {k + "-ca-file", kid_key, key_file_key}) {
            if (in.given(key.c_str())) {
                in.fail(key.c_str(), 0, "needs " + dir_key);
            }
        }
        return false;
    }
    ca.directory = https_url(in, dir_key.c_str());
    if (ca.directory == c.directory) {
        in.fail(dir_key.c_str(), 0, "is the same as acme.directory");
    }
    ca.ca_file = in.path((k + "-ca-file").c_str());
    parse_eab(in, prefix + "-", ca.eab_kid, ca.eab_key_file);
    ca.rate_limits = rate_limits_option(in, (k + "-rate-limits").c_str());
    return true;
}

// [acme]: the second CA, used while the first fails (ca_failover.h).
void parse_fallback(const Input& in, IssuerConfig& c) {
    IssuerConfig::FallbackCa f;
    if (!parse_other_ca(in, c, "fallback", f)) {
        return;
    }
    f.after = duration(in, "acme.fallback-after");
    c.fallback = std::move(f);
}

// clang-format off
std::vector<Row> zones_rows() {
    return {
        Row::texts("zones.zone", "a zone to certify (repeatable)"),
        Row::text("zones.zones-file", "file of zones, one a line"),
        Row::texts("zones.catalog",
            "CATALOG [SERVER[:PORT] [key KEY]]: every member zone of this RFC 9432 catalog, "
            "transferred from SERVER (default 127.0.0.1:53) at each pass, signed with KEY of "
            "publish.keys when given (repeatable)"),
        Row::texts("zones.catalog-group",
            "CATALOG GROUP: only the members of CATALOG with this RFC 9432 group property "
            "(repeatable: any of the groups)"),
    };
}
// clang-format on

// [zones] catalog and catalog-group.
void parse_catalogs(const Input& in, IssuerConfig& c) {
    const strings lines = in.texts("zones.catalog");
    for (std::size_t i = 0; i < lines.size(); ++i) {
        std::string error;
        auto line = parse_catalog_line(lines[i], &error);
        if (!line) {
            in.fail("zones.catalog", i, error);
        }
        IssuerConfig::Catalog cat{line->zone, line->server, line->key, std::nullopt, {}};
        for (const auto& other : c.catalogs) {
            if (other.zone == cat.zone) {
                in.fail("zones.catalog", i, "catalog " + cat.zone.text() + " given twice");
            }
        }
        c.catalogs.push_back(std::move(cat));
    }
    const strings groups = in.texts("zones.catalog-group");
    for (std::size_t i = 0; i < groups.size(); ++i) {
        std::istringstream words(groups[i]);
        std::string zone, group, extra;
        words >> zone >> group >> extra;
        auto name = DnsName::try_parse(zone);
        auto it = std::find_if(c.catalogs.begin(), c.catalogs.end(),
                               [&](const auto& cat) { return name && cat.zone == *name; });
        if (group.empty() || !extra.empty()) {
            in.fail("zones.catalog-group", i, "\"" + groups[i] + "\": expected \"CATALOG GROUP\"");
        }
        if (it == c.catalogs.end()) {
            in.fail("zones.catalog-group", i,
                    "\"" + zone + "\" is not a catalog of [zones] catalog");
        }
        it->groups.push_back(group);
    }
}

// [zones]: both sources merged, in order, without duplicates.
void parse_zones(const Input& in, IssuerConfig& c) {
    const strings zones = in.texts("zones.zone");
    std::set<DnsName> seen(c.zones.begin(), c.zones.end());
    for (std::size_t i = 0; i < zones.size(); ++i) {
        std::string error;
        auto name = DnsName::try_parse(zones[i], &error);
        if (!name) {
            in.fail("zones.zone", i, "invalid zone name \"" + zones[i] + "\": " + error);
        }
        if (name->is_root()) {
            in.fail("zones.zone", i, "the root zone cannot be certified");
        }
        add_zone(c.zones, seen, *name, in.cf.where("zones.zone", i));
    }
    if (auto zf = in.path("zones.zones-file")) {
        std::string zt;
        try {
            zt = read_file(*zf);
        } catch (const std::exception& e) {
            in.fail("zones.zones-file", 0, e.what());
        }
        for (const DnsName& z : parse_zones_file(zt, zf->string())) {
            add_zone(c.zones, seen, z, zf->string());
        }
    }
    parse_catalogs(in, c);
    if (c.zones.empty() && c.catalogs.empty()) {
        throw ConfigError(c.origin +
                          ": no zones: add [zones] zone = NAME lines, a zones-file or a catalog");
    }
}

// [zones] catalog-key's key is looked up once publish.keys is read.
void resolve_catalog_keys(const Input& in, IssuerConfig& c) {
    for (std::size_t i = 0; i < c.catalogs.size(); ++i) {
        auto& cat = c.catalogs[i];
        if (!cat.key_name) {
            continue;
        }
        if (c.keys_file.empty()) {
            in.fail("zones.catalog", i,
                    "key \"" + cat.key_name->text() +
                        "\" needs publish.keys (the key file it is looked up in)");
        }
        TsigKeyring keyring;
        try {
            keyring = TsigKeyring::load_file(
                c.keys_file.string(), TsigKeyring::Permissions::allow_group_read, "acmezone");
        } catch (const ConfigError& e) {
            in.fail("zones.catalog", i, e.what());
        }
        const TsigKey* key = keyring.find(*cat.key_name);
        if (key == nullptr) {
            in.fail("zones.catalog", i,
                    "no key \"" + cat.key_name->text() + "\" in " + c.keys_file.string());
        }
        cat.key = *key;
    }
}

// clang-format off
std::vector<Row> publish_rows() {
    return {
        Row::texts("publish.control",
            "control socket IP:PORT of the plugin (repeatable; every one gets every UPDATE; "
            "this or gdnsdctl is required)"),
        Row::text("publish.key",
            "name of the TSIG key (in `keys`) that signs the UPDATEs (required with control)"),
        Row::text("publish.keys",
            "TSIG key file, BIND key{} syntax, mode 0600 or 0640 (required with control)"),
        Row::texts("publish.gdnsdctl",
            "gdnsdctl command publishing through gdnsd's acme-dns-01, e.g. /usr/bin/gdnsdctl -s "
            "127.0.0.1:3506 (repeatable; split at spaces, no shell)"),
        Row::number("publish.gdnsdctl-timeout", 30, {1, 300}, "seconds for one gdnsdctl run"),
    };
}
// clang-format on

// [publish]: the TSIG key that signs the UPDATEs to the control sockets.
void parse_publish_key(const Input& in, IssuerConfig& c) {
    for (const char* required : {"publish.key", "publish.keys"}) {
        if (!in.given(required)) {
            throw ConfigError(in.cf.where("publish.control") + ": needs " + required +
                              " too (the TSIG key that signs the UPDATEs)");
        }
    }
    c.keys_file = *in.path("publish.keys");
    TsigKeyring keyring;
    try {
        keyring = TsigKeyring::load_file(c.keys_file.string(),
                                         TsigKeyring::Permissions::allow_group_read, "acmezone");
    } catch (const ConfigError& e) {
        in.fail("publish.keys", 0, e.what());
    }
    const std::string key_name = in.text("publish.key");
    std::string error;
    auto kn = DnsName::try_parse(key_name, &error);
    if (!kn) {
        in.fail("publish.key", 0, "invalid key name \"" + key_name + "\": " + error);
    }
    const TsigKey* key = keyring.find(*kn);
    if (key == nullptr) {
        in.fail("publish.key", 0,
                "no key \"" + key_name + "\" in " + c.keys_file.string() + " (it has " +
                    std::to_string(keyring.size()) + " key(s))");
    }
    c.dns.key = *key;
}

// [publish]: control sockets (with their key) or gdnsdctl commands, or both.
void parse_publish(const Input& in, IssuerConfig& c) {
    const strings controls = in.texts("publish.control");
    for (std::size_t i = 0; i < controls.size(); ++i) {
        c.dns.controls.push_back(endpoint(in, "publish.control", i, controls[i], 0));
    }
    const strings commands = in.texts("publish.gdnsdctl");
    for (std::size_t i = 0; i < commands.size(); ++i) {
        std::string error;
        auto argv = split_command(commands[i], &error);
        if (!argv) {
            in.fail("publish.gdnsdctl", i, "\"" + commands[i] + "\": " + error);
        }
        c.dns.gdnsdctl.push_back(*argv);
    }
    c.dns.command_timeout = in.seconds("publish.gdnsdctl-timeout");
    if (c.dns.controls.empty() && c.dns.gdnsdctl.empty()) {
        throw ConfigError(c.origin +
                          ": [publish] needs control = IP:PORT (the plugin's control socket) "
                          "or gdnsdctl = COMMAND (gdnsd)");
    }
    if (!c.dns.controls.empty()) {
        parse_publish_key(in, c);
    }
}

// clang-format off
std::vector<Row> dns_rows() {
    return {
        Row::text("dns.resolver",
            "IP[:PORT] of a resolver to follow CNAMEs and find authoritative servers",
            "127.0.0.1:53"),
        Row::texts("dns.check-server",
            "IP[:PORT] checked for the values instead of the zone's NS set (repeatable)"),
        Row::number("dns.timeout", 3, {1, 60}, "seconds for one DNS exchange"),
        Row::number("dns.propagation-timeout", 120, {1, 3600},
            "seconds to wait until every authoritative server serves the values"),
    };
}
// clang-format on

// [dns]
void parse_dns(const Input& in, IssuerConfig& c) {
    c.dns.resolver = endpoint(in, "dns.resolver", 0, in.text("dns.resolver"), 53);
    const strings servers = in.texts("dns.check-server");
    for (std::size_t i = 0; i < servers.size(); ++i) {
        c.dns.check_servers.push_back(endpoint(in, "dns.check-server", i, servers[i], 53));
    }
    c.dns.timeout = in.seconds("dns.timeout");
    c.dns.propagation_timeout = in.seconds("dns.propagation-timeout");
}

// clang-format off
std::vector<Row> certs_rows() {
    return {
        Row::required_text("certs.dir", "directory of <zone>/{privkey,cert,chain,fullchain}.pem"),
        Row::text("certs.key-type",
            "ecdsa-p256, ecdsa-p384, rsa-2048, rsa-3072 or rsa-4096; two, space-separated "
            "(ecdsa-p256 rsa-2048), for a certificate of each, changed together", "ecdsa-p256"),
        Row::number("certs.parallel", 16, {1, 256}, "zones in flight at once"),
        Row::text("certs.trust-file",
            "PEM roots that issued chains must verify to (default: the chain's own top)"),
        Row::text("certs.renew-before",
            "renew when this much of the lifetime is left: a fraction (1/3, 0.25) or a time "
            "(30d, 36h, 90m; at most half the lifetime)", "1/3"),
        Row::text("certs.renew-spread",
            "spread renewals over this much more, at a fixed point per zone: a fraction or a "
            "time, as renew-before (at most a quarter of the lifetime)", "1/20"),
        Row::yes_no("certs.ari", true,
            "yes: follow the CA's renewal information (RFC 9773) when its directory has "
            "renewalInfo; no: ignore it"),
        Row::number("certs.retry-min", 300, {1, 86400},
            "seconds before the first retry of a failed zone, doubling per failure"),
        Row::number("certs.retry-max", 21600, {1, 604800}, "seconds between retries at most")
            .at_least("certs.retry-min"),
        Row::yes_no("certs.next-key", false,
            "yes: keep the next key of each certificate ready (status --pins shows its pin)"),
        Row::text("certs.preferred-chain",
            "issuer CN of the topmost certificate of the alternate chain to prefer"),
        Row::text("certs.ct",
            "Certificate Transparency: require (a certificate without SCTs from 2 distinct "
            "logs, or with an SCT that fails its listed log's key, is not stored), warn (logged, "
            "stored) or off; default require, but off for a CA whose directory's host is "
            "localhost, *.localhost, 127.0.0.0/8 or [::1] (Pebble)"),
        Row::text("certs.ct-log-list",
            "CT log list in OpenSSL's CT log file format: each SCT must verify against its "
            "log's key, and only verified SCTs count"),
    };
}
// clang-format on

// [certs] key-type: one or two distinct key types.
std::vector<KeyType> key_types(const Input& in) {
    std::istringstream words(in.text("certs.key-type"));
    std::vector<KeyType> types;
    std::string kt;
    while (words >> kt) {
        auto type = key_type_from_name(kt);
        if (!type) {
            in.fail("certs.key-type", 0,
                    "unknown key type \"" + kt + "\" (expected one of " + key_type_names() + ")");
        }
        if (std::find(types.begin(), types.end(), *type) != types.end()) {
            in.fail("certs.key-type", 0, "key type " + kt + " given twice");
        }
        types.push_back(*type);
    }
    if (types.empty() || types.size() > 2) {
        in.fail("certs.key-type", 0,
                "expected one or two key types (e.g. \"ecdsa-p256 rsa-2048\"), got " +
                    std::to_string(types.size()));
    }
    return types;
}

LifetimePart lifetime_part(const Input& in, const char* key) {
    const std::string text = in.text(key);
    std::string error;
    auto part = LifetimePart::parse(text, &error);
    if (!part) {
        in.fail(key, 0, error);
    }
    return *part;
}

// [certs] ct and ct-log-list; the log list must load now, not at the first
// certificate.
void parse_ct(const Input& in, IssuerConfig& c) {
    if (in.given("certs.ct")) {
        c.ct_mode = ct_mode_from_name(in.text("certs.ct"));
        if (!c.ct_mode) {
            in.fail("certs.ct", 0,
                    "unknown mode \"" + in.text("certs.ct") + "\" (expected require, warn or off)");
        }
    }
    c.ct_log_list = in.path("certs.ct-log-list");
    if (c.ct_log_list) {
        try {
            (void)CtLogList::load(*c.ct_log_list);
        } catch (const CtError& e) {
            in.fail("certs.ct-log-list", 0, e.what());
        }
    }
}

// [certs]: keys, chains, the store, and when to renew or retry.
void parse_certs(const Input& in, IssuerConfig& c) {
    c.certs_dir = *in.path("certs.dir");
    c.key_types = key_types(in);
    c.key_type = c.key_types.front();
    c.parallel = in.number("certs.parallel");
    c.trust_file = in.path("certs.trust-file");
    c.schedule.renew_before = lifetime_part(in, "certs.renew-before");
    const LifetimePart& before = c.schedule.renew_before;
    if (before.is_fraction ? before.fraction <= 0 : before.fixed.count() <= 0) {
        in.fail("certs.renew-before", 0,
                "\"" + in.text("certs.renew-before") + "\": must be more than 0");
    }
    c.schedule.renew_spread = lifetime_part(in, "certs.renew-spread");
    c.ari = in.yes_no("certs.ari");
    c.schedule.retry_min = in.seconds("certs.retry-min");
    c.schedule.retry_max = in.seconds("certs.retry-max");
    c.next_key = in.yes_no("certs.next-key");
    if (in.given("certs.preferred-chain")) {
        c.preferred_chain = in.text("certs.preferred-chain");
        if (c.preferred_chain.empty()) {
            in.fail("certs.preferred-chain", 0, "empty: give the issuer CN, or leave it out");
        }
    }
    parse_ct(in, c);
}

// [acme]: the standby CA (pass/standby.h), after [certs] (its renew-before
// defaults to the live set's).
void parse_standby(const Input& in, IssuerConfig& c) {
    IssuerConfig::StandbyCa sb;
    if (!parse_other_ca(in, c, "standby", sb)) {
        for (const char* key : {"acme.standby-renew-before", "acme.standby-grace"}) {
            if (in.given(key)) {
                in.fail(key, 0, "needs acme.standby-directory");
            }
        }
        return;
    }
    if (c.fallback && sb.directory == c.fallback->directory) {
        in.fail("acme.standby-directory", 0,
                "is the same as acme.fallback-directory (the standby set must come from a CA "
                "whose failure does not also stop the live set)");
    }
    if (in.given("acme.standby-grace")) {
        sb.grace = duration(in, "acme.standby-grace");
    }
    sb.renew_before = c.schedule.renew_before;
    if (in.given("acme.standby-renew-before")) {
        sb.renew_before = lifetime_part(in, "acme.standby-renew-before");
        if (sb.renew_before.is_fraction ? sb.renew_before.fraction <= 0
                                        : sb.renew_before.fixed.count() <= 0) {
            in.fail("acme.standby-renew-before", 0,
                    "\"" + in.text("acme.standby-renew-before") + "\": must be more than 0");
        }
    }
    c.standby = std::move(sb);
}

// clang-format off
std::vector<Row> daemon_rows() {
    return {
        Row::number("daemon.max-sleep", 3600, {10, 86400},
            "daemon: seconds between passes at most, so zones-file edits and clock jumps are "
            "seen"),
        Row::number("daemon.stop-grace", 60, {0, 3600},
            "daemon: seconds SIGTERM lets the zones in flight finish before they are stopped"),
    };
}
// clang-format on

// [daemon]
void parse_daemon(const Input& in, IssuerConfig& c) {
    c.daemon_max_sleep = in.seconds("daemon.max-sleep");
    c.stop_grace = in.seconds("daemon.stop-grace");
}

// clang-format off
std::vector<Row> hooks_and_status_rows() {
    return {
        Row::text("hooks.deploy-hook",
            "/bin/sh command run after a zone's certificate changed (environment: ACMEZONE_*)"),
        Row::text("hooks.notify-hook",
            "/bin/sh command given a JSON event on stdin: failed, expiring, recovered"),
        Row::number("hooks.notify-expiring-days", 14, {0, 3650},
            "notify `expiring` when this many days or fewer are left unrenewed", "0 = never"),
        Row::number("hooks.timeout", 300, {1, 86400},
            "seconds a hook may run before it is killed"),
        Row::text("status.metrics-file",
            "Prometheus text file written after each pass (node_exporter textfile collector)"),
    };
}
// clang-format on

// [hooks] and [status]: what runs and what is written after a pass.
void parse_hooks_and_status(const Input& in, IssuerConfig& c) {
    c.deploy_hook = in.text("hooks.deploy-hook");
    c.notify_hook = in.text("hooks.notify-hook");
    c.notify_expiring_days = in.number("hooks.notify-expiring-days");
    c.hook_timeout = in.seconds("hooks.timeout");
    c.metrics_file = in.path("status.metrics-file");
}

// clang-format off
std::vector<Row> serve_rows() {
    return {
        Row::text("serve.listen",
            "IP:PORT `acmezone-issuer serve` listens on (HTTPS, client certificates required)"),
        Row::text("serve.cert", "the server's certificate chain it presents (PEM, leaf first)"),
        Row::text("serve.key", "the server's private key (PEM), mode 0600"),
        Row::text("serve.client-ca",
            "PEM file of the CA(s) whose client certificates are accepted (and only those)"),
        Row::text("serve.client-crl", "PEM CRL(s) of client-ca: revoked clients are refused"),
        Row::texts("serve.allow",
            "ZONE HOST...: hosts (client certificate DNS SAN, or CN without SANs) that may fetch "
            "ZONE's keys (repeatable)"),
        Row::texts("serve.allow-regex",
            "ZONE REGEX...: hosts whose whole name matches REGEX (ECMAScript, case-insensitive) "
            "may fetch ZONE's keys (repeatable)"),
        Row::text("serve.stage-for",
            "serve a new certificate only this long after it was issued, the one before "
            "meanwhile (seconds, or with a unit: 90s, 30m, 1h, 2d)", "0"),
        Row::number("serve.max-connections", 512, {1, 65536}, "client connections at once"),
        Row::number("serve.max-header-bytes", 8192, {1024, 65536},
            "bytes of a request's header at most (more: 431 and the connection closed)"),
        Row::number("serve.idle-timeout", 30, {1, 3600},
            "seconds a connection may take for its TLS handshake or its next request"),
        Row::number("serve.max-wait", 300, {0, 3600},
            "seconds a long poll (?wait=N) may wait at most"),
    };
}
// clang-format on

// "ZONE WORD..." of [serve] allow / allow-regex: the zone (a configured one)
// and the words; fails naming the line.
std::pair<DnsName, strings> zone_and_words(const Input& in, const IssuerConfig& c, const char* key,
                                           std::size_t i, const std::string& value) {
    std::istringstream split(value);
    std::string zone_text, word;
    split >> zone_text;
    strings words;
    while (split >> word) {
        words.push_back(word);
    }
    if (words.empty()) {
        in.fail(key, i,
                "expected a zone then at least one host or expression, got \"" + value + "\"");
    }
    auto zone = DnsName::try_parse(zone_text);
    if (!zone || std::find(c.zones.begin(), c.zones.end(), *zone) == c.zones.end()) {
        in.fail(key, i, "\"" + zone_text + "\" is not a configured zone (see [zones])");
    }
    return {*zone, words};
}

// [serve]: the distribution service (issuer/serve/), only when listen is given.
void parse_serve(const Input& in, IssuerConfig& c) {
    if (!in.given("serve.listen")) {
        for (const auto& row : serve_rows()) {
            if (in.given(row.key.c_str()) && !in.cf.values()[row.key].defaulted()) {
                in.fail(row.key.c_str(), 0, "needs serve.listen (the service's IP:PORT)");
            }
        }
        return;
    }
    ServeSettings s;
    s.listen = endpoint(in, "serve.listen", 0, in.text("serve.listen"), 0);
    if (s.listen.port() == 0) {
        in.fail("serve.listen", 0, "needs a port (IP:PORT)");
    }
    for (const char* required : {"serve.cert", "serve.key", "serve.client-ca"}) {
        if (!in.given(required)) {
            throw ConfigError(in.cf.where("serve.listen") + ": needs " + required + " too");
        }
    }
    s.cert_file = *in.path("serve.cert");
    s.key_file = *in.path("serve.key");
    try {
        (void)read_private_file(s.key_file, "serve key");  // mode checked now, read when serving
    } catch (const std::exception& e) {
        in.fail("serve.key", 0, e.what());
    }
    s.client_ca = *in.path("serve.client-ca");
    s.client_crl = in.path("serve.client-crl");
    const strings allows = in.texts("serve.allow");
    for (std::size_t i = 0; i < allows.size(); ++i) {
        auto [zone, hosts] = zone_and_words(in, c, "serve.allow", i, allows[i]);
        for (const std::string& host : hosts) {
            if (!DnsName::try_parse(host)) {
                in.fail("serve.allow", i, "\"" + host + "\" is not a host name");
            }
            s.access.allow(zone, host);
        }
    }
    const strings regexes = in.texts("serve.allow-regex");
    for (std::size_t i = 0; i < regexes.size(); ++i) {
        auto [zone, expressions] = zone_and_words(in, c, "serve.allow-regex", i, regexes[i]);
        for (const std::string& expression : expressions) {
            try {
                s.access.allow_regex(zone, expression);
            } catch (const std::regex_error& e) {
                in.fail("serve.allow-regex", i,
                        "bad regular expression \"" + expression + "\": " + e.what());
            }
        }
    }
    s.stage_for = duration(in, "serve.stage-for");
    s.max_connections = in.number("serve.max-connections");
    s.max_header_bytes = in.number("serve.max-header-bytes");
    s.idle_timeout = in.seconds("serve.idle-timeout");
    s.max_wait = in.seconds("serve.max-wait");
    c.serve = std::move(s);
}

// Every option: each section's rows, in the order --help-config shows them.
const OptionTable& table() {
    static const OptionTable t = [] {
        std::vector<Row> rows;
        for (auto section : {acme_rows, second_ca_rows, zones_rows, publish_rows, dns_rows,
                             certs_rows, daemon_rows, hooks_and_status_rows, serve_rows}) {
            std::vector<Row> more = section();
            rows.insert(rows.end(), more.begin(), more.end());
        }
        return OptionTable("acmezone-issuer configuration file", std::move(rows));
    }();
    return t;
}

}  // namespace

const po::options_description& IssuerConfig::options() {
    return table().description();
}

std::vector<DnsName> parse_zones_file(std::string_view text, const std::string& origin) {
    std::set<DnsName> seen;
    std::vector<DnsName> zones;
    std::istringstream in{std::string(text)};
    std::string line;
    int number = 0;
    while (std::getline(in, line)) {
        ++number;
        if (auto hash = line.find('#'); hash != std::string::npos) {
            line.erase(hash);
        }
        auto first = line.find_first_not_of(" \t\r");
        if (first == std::string::npos) {
            continue;
        }
        auto last = line.find_last_not_of(" \t\r");
        std::string word = line.substr(first, last - first + 1);
        const std::string where = origin + ":" + std::to_string(number);
        if (word.find_first_of(" \t") != std::string::npos) {
            throw ConfigError(where + ": expected one zone name, got \"" + word + "\"");
        }
        std::string error;
        auto name = DnsName::try_parse(word, &error);
        if (!name) {
            throw ConfigError(where + ": invalid zone name \"" + word + "\": " + error);
        }
        if (name->is_root()) {
            throw ConfigError(where + ": the root zone cannot be certified");
        }
        add_zone(zones, seen, *name, where);
    }
    return zones;
}

IssuerConfig IssuerConfig::load(const std::string& path) {
    std::string text;
    try {
        text = read_file(path);
    } catch (const std::exception& e) {
        throw ConfigError(e.what());
    }
    fs::path base = fs::absolute(fs::path(path)).parent_path();
    IssuerConfig c = parse(text, path, base);
    add_catalog_members(c);
    return c;
}

IssuerConfig IssuerConfig::parse(std::string_view text, const std::string& origin,
                                 const fs::path& base_dir) {
    const ConfigFile cf = ConfigFile::parse(text, origin, options());
    const Input in{cf, base_dir};
    IssuerConfig c;
    c.origin = origin;
    parse_acme(in, c);
    parse_rate_limits(in, c);
    parse_fallback(in, c);
    parse_zones(in, c);
    parse_publish(in, c);
    resolve_catalog_keys(in, c);
    parse_dns(in, c);
    parse_certs(in, c);
    parse_standby(in, c);
    parse_daemon(in, c);
    parse_hooks_and_status(in, c);
    parse_serve(in, c);
    return c;
}

std::vector<DnsName> configured_zones_named(const IssuerConfig& config,
                                            const std::vector<std::string>& names,
                                            const std::string& command) {
    std::vector<DnsName> zones;
    for (const std::string& text : names) {
        std::string error;
        auto zone = DnsName::try_parse(text, &error);
        if (!zone) {
            throw ConfigError(command + ": invalid zone name \"" + text + "\": " + error);
        }
        if (std::find(config.zones.begin(), config.zones.end(), *zone) == config.zones.end()) {
            throw ConfigError(command + ": " + zone->text() +
                              " is not a configured zone (add it to [zones] in " + config.origin +
                              ")");
        }
        if (std::find(zones.begin(), zones.end(), *zone) == zones.end()) {
            zones.push_back(*zone);
        }
    }
    return zones;
}

}  // namespace acmezone::issuer
