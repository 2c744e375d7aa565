// See fetch_config.h.
#include "issuer/fetch/fetch_config.h"

#include <grp.h>
#include <unistd.h>

#include <algorithm>
#include <vector>

#include "common/error.h"
#include "common/file_io.h"
#include "common/option_table.h"

namespace acmezone::issuer {
namespace fs = std::filesystem;
namespace {

using Row = OptionRow;

// clang-format off
const OptionTable& table() {
    static const OptionTable t("acmezone-fetch configuration file", {
        Row::texts("server",
            "base URL of an `acmezone-issuer serve`, https://HOST:PORT (repeatable: tried in "
            "order, the next when one is unreachable or refuses)"),
        Row::required_text("server-ca", "PEM file of the CA that signed the servers' certificates"),
        Row::required_text("client-cert", "this host's client certificate (PEM)"),
        Row::required_text("client-key", "this host's client key (PEM, mode 0600)"),
        Row::texts("zone", "a zone whose certificates this host installs (repeatable)"),
        Row::required_text("target",
            "directory the zones are installed in, in the issuer's store layout: "
            "TARGET/ZONE/current -> .v-N"),
        Row::text("key-group",
            "group that may read the private keys: keys 0640 root:GROUP (not running as root: "
            "one of the process's groups); without it keys are 0600"),
        Row::text("deploy-hook",
            "command line (/bin/sh -c) run once per run after zones changed; its environment "
            "has ACMEZONE_FETCH_ZONES (the changed zones, space-separated) and "
            "ACMEZONE_FETCH_TARGET, and with one zone the issuer's deploy-hook variables "
            "(ACMEZONE_ZONE, ACMEZONE_CERT, ...)"),
        Row::text("trust",
            "PEM file of roots each chain must verify to (default: to the chain's last "
            "certificate)"),
        Row::number("connect-timeout", 10, {1, 300}, "seconds to connect to a server"),
        Row::number("timeout", 60, {1, 3600}, "seconds for one request"),
        Row::number("wait", 60, {1, 3600},
            "--watch: seconds one long poll waits for a new version (the server may cap it)"),
        Row::number("retry-max", 300, {1, 86400},
            "--watch: the longest wait before trying an unreachable server again (back-off "
            "from 1 s, doubling)"),
        Row::number("hook-timeout", 300, {1, 86400},
            "seconds the deploy hook may run before it is killed"),
    });
    return t;
}
// clang-format on

fs::path path_option(const ConfigFile& cf, const fs::path& base, const char* key) {
    fs::path p(table().text(cf, key).value_or(""));
    return p.is_absolute() ? p : base / p;
}

std::optional<fs::path> optional_path(const ConfigFile& cf, const fs::path& base, const char* key) {
    if (!OptionTable::given(cf, key)) {
        return std::nullopt;
    }
    return path_option(cf, base, key);
}

// The group's id; a group this process may not give files to is refused.
gid_t group_id(const ConfigFile& cf, const std::string& name) {
    std::vector<char> buf(16384);
    group g{};
    group* found = nullptr;
    if (getgrnam_r(name.c_str(), &g, buf.data(), buf.size(), &found) != 0 || found == nullptr) {
        cf.fail("key-group", 0, "no group \"" + name + "\" on this host");
    }
    const gid_t gid = found->gr_gid;
    if (geteuid() == 0 || getegid() == gid) {
        return gid;
    }
    const int n = getgroups(0, nullptr);
    std::vector<gid_t> groups(n > 0 ? n : 0);
    if (n > 0 && getgroups(n, groups.data()) == n &&
        std::find(groups.begin(), groups.end(), gid) != groups.end()) {
        return gid;
    }
    cf.fail("key-group", 0,
            "group \"" + name +
                "\" is not one of this process's groups, and only root may give files to "
                "another group (run as root, add the user to the group, or drop key-group "
                "for keys 0600)");
}

}  // namespace

const po::options_description& FetchConfig::options() {
    return table().description();
}

FetchConfig FetchConfig::load(const std::string& path) {
    std::string text;
    try {
        text = read_file(path);
    } catch (const std::exception& e) {
        throw ConfigError(e.what());
    }
    return parse(text, path, fs::absolute(fs::path(path)).parent_path());
}

FetchConfig FetchConfig::parse(const std::string& text, const std::string& origin,
                               const fs::path& base) {
    const ConfigFile cf = ConfigFile::parse(text, origin, options());
    const OptionTable& t = table();
    FetchConfig c;
    c.origin = origin;
    const auto servers = t.texts(cf, "server");
    for (std::size_t i = 0; i < servers.size(); ++i) {
        std::string url = servers[i];
        while (!url.empty() && url.back() == '/') {
            url.pop_back();
        }
        if (url.rfind("https://", 0) != 0 || url.size() <= 8 ||
            url.find_first_of("/?#", 8) != std::string::npos) {
            cf.fail("server", i, "\"" + servers[i] + "\" is not https://HOST[:PORT]");
        }
        c.servers.push_back(url);
    }
    if (c.servers.empty()) {
        throw ConfigError(origin + ": server: required option missing");
    }
    c.server_ca = path_option(cf, base, "server-ca");
    c.client_cert = path_option(cf, base, "client-cert");
    c.client_key = path_option(cf, base, "client-key");
    const auto zones = t.texts(cf, "zone");
    for (std::size_t i = 0; i < zones.size(); ++i) {
        std::string error;
        auto z = DnsName::try_parse(zones[i], &error);
        if (!z || z->is_root()) {
            cf.fail(
                "zone", i,
                "\"" + zones[i] + "\" is not a zone name" + (error.empty() ? "" : ": " + error));
        }
        if (std::find(c.zones.begin(), c.zones.end(), *z) != c.zones.end()) {
            cf.fail("zone", i, "zone " + z->text() + " given twice");
        }
        c.zones.push_back(*z);
    }
    c.target = path_option(cf, base, "target");
    if (auto g = t.text(cf, "key-group")) {
        c.key_group = *g;
        c.key_gid = group_id(cf, *g);
    }
    if (auto hook = t.text(cf, "deploy-hook")) {
        c.deploy_hook = *hook;
    }
    c.trust = optional_path(cf, base, "trust");
    c.connect_timeout = std::chrono::seconds(t.number(cf, "connect-timeout"));
    c.timeout = std::chrono::seconds(t.number(cf, "timeout"));
    c.wait = std::chrono::seconds(t.number(cf, "wait"));
    c.retry_max = std::chrono::seconds(t.number(cf, "retry-max"));
    c.hook_timeout = std::chrono::seconds(t.number(cf, "hook-timeout"));
    return c;
}

}  // namespace acmezone::issuer
