// See issuer_config.h. The option table below is the one declaration of every
// option; parse() only converts and cross-checks what it yields.
#include "issuer/cli/issuer_config.h"

#include <algorithm>
#include <sstream>

#include "common/error.h"
#include "common/file_io.h"
#include "common/tsig_keyring.h"
#include "issuer/acme/eab.h"
#include "issuer/dns/gdnsd_publisher.h"

namespace acmezone::issuer {
namespace fs = std::filesystem;
namespace {

using strings = std::vector<std::string>;

po::options_description build_options() {
    po::options_description o("acmezone-issuer configuration file");
    // clang-format off
    o.add_options()
        ("acme.directory", po::value<std::string>()->required(),
            "URL of the ACME server's directory")
        ("acme.ca-file", po::value<std::string>(),
            "PEM file trusted for the CA's own HTTPS instead of the system store (Pebble)")
        ("acme.contact", po::value<strings>()->composing(),
            "account contact URL, e.g. mailto:hostmaster@example.com (repeatable)")
        ("acme.state-dir", po::value<std::string>()->required(),
            "directory for the account key and state")
        ("acme.timeout", po::value<unsigned>()->default_value(30),
            "seconds for one HTTPS request (1..600)")
        ("acme.retry-deadline", po::value<unsigned>()->default_value(300),
            "seconds to retry rateLimited, serverInternal and network errors (0..86400)")
        ("acme.validation-timeout", po::value<unsigned>()->default_value(300),
            "seconds for the CA to validate and issue (1..86400)")
        ("acme.rate-limits", po::value<std::string>()->default_value("letsencrypt"),
            "the CA's rate limits the issuer keeps within: letsencrypt or none")
        ("acme.orders-per-3h", po::value<unsigned>(),
            "override: new orders per account per 3 hours (0: no limit)")
        ("acme.certs-per-domain-per-week", po::value<unsigned>(),
            "override: certificates per registered domain per 7 days (0: no limit)")
        ("acme.certs-per-nameset-per-week", po::value<unsigned>(),
            "override: certificates per exact set of names per 7 days (0: no limit)")
        ("acme.failed-authz-per-name-per-hour", po::value<unsigned>(),
            "override: failed authorizations per name per hour (0: no limit)")
        ("acme.fallback-directory", po::value<std::string>(),
            "URL of a second CA's directory, used while the first fails (see fallback-after)")
        ("acme.fallback-ca-file", po::value<std::string>(),
            "PEM file trusted for the second CA's own HTTPS instead of the system store")
        ("acme.fallback-eab-kid", po::value<std::string>(),
            "External Account Binding key identifier the second CA gave")
        ("acme.fallback-eab-key-file", po::value<std::string>(),
            "file holding the second CA's base64url EAB MAC key, mode 0600")
        ("acme.fallback-after", po::value<std::string>()->default_value("1h"),
            "how long the first CA must have been failing before the second is used "
            "(seconds, or with a unit: 90s, 30m, 1h, 2d)")
        ("acme.fallback-rate-limits", po::value<std::string>()->default_value("letsencrypt"),
            "the second CA's rate limits: letsencrypt or none")
        ("zones.zone", po::value<strings>()->composing(), "a zone to certify (repeatable)")
        ("zones.zones-file", po::value<std::string>(), "file of zones, one a line")
        ("publish.control", po::value<strings>()->composing(),
            "control socket IP:PORT of the plugin (repeatable; every one gets every UPDATE; "
            "this or gdnsdctl is required)")
        ("publish.key", po::value<std::string>(),
            "name of the TSIG key (in `keys`) that signs the UPDATEs (required with control)")
        ("publish.keys", po::value<std::string>(),
            "TSIG key file, BIND key{} syntax, mode 0600 or 0640 (required with control)")
        ("dns.resolver", po::value<std::string>()->default_value("127.0.0.1:53"),
            "IP[:PORT] of a resolver to follow CNAMEs and find authoritative servers")
        ("dns.check-server", po::value<strings>()->composing(),
            "IP[:PORT] checked for the values instead of the zone's NS set (repeatable)")
        ("dns.timeout", po::value<unsigned>()->default_value(3),
            "seconds for one DNS exchange (1..60)")
        ("dns.propagation-timeout", po::value<unsigned>()->default_value(120),
            "seconds to wait until every authoritative server serves the values (1..3600)")
        ("certs.dir", po::value<std::string>()->required(),
            "directory of <zone>/{privkey,cert,chain,fullchain}.pem")
        ("certs.key-type", po::value<std::string>()->default_value("ecdsa-p256"),
            "ecdsa-p256, ecdsa-p384, rsa-2048, rsa-3072 or rsa-4096; two, space-separated "
            "(ecdsa-p256 rsa-2048), for a certificate of each, changed together")
        ("certs.parallel", po::value<unsigned>()->default_value(16),
            "zones in flight at once (1..256)")
        ("certs.trust-file", po::value<std::string>(),
            "PEM roots that issued chains must verify to (default: the chain's own top)")
        ("certs.renew-before", po::value<std::string>()->default_value("1/3"),
            "renew when this much of the lifetime is left: a fraction (1/3, 0.25) or a time "
            "(30d, 36h, 90m; at most half the lifetime)")
        ("certs.renew-spread", po::value<std::string>()->default_value("1/20"),
            "spread renewals over this much more, at a fixed point per zone: a fraction or a "
            "time, as renew-before (at most a quarter of the lifetime)")
        ("certs.ari", po::value<std::string>()->default_value("yes"),
            "yes: follow the CA's renewal information (RFC 9773) when its directory has "
            "renewalInfo; no: ignore it")
        ("certs.retry-min", po::value<unsigned>()->default_value(300),
            "seconds before the first retry of a failed zone, doubling per failure (1..86400)")
        ("certs.retry-max", po::value<unsigned>()->default_value(21600),
            "seconds between retries at most (retry-min..604800)")
        ("daemon.max-sleep", po::value<unsigned>()->default_value(3600),
            "daemon: seconds between passes at most, so zones-file edits and clock jumps are "
            "seen (10..86400)")
        ("daemon.stop-grace", po::value<unsigned>()->default_value(60),
            "daemon: seconds SIGTERM lets the zones in flight finish before they are stopped "
            "(0..3600)")
        // Keys, chains, hooks and status (see hooks.h, pins.h, metrics.h).
        ("certs.next-key", po::value<bool>()->default_value(false),
            "yes: keep the next key of each certificate ready (status --pins shows its pin)")
        ("certs.preferred-chain", po::value<std::string>(),
            "issuer CN of the topmost certificate of the alternate chain to prefer")
        ("hooks.deploy-hook", po::value<std::string>(),
            "/bin/sh command run after a zone's certificate changed (environment: ACMEZONE_*)")
        ("hooks.notify-hook", po::value<std::string>(),
            "/bin/sh command given a JSON event on stdin: failed, expiring, recovered")
        ("hooks.notify-expiring-days", po::value<unsigned>()->default_value(14),
            "notify `expiring` when this many days or fewer are left unrenewed (0 = never; 0..3650)")
        ("hooks.timeout", po::value<unsigned>()->default_value(300),
            "seconds a hook may run before it is killed (1..86400)")
        ("status.metrics-file", po::value<std::string>(),
            "Prometheus text file written after each pass (node_exporter textfile collector)");
    // clang-format on
    // Checks before ordering (precheck.h) and publishing through gdnsd
    // (gdnsd_publisher.h).
    // clang-format off
    o.add_options()
        ("acme.caa-identity", po::value<strings>()->composing(),
            "the CA's CAA domain, e.g. letsencrypt.org (repeatable); default: the directory's "
            "meta.caaIdentities")
        ("publish.gdnsdctl", po::value<strings>()->composing(),
            "gdnsdctl command publishing through gdnsd's acme-dns-01, e.g. /usr/bin/gdnsdctl -s "
            "127.0.0.1:3506 (repeatable; split at spaces, no shell)")
        ("publish.gdnsdctl-timeout", po::value<unsigned>()->default_value(30),
            "seconds for one gdnsdctl run (1..300)");
    // clang-format on
    return o;
}

fs::path resolve(const fs::path& base, const std::string& value) {
    fs::path p(value);
    return p.is_absolute() ? p : base / p;
}

unsigned ranged(const ConfigFile& cf, const std::string& key, unsigned lo, unsigned hi) {
    unsigned v = cf.values()[key].as<unsigned>();
    if (v < lo || v > hi) {
        cf.fail(key, 0,
                "value " + std::to_string(v) + " out of range (" + std::to_string(lo) + ".." +
                    std::to_string(hi) + ")");
    }
    return v;
}

Endpoint endpoint(const ConfigFile& cf, const std::string& key, std::size_t occurrence,
                  const std::string& text, std::uint16_t default_port) {
    std::string error;
    auto ep = Endpoint::try_parse(text, default_port, &error);
    if (!ep) {
        cf.fail(key, occurrence, "invalid address \"" + text + "\": " + error);
    }
    return *ep;
}

void add_zone(std::vector<DnsName>& zones, const DnsName& z, const std::string& where) {
    for (const DnsName& have : zones) {
        if (have == z) {
            throw ConfigError(where + ": zone " + z.text() + " given twice");
        }
    }
    zones.push_back(z);
}

std::optional<RateLimits> rate_limits_preset(const std::string& name) {
    if (name == "letsencrypt") {
        return RateLimits::letsencrypt();
    }
    if (name == "none") {
        return RateLimits::none();
    }
    return std::nullopt;
}

RateLimits rate_limits_option(const ConfigFile& cf, const std::string& key) {
    const std::string name = cf.values()[key].as<std::string>();
    auto preset = rate_limits_preset(name);
    if (!preset) {
        cf.fail(key, 0, "unknown rate limits \"" + name + "\" (expected letsencrypt or none)");
    }
    return *preset;
}

// "90", "90s", "30m", "1h", "2d": seconds, at most 30 days.
std::chrono::seconds duration(const ConfigFile& cf, const std::string& key) {
    const std::string text = cf.values()[key].as<std::string>();
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
        cf.fail(key, 0,
                "\"" + text + "\" is not a duration (seconds, or a number with s, m, h or d)");
    }
    const long value = std::stol(text.substr(0, digits)) * factor;
    if (value > 30L * 86400) {
        cf.fail(key, 0, "\"" + text + "\" is longer than 30 days");
    }
    return std::chrono::seconds(value);
}

}  // namespace

