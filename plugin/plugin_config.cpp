// The plugin's configuration: every option declared once in options(), then
// checked as a whole. See plugin_config.h for the file's shape.
//
// Parsing (syntax, unknown keys, types, repeats) is ConfigFile's; this file
// adds what only the plugin knows: names must be names, ports must parse,
// numbers must lie in range, every grant must name a key of the keyring and
// a target inside the claims. Each error names file, line and key, e.g.
//     plugin.conf:14: control.grant: key "lab-key" is not in keys.conf
// Relative paths (state-dir, control.keys) are relative to the directory of
// the configuration file, so a config and its key file can travel together.
#include "plugin/plugin_config.h"

#include <cstdint>
#include <set>
#include <sstream>

#include "common/error.h"
#include "plugin/zone_claims.h"

namespace acmezone::plugin {

namespace {

using Strings = std::vector<std::string>;

struct Range {
    std::int64_t min;
    std::int64_t max;
};

constexpr Range kTtlRange{0, 86400};
constexpr Range kLifetimeRange{1, 7 * 86400};
constexpr Range kPerNameRange{1, 10000};
constexpr Range kValuesRange{1, 100000000};
constexpr Range kFudgeRange{1, 3600};
constexpr Range kReplayMemoryRange{1000, 10000000};
constexpr Range kTcpConnRange{1, 65535};
constexpr Range kIdleRange{1, 3600};

std::string range_help(const char* text, Range r) {
    std::ostringstream out;
    out << text << " (" << r.min << ".." << r.max << ")";
    return out.str();
}

po::options_description make_options() {
    po::options_description o("acmezone plugin configuration");
    // clang-format off
    o.add_options()
        ("zone", po::value<Strings>()->composing(),
         "Claim _acme-challenge.<name> for this zone and every name under it (repeatable)")
        ("challenge-zone", po::value<Strings>()->composing(),
         "Claim this whole zone: the target of CNAME-delegated challenges (repeatable)")
        ("catalog", po::value<Strings>()->composing(),
         "CATALOG [SERVER[:PORT] [key KEY]]: claim every member zone of this RFC 9432 catalog "
         "as if it were a zone line, transferred from SERVER (default 127.0.0.1:53), signed "
         "with KEY of control.keys when given; NOTIFY for it accepted from SERVER's address "
         "(repeatable)")
        ("nameserver", po::value<Strings>()->composing(),
         "NS of the claimed zones; the first is the SOA MNAME (repeatable, at least one)")
        ("contact", po::value<std::string>(),
         "SOA RNAME, e.g. hostmaster.example.com (default: hostmaster.<first zone>)")
        ("ttl", po::value<std::int64_t>()->default_value(0),
         range_help("TTL of served records and of negative answers, seconds", kTtlRange).c_str())
        ("lifetime", po::value<std::int64_t>()->default_value(600),
         range_help("Seconds a value lives after it was added", kLifetimeRange).c_str())
        ("state-dir", po::value<std::string>()->default_value("/var/lib/bind/acmezone"),
         "Directory for the journal and snapshot (writable by named)")
        ("max-values-per-name", po::value<std::int64_t>()->default_value(64),
         range_help("TXT values at one name", kPerNameRange).c_str())
        ("max-values-per-zone", po::value<std::int64_t>()->default_value(10000),
         range_help("TXT values at all names of one zone or challenge-zone (a quota for what "
                    "the keys granted it may hold)", kValuesRange).c_str())
        ("max-values", po::value<std::int64_t>()->default_value(100000),
         range_help("TXT values at all names together", kValuesRange).c_str())
        ("control.listen", po::value<Strings>()->composing(),
         "Control socket address, UDP and TCP: 127.0.0.1:5353 or [::1]:5353 (repeatable)")
        ("control.keys", po::value<std::string>(),
         "TSIG keys in BIND key{} syntax (mode 0600 or 0640)")
        ("control.grant", po::value<Strings>()->composing(),
         "KEY zonesub ZONE | KEY name NAME | KEY catalog CATALOG: what a key may write "
         "(repeatable)")
        ("control.notify", po::value<Strings>()->composing(),
         "Secondary to NOTIFY after each change, ADDRESS[:PORT] (repeatable)")
        ("control.allow-hmac-md5", po::value<bool>()->default_value(false),
         "Accept HMAC-MD5 TSIG keys")
        ("control.allow-hmac-sha1", po::value<bool>()->default_value(false),
         "Accept HMAC-SHA1 TSIG keys")
        ("control.fudge", po::value<std::int64_t>()->default_value(300),
         range_help("Seconds of clock skew accepted in TSIG", kFudgeRange).c_str())
        ("control.replay-memory", po::value<std::int64_t>()->default_value(100000),
         range_help("Signed messages remembered inside the fudge window to refuse replays (about "
                    "150 bytes each); at most this many per fudge window are accepted",
                    kReplayMemoryRange).c_str())
        ("control.max-tcp-connections", po::value<std::int64_t>()->default_value(256),
         range_help("Concurrent TCP connections on the control socket", kTcpConnRange).c_str())
        ("control.max-tcp-connections-per-address", po::value<std::int64_t>()->default_value(64),
         range_help("Concurrent TCP connections from one source address", kTcpConnRange).c_str())
        ("control.tcp-idle-timeout", po::value<std::int64_t>()->default_value(10),
         range_help("Seconds a TCP connection is kept without progress (a signed message, or one "
                    "of its first few unsigned ones)", kIdleRange).c_str());
    // clang-format on
    return o;
}

Strings strings(const ConfigFile& cfg, const char* key) {
    const auto& vm = cfg.values();
    return vm.count(key) ? vm[key].as<Strings>() : Strings{};
}

std::int64_t ranged(const ConfigFile& cfg, const char* key, Range r) {
    std::int64_t v = cfg.values()[key].as<std::int64_t>();
    if (v < r.min || v > r.max) {
        cfg.fail(key, 0,
                 "value " + std::to_string(v) + " out of range (expected " + std::to_string(r.min) +
                     ".." + std::to_string(r.max) + ")");
    }
    return v;
}

DnsName name_at(const ConfigFile& cfg, const char* key, std::size_t occurrence,
                const std::string& text) {
    std::string error;
    auto name = DnsName::try_parse(text, &error);
    if (!name) {
        cfg.fail(key, occurrence, error);
    }
    return *name;
}

std::vector<DnsName> names(const ConfigFile& cfg, const char* key) {
    std::vector<DnsName> out;
    std::set<DnsName> seen;
    Strings texts = strings(cfg, key);
    for (std::size_t i = 0; i < texts.size(); ++i) {
        DnsName n = name_at(cfg, key, i, texts[i]);
        if (!seen.insert(n).second) {
            cfg.fail(key, i, "\"" + n.text() + "\" given twice");
        }
        out.push_back(std::move(n));
    }
    return out;
}

std::filesystem::path relative_to_config(const std::string& origin, const std::string& path) {
    std::filesystem::path p(path);
    if (p.is_absolute()) {
        return p;
    }
    return std::filesystem::path(origin).parent_path() / p;
}

std::vector<Endpoint> endpoints(const ConfigFile& cfg, const char* key,
                                std::uint16_t default_port) {
    std::vector<Endpoint> out;
    Strings texts = strings(cfg, key);
    for (std::size_t i = 0; i < texts.size(); ++i) {
        std::string error;
        auto ep = Endpoint::try_parse(texts[i], default_port, &error);
        if (!ep) {
            cfg.fail(key, i, error);
        }
        out.push_back(*ep);
    }
    return out;
}

Grant parse_grant(const ConfigFile& cfg, std::size_t i, const std::string& text,
                  const PluginConfig& pc, const ZoneClaims& claims) {
    const char* key = "control.grant";
    std::istringstream in(text);
    std::string key_text, kind, target_text, extra;
    if (!(in >> key_text >> kind >> target_text) || (in >> extra)) {
        cfg.fail(key, i,
                 "\"" + text +
                     "\": expected \"KEY zonesub ZONE\", \"KEY name NAME\" or \"KEY catalog "
                     "CATALOG\"");
    }
    Grant g;
    g.key = name_at(cfg, key, i, key_text);
    if (!pc.control.keyring.find(g.key)) {
        cfg.fail(key, i, "key \"" + g.key.text() + "\" is not in " + pc.control.keys_file);
    }
    g.target = name_at(cfg, key, i, target_text);
    if (kind == "zonesub") {
        g.kind = Grant::Kind::zonesub;
        bool is_zone = false;
        for (const auto& z : pc.zones) {
            is_zone = is_zone || z == g.target;
        }
        for (const auto& z : pc.challenge_zones) {
            is_zone = is_zone || z == g.target;
        }
        if (!is_zone) {
            cfg.fail(key, i,
                     "\"" + g.target.text() +
                         "\" is neither a zone nor a challenge-zone of this configuration");
        }
    } else if (kind == "catalog") {
        g.kind = Grant::Kind::catalog;
        bool is_catalog = false;
        for (const auto& c : pc.catalogs) {
            is_catalog = is_catalog || c.zone == g.target;
        }
        if (!is_catalog) {
            cfg.fail(key, i, "\"" + g.target.text() + "\" is not a catalog of this configuration");
        }
    } else if (kind == "name") {
        g.kind = Grant::Kind::name;
        if (!claims.apex_of(g.target)) {
            cfg.fail(key, i,
                     "\"" + g.target.text() +
                         "\" is not served by this plugin (expected _acme-challenge.<name> in a "
                         "zone, or a name in a challenge-zone)");
        }
    } else {
        cfg.fail(key, i, "\"" + kind + "\": expected \"zonesub\", \"name\" or \"catalog\"");
    }
    return g;
}

// "CATALOG [SERVER[:PORT] [key KEY]]"; the key is checked once the keyring is read.
std::vector<CatalogSource> catalogs(const ConfigFile& cfg) {
    const char* key = "catalog";
    std::vector<CatalogSource> out;
    Strings texts = strings(cfg, key);
    for (std::size_t i = 0; i < texts.size(); ++i) {
        std::string error;
        auto c = parse_catalog_line(texts[i], &error);
        if (!c) {
            cfg.fail(key, i, error);
        }
        for (const auto& other : out) {
            if (other.zone == c->zone) {
                cfg.fail(key, i, "\"" + c->zone.text() + "\" given twice");
            }
        }
        out.push_back(std::move(*c));
    }
    return out;
}

PluginConfig build(const ConfigFile& cfg) {
    const auto& vm = cfg.values();
    PluginConfig pc;
    pc.zones = names(cfg, "zone");
    pc.challenge_zones = names(cfg, "challenge-zone");
    for (std::size_t i = 0; i < pc.zones.size(); ++i) {
        if (pc.zones[i].is_root()) {
            cfg.fail("zone", i, "the root cannot be a zone here");
        }
    }
    for (std::size_t i = 0; i < pc.challenge_zones.size(); ++i) {
        if (pc.challenge_zones[i].is_root()) {
            cfg.fail("challenge-zone", i, "the root cannot be a challenge-zone");
        }
    }
    pc.catalogs = catalogs(cfg);
    if (pc.zones.empty() && pc.challenge_zones.empty() && pc.catalogs.empty()) {
        cfg.fail("zone", 0, "at least one zone, challenge-zone or catalog is required");
    }
    pc.nameservers = names(cfg, "nameserver");
    if (pc.nameservers.empty()) {
        cfg.fail("nameserver", 0, "at least one nameserver is required");
    }
    if (vm.count("contact")) {
        pc.contact = name_at(cfg, "contact", 0, vm["contact"].as<std::string>());
    } else {
        const DnsName& first = !pc.zones.empty()             ? pc.zones.front()
                               : !pc.challenge_zones.empty() ? pc.challenge_zones.front()
                                                             : pc.catalogs.front().zone;
        pc.contact = first.child("hostmaster");
    }
    pc.ttl = static_cast<std::uint32_t>(ranged(cfg, "ttl", kTtlRange));
    pc.lifetime = std::chrono::seconds(ranged(cfg, "lifetime", kLifetimeRange));
    pc.state_dir = relative_to_config(cfg.origin(), vm["state-dir"].as<std::string>());
    pc.max_values_per_name =
        static_cast<std::size_t>(ranged(cfg, "max-values-per-name", kPerNameRange));
    pc.max_values_per_zone =
        static_cast<std::size_t>(ranged(cfg, "max-values-per-zone", kValuesRange));
    pc.max_values = static_cast<std::size_t>(ranged(cfg, "max-values", kValuesRange));
    if (pc.max_values_per_zone < pc.max_values_per_name) {
        cfg.fail("max-values-per-zone", 0,
                 "must be at least max-values-per-name (" + std::to_string(pc.max_values_per_name) +
                     ")");
    }
    if (pc.max_values < pc.max_values_per_name) {
        cfg.fail("max-values", 0,
                 "must be at least max-values-per-name (" + std::to_string(pc.max_values_per_name) +
                     ")");
    }

    ControlConfig& cc = pc.control;
    cc.listen = endpoints(cfg, "control.listen", 0);
    if (cc.listen.empty()) {
        cfg.fail("control.listen", 0, "at least one address is required, e.g. 127.0.0.1:5353");
    }
    cc.notify = endpoints(cfg, "control.notify", 53);
    if (!vm.count("control.keys")) {
        cfg.fail("control.keys", 0, "required: the TSIG key file (BIND key{} syntax)");
    }
    cc.keys_file = relative_to_config(cfg.origin(), vm["control.keys"].as<std::string>()).string();
    try {
        cc.keyring = TsigKeyring::load_file(cc.keys_file,
                                            TsigKeyring::Permissions::allow_group_read, "bind");
    } catch (const ConfigError& e) {
        cfg.fail("control.keys", 0, e.what());
    }
    for (std::size_t i = 0; i < pc.catalogs.size(); ++i) {
        const auto& k = pc.catalogs[i].key;
        if (k && !cc.keyring.find(*k)) {
            cfg.fail("catalog", i, "key \"" + k->text() + "\" is not in " + cc.keys_file);
        }
    }
    cc.allow_hmac_md5 = vm["control.allow-hmac-md5"].as<bool>();
    cc.allow_hmac_sha1 = vm["control.allow-hmac-sha1"].as<bool>();
    cc.fudge = static_cast<std::uint16_t>(ranged(cfg, "control.fudge", kFudgeRange));
    cc.replay_memory =
        static_cast<std::size_t>(ranged(cfg, "control.replay-memory", kReplayMemoryRange));
    cc.max_tcp_connections =
        static_cast<std::size_t>(ranged(cfg, "control.max-tcp-connections", kTcpConnRange));
    cc.max_tcp_connections_per_address = static_cast<std::size_t>(
        ranged(cfg, "control.max-tcp-connections-per-address", kTcpConnRange));
    cc.tcp_idle_timeout = std::chrono::seconds(ranged(cfg, "control.tcp-idle-timeout", kIdleRange));

    ZoneClaims claims(pc.zones, pc.challenge_zones);
    Strings grants = strings(cfg, "control.grant");
    for (std::size_t i = 0; i < grants.size(); ++i) {
        cc.grants.push_back(parse_grant(cfg, i, grants[i], pc, claims));
    }
    return pc;
}

}  // namespace

const po::options_description& PluginConfig::options() {
    static const po::options_description declared = make_options();
    return declared;
}

PluginConfig PluginConfig::load(const std::string& path) {
    return build(ConfigFile::load(path, options()));
}

PluginConfig PluginConfig::parse(std::string_view text, const std::string& origin) {
    return build(ConfigFile::parse(text, origin, options()));
}

}  // namespace acmezone::plugin
