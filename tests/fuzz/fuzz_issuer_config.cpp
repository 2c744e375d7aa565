// libFuzzer target: the issuer's configuration (issuer/cli/issuer_config.h):
// IssuerConfig::parse on the input as issuer.conf, and parse_zones_file on
// the same input as a zones file.
//
// IssuerConfig reads files named in the configuration, relative to its
// directory: a temporary directory made once (fuzz_temp_dir.h) holds
// keys.conf (zones-example/keys.conf, mode 0600), zones (a zones file) and
// eab.key (a base64url MAC key, 0600), which the seeds name. Nothing is
// written.
//
// Normal outcomes: a configuration, and ConfigError (the documented refusal
// naming file, line and key). A configuration that parses must hold what
// issuer_config.h promises, or the target aborts: a directory, a state-dir
// and a certs dir; zones without duplicates; one or two key types, the
// first being key_type; at least one publisher (control socket or
// gdnsdctl), and a keys file and a key with control sockets; parallel of at
// least 1. A zones file that parses has no duplicates and no root. Anything
// else thrown, and any sanitizer report, is a finding.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.h"
#include "fuzz_temp_dir.h"
#include "issuer/cli/issuer_config.h"

namespace {

using namespace acmezone;
using namespace acmezone::issuer;

constexpr std::string_view kKeys = R"(key "acme-key" {
	algorithm hmac-sha256;
	secret "kdrYRT+tT+aVpeSTAldk/XMzgwQHtTpMMAycoEnjmEI=";
};
)";
constexpr std::string_view kZones = "# zones\n\nexample.org\n  example.info   # trailing\n";
constexpr std::string_view kEabKey =
    "zWNDZM6eQGHWpSRTPal5eIUYFTu7EajVIoguysqZ9wG44nMEtx3MUAsUDkMTQ12W\n";

const fuzz::TempDir& files() {
    static const fuzz::TempDir dir(
        {{"keys.conf", kKeys, 0600}, {"zones", kZones, 0644}, {"eab.key", kEabKey, 0600}});
    return dir;
}

void require(bool ok) {
    if (!ok) {
        std::abort();
    }
}

template <typename T>
bool unique(const std::vector<T>& v) {
    for (std::size_t i = 0; i < v.size(); ++i) {
        if (std::count(v.begin(), v.end(), v[i]) != 1) {
            return false;
        }
    }
    return true;
}

const bool kTrace = std::getenv("ACMEZONE_FUZZ_TRACE") != nullptr;

void trace(const char* what, const char* detail) {
    if (kTrace) {
        std::fprintf(stderr, "%s%s\n", what, detail);
    }
}

void check_config(std::string_view text) {
    const fuzz::TempDir& dir = files();
    try {
        const IssuerConfig c =
            IssuerConfig::parse(text, (dir.path() / "issuer.conf").string(), dir.path());
        require(!c.directory.empty() && !c.state_dir.empty() && !c.certs_dir.empty());
        require(unique(c.zones));
        require(!c.key_types.empty() && c.key_types.size() <= 2 &&
                c.key_types.front() == c.key_type);
        require(!c.dns.controls.empty() || !c.dns.gdnsdctl.empty());
        require(c.dns.controls.empty() || (!c.keys_file.empty() && !c.dns.key.name.is_root()));
        require(c.parallel >= 1);
        trace("issuer.conf: parsed", "");
    } catch (const ConfigError& e) {
        trace("issuer.conf: ConfigError: ", e.what());
    }
}

void check_zones_file(std::string_view text) {
    try {
        const std::vector<DnsName> zones = parse_zones_file(text, "zones");
        require(unique(zones));
        for (const DnsName& z : zones) {
            require(!z.is_root());
        }
        trace("zones file: parsed", "");
    } catch (const ConfigError& e) {
        trace("zones file: ConfigError: ", e.what());
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    check_config(text);
    check_zones_file(text);
    return 0;
}