const po::options_description& IssuerConfig::options() {
    static const po::options_description o = build_options();
    return o;
}

std::vector<DnsName> parse_zones_file(std::string_view text, const std::string& origin) {
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
        add_zone(zones, *name, where);
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
    return parse(text, path, base);
}

IssuerConfig IssuerConfig::parse(std::string_view text, const std::string& origin,
                                 const fs::path& base_dir) {
    const ConfigFile cf = ConfigFile::parse(text, origin, options());
    const po::variables_map& v = cf.values();
    IssuerConfig c;
    c.origin = origin;

    // [acme]
    c.directory = v["acme.directory"].as<std::string>();
    if (c.directory.rfind("https://", 0) != 0) {
        cf.fail("acme.directory", 0, "\"" + c.directory + "\" is not an https:// URL");
    }
    if (v.count("acme.ca-file")) {
        c.ca_file = resolve(base_dir, v["acme.ca-file"].as<std::string>());
    }
    if (v.count("acme.contact")) {
        const auto& contacts = v["acme.contact"].as<strings>();
        for (std::size_t i = 0; i < contacts.size(); ++i) {
            if (contacts[i].rfind("mailto:", 0) != 0 || contacts[i].size() <= 7 ||
                contacts[i].find('@') == std::string::npos) {
                cf.fail("acme.contact", i,
                        "\"" + contacts[i] + "\" is not a mailto: URL (mailto:user@example.com)");
            }
            c.contact.push_back(contacts[i]);
        }
    }
    c.state_dir = resolve(base_dir, v["acme.state-dir"].as<std::string>());
    c.http_timeout = std::chrono::seconds(ranged(cf, "acme.timeout", 1, 600));
    c.retry_deadline = std::chrono::seconds(ranged(cf, "acme.retry-deadline", 0, 86400));
    c.validation_timeout = std::chrono::seconds(ranged(cf, "acme.validation-timeout", 1, 86400));

    // [acme]: rate limits and the fallback CA
    c.rate_limits = rate_limits_option(cf, "acme.rate-limits");
    const std::pair<const char*, unsigned RateLimits::*> overrides[] = {
        {"acme.orders-per-3h", &RateLimits::orders_per_3h},
        {"acme.certs-per-domain-per-week", &RateLimits::certs_per_domain_per_week},
        {"acme.certs-per-nameset-per-week", &RateLimits::certs_per_nameset_per_week},
        {"acme.failed-authz-per-name-per-hour", &RateLimits::failed_authz_per_name_per_hour},
    };
    for (const auto& [key, member] : overrides) {
        if (v.count(key)) {
            c.rate_limits.*member = ranged(cf, key, 0, 1000000);
        }
    }
    if (v.count("acme.fallback-directory")) {
        FallbackCa f;
        f.directory = v["acme.fallback-directory"].as<std::string>();
        if (f.directory.rfind("https://", 0) != 0) {
            cf.fail("acme.fallback-directory", 0, "\"" + f.directory + "\" is not an https:// URL");
        }
        if (f.directory == c.directory) {
            cf.fail("acme.fallback-directory", 0, "is the same as acme.directory");
        }
        if (v.count("acme.fallback-ca-file")) {
            f.ca_file = resolve(base_dir, v["acme.fallback-ca-file"].as<std::string>());
        }
        const bool kid = v.count("acme.fallback-eab-kid") > 0;
        const bool key = v.count("acme.fallback-eab-key-file") > 0;
        if (kid != key) {
            cf.fail(kid ? "acme.fallback-eab-kid" : "acme.fallback-eab-key-file", 0,
                    "External Account Binding needs both fallback-eab-kid and "
                    "fallback-eab-key-file");
        }
        if (kid) {
            f.eab_kid = v["acme.fallback-eab-kid"].as<std::string>();
            if (f.eab_kid.empty()) {
                cf.fail("acme.fallback-eab-kid", 0, "is empty");
            }
            f.eab_key_file = resolve(base_dir, v["acme.fallback-eab-key-file"].as<std::string>());
            try {
                (void)EabKey::load(f.eab_kid, *f.eab_key_file);  // checked now, loaded when used
            } catch (const std::exception& e) {
                cf.fail("acme.fallback-eab-key-file", 0, e.what());
            }
        }
        f.after = duration(cf, "acme.fallback-after");
        f.rate_limits = rate_limits_option(cf, "acme.fallback-rate-limits");
        c.fallback = std::move(f);
    } else {
        for (const char* key :
             {"acme.fallback-ca-file", "acme.fallback-eab-kid", "acme.fallback-eab-key-file"}) {
            if (v.count(key)) {
                cf.fail(key, 0, "needs acme.fallback-directory");
            }
        }
    }

    // [zones]
    if (v.count("zones.zone")) {
        const auto& zones = v["zones.zone"].as<strings>();
        for (std::size_t i = 0; i < zones.size(); ++i) {
            std::string error;
            auto name = DnsName::try_parse(zones[i], &error);
            if (!name) {
                cf.fail("zones.zone", i, "invalid zone name \"" + zones[i] + "\": " + error);
            }
            if (name->is_root()) {
                cf.fail("zones.zone", i, "the root zone cannot be certified");
            }
            add_zone(c.zones, *name, cf.where("zones.zone", i));
        }
    }
    if (v.count("zones.zones-file")) {
        const fs::path zf = resolve(base_dir, v["zones.zones-file"].as<std::string>());
        std::string zt;
        try {
            zt = read_file(zf);
        } catch (const std::exception& e) {
            cf.fail("zones.zones-file", 0, e.what());
        }
        for (const DnsName& z : parse_zones_file(zt, zf.string())) {
            add_zone(c.zones, z, zf.string());
        }
    }

    if (c.zones.empty()) {
        throw ConfigError(origin + ": no zones: add [zones] zone = NAME lines or a zones-file");
    }

    // [publish]
    if (v.count("publish.control")) {
        const auto& controls = v["publish.control"].as<strings>();
        for (std::size_t i = 0; i < controls.size(); ++i) {
            c.dns.controls.push_back(endpoint(cf, "publish.control", i, controls[i], 0));
        }
    }
    if (v.count("publish.gdnsdctl")) {
        const auto& commands = v["publish.gdnsdctl"].as<strings>();
        for (std::size_t i = 0; i < commands.size(); ++i) {
            std::string error;
            auto argv = split_command(commands[i], &error);
            if (!argv) {
                cf.fail("publish.gdnsdctl", i, "\"" + commands[i] + "\": " + error);
            }
            c.dns.gdnsdctl.push_back(*argv);
        }
    }
    c.dns.command_timeout = std::chrono::seconds(ranged(cf, "publish.gdnsdctl-timeout", 1, 300));
    if (c.dns.controls.empty() && c.dns.gdnsdctl.empty()) {
        throw ConfigError(origin +
                          ": [publish] needs control = IP:PORT (the plugin's control socket) "
                          "or gdnsdctl = COMMAND (gdnsd)");
    }
    if (!c.dns.controls.empty()) {
        for (const char* required : {"publish.key", "publish.keys"}) {
            if (!v.count(required)) {
                throw ConfigError(cf.where("publish.control") + ": needs " + required +
                                  " too (the TSIG key that signs the UPDATEs)");
            }
        }
        c.keys_file = resolve(base_dir, v["publish.keys"].as<std::string>());
        TsigKeyring keyring;
        try {
            keyring = TsigKeyring::load_file(c.keys_file.string(),
                                             TsigKeyring::Permissions::allow_group_read);
        } catch (const ConfigError& e) {
            cf.fail("publish.keys", 0, e.what());
        }
        const std::string key_name = v["publish.key"].as<std::string>();
        std::string error;
        auto kn = DnsName::try_parse(key_name, &error);
        if (!kn) {
            cf.fail("publish.key", 0, "invalid key name \"" + key_name + "\": " + error);
        }
        const TsigKey* key = keyring.find(*kn);
        if (key == nullptr) {
            cf.fail("publish.key", 0,
                    "no key \"" + key_name + "\" in " + c.keys_file.string() + " (it has " +
                        std::to_string(keyring.size()) + " key(s))");
        }
        c.dns.key = *key;
    }

    // [dns]
    c.dns.resolver = endpoint(cf, "dns.resolver", 0, v["dns.resolver"].as<std::string>(), 53);
    if (v.count("dns.check-server")) {
        const auto& servers = v["dns.check-server"].as<strings>();
        for (std::size_t i = 0; i < servers.size(); ++i) {
            c.dns.check_servers.push_back(endpoint(cf, "dns.check-server", i, servers[i], 53));
        }
    }
    c.dns.timeout = std::chrono::seconds(ranged(cf, "dns.timeout", 1, 60));
    c.dns.propagation_timeout =
        std::chrono::seconds(ranged(cf, "dns.propagation-timeout", 1, 3600));

    // [certs]
    c.certs_dir = resolve(base_dir, v["certs.dir"].as<std::string>());
    {
        std::istringstream words(v["certs.key-type"].as<std::string>());
        std::string kt;
        c.key_types.clear();
        while (words >> kt) {
            auto type = key_type_from_name(kt);
            if (!type) {
                cf.fail(
                    "certs.key-type", 0,
                    "unknown key type \"" + kt + "\" (expected one of " + key_type_names() + ")");
            }
            if (std::find(c.key_types.begin(), c.key_types.end(), *type) != c.key_types.end()) {
                cf.fail("certs.key-type", 0, "key type " + kt + " given twice");
            }
            c.key_types.push_back(*type);
        }
        if (c.key_types.empty() || c.key_types.size() > 2) {
            cf.fail("certs.key-type", 0,
                    "expected one or two key types (e.g. \"ecdsa-p256 rsa-2048\"), got " +
                        std::to_string(c.key_types.size()));
        }
        c.key_type = c.key_types.front();
    }
    c.parallel = ranged(cf, "certs.parallel", 1, 256);
    if (v.count("certs.trust-file")) {
        c.trust_file = resolve(base_dir, v["certs.trust-file"].as<std::string>());
    }

    // Checks before ordering
    if (v.count("acme.caa-identity")) {
        const auto& ids = v["acme.caa-identity"].as<strings>();
        for (std::size_t i = 0; i < ids.size(); ++i) {
            std::string error;
            auto name = DnsName::try_parse(ids[i], &error);
            if (!name || name->is_root()) {
                cf.fail("acme.caa-identity", i,
                        "\"" + ids[i] + "\" is not a domain name (expected the CA's CAA " +
                            "domain, e.g. letsencrypt.org)" + (error.empty() ? "" : ": " + error));
            }
            c.caa_identities.push_back(name->text());
        }
    }
    for (const char* key : {"certs.renew-before", "certs.renew-spread"}) {
        const std::string text = v[key].as<std::string>();
        std::string error;
        auto part = LifetimePart::parse(text, &error);
        if (!part) {
            cf.fail(key, 0, error);
        }
        if (std::string(key) == "certs.renew-before") {
            if (part->is_fraction ? part->fraction <= 0 : part->fixed.count() <= 0) {
                cf.fail(key, 0, "\"" + text + "\": must be more than 0");
            }
            c.schedule.renew_before = *part;
        } else {
            c.schedule.renew_spread = *part;
        }
    }
    const std::string ari = v["certs.ari"].as<std::string>();
    if (ari != "yes" && ari != "no") {
        cf.fail("certs.ari", 0, "\"" + ari + "\": expected yes or no");
    }
    c.ari = ari == "yes";
    c.schedule.retry_min = std::chrono::seconds(ranged(cf, "certs.retry-min", 1, 86400));
    c.schedule.retry_max = std::chrono::seconds(
        ranged(cf, "certs.retry-max", static_cast<unsigned>(c.schedule.retry_min.count()), 604800));

    // [daemon]
    c.daemon_max_sleep = std::chrono::seconds(ranged(cf, "daemon.max-sleep", 10, 86400));
    c.stop_grace = std::chrono::seconds(ranged(cf, "daemon.stop-grace", 0, 3600));

    // Keys, chains, hooks and status.
    c.next_key = v["certs.next-key"].as<bool>();
    if (v.count("certs.preferred-chain")) {
        c.preferred_chain = v["certs.preferred-chain"].as<std::string>();
        if (c.preferred_chain.empty()) {
            cf.fail("certs.preferred-chain", 0, "empty: give the issuer CN, or leave it out");
        }
    }
    if (v.count("hooks.deploy-hook")) {
        c.deploy_hook = v["hooks.deploy-hook"].as<std::string>();
    }
    if (v.count("hooks.notify-hook")) {
        c.notify_hook = v["hooks.notify-hook"].as<std::string>();
    }
    c.notify_expiring_days = ranged(cf, "hooks.notify-expiring-days", 0, 3650);
    c.hook_timeout = std::chrono::seconds(ranged(cf, "hooks.timeout", 1, 86400));
    if (v.count("status.metrics-file")) {
        c.metrics_file = resolve(base_dir, v["status.metrics-file"].as<std::string>());
    }
    return c;
}

}  // namespace acmezone::issuer
