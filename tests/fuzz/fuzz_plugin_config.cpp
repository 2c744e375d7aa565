// libFuzzer target: the plugin's configuration file (PluginConfig::parse)
// and, on the same text, the INI layer under it (ConfigFile::parse) with a
// small declaration of one option of each kind that layer handles.
//
// PluginConfig loads `control.keys` from disk, relative to the config's
// directory: a temporary directory made once, holding keys.conf (0600,
// keys acme-key and lab-key), stands for it; the seeds say `keys = keys.conf`.
// It is removed at exit. Nothing else is written.
//
// Normal outcomes: a config, ConfigError (the documented refusal, naming
// file, line and key) and std::invalid_argument (DnsName's documented
// refusal). A config that parses must hold what plugin_config.h promises
// (at least one zone or challenge-zone, one nameserver, one listen address,
// every grant's key in the keyring), or the target aborts. Anything else
// thrown, and any sanitizer report, is a finding.
#include <stdlib.h>
#include <sys/stat.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "common/config_file.h"
#include "common/error.h"
#include "plugin/plugin_config.h"

namespace {

namespace fs = std::filesystem;

constexpr const char* kKeys = R"(key "acme-key" {
	algorithm hmac-sha256;
	secret "kdrYRT+tT+aVpeSTAldk/XMzgwQHtTpMMAycoEnjmEI=";
};
key "lab-key" {
	algorithm hmac-sha512;
	secret "bGFiLWtleS1zZWNyZXQtZm9yLWZ1enppbmctb25seQ==";
};
)";

// The temporary directory with keys.conf; removed when the process exits normally.
class KeysDir {
  public:
    KeysDir() {
        std::string pattern = (fs::temp_directory_path() / "acmezone-fuzz-XXXXXX").string();
        if (::mkdtemp(pattern.data()) == nullptr) {
            std::abort();
        }
        dir_ = pattern;
        const fs::path keys = dir_ / "keys.conf";
        {
            std::ofstream out(keys);
            out << kKeys;
            if (!out) {
                std::abort();
            }
        }
        if (::chmod(keys.c_str(), 0600) != 0) {
            std::abort();
        }
    }
    ~KeysDir() {
        std::error_code ignored;
        fs::remove_all(dir_, ignored);
    }
    KeysDir(const KeysDir&) = delete;
    KeysDir& operator=(const KeysDir&) = delete;
    std::string origin() const { return (dir_ / "plugin.conf").string(); }

  private:
    fs::path dir_;
};

const acmezone::po::options_description& small_options() {
    static const acmezone::po::options_description o = [] {
        acmezone::po::options_description d("fuzz");
        // clang-format off
        d.add_options()
            ("name", acmezone::po::value<std::string>(), "a string")
            ("count", acmezone::po::value<std::int64_t>()->default_value(1), "a signed number")
            ("size", acmezone::po::value<std::uint32_t>(), "an unsigned number")
            ("flag", acmezone::po::value<bool>()->default_value(false), "a boolean")
            ("item", acmezone::po::value<std::vector<std::string>>()->composing(), "repeatable")
            ("section.key", acmezone::po::value<std::string>(), "in a section")
            ("section.required", acmezone::po::value<std::string>()->required(), "required");
        // clang-format on
        return d;
    }();
    return o;
}

const bool kTrace = std::getenv("ACMEZONE_FUZZ_TRACE") != nullptr;

// ACMEZONE_FUZZ_TRACE=1: what a seed or reproducer gets.
void trace(const char* what, const char* detail) {
    if (kTrace) {
        std::fprintf(stderr, "%s%s\n", what, detail);
    }
}

void check_plugin_config(std::string_view text, const std::string& origin) {
    try {
        const auto pc = acmezone::plugin::PluginConfig::parse(text, origin);
        if ((pc.zones.empty() && pc.challenge_zones.empty()) || pc.nameservers.empty() ||
            pc.control.listen.empty()) {
            std::abort();
        }
        for (const auto& g : pc.control.grants) {
            if (pc.control.keyring.find(g.key) == nullptr) {
                std::abort();
            }
        }
        trace("PluginConfig: parsed", "");
    } catch (const acmezone::ConfigError& e) {
        trace("PluginConfig: ConfigError: ", e.what());
    } catch (const std::invalid_argument& e) {
        trace("PluginConfig: invalid_argument: ", e.what());
    }
}

void check_config_file(std::string_view text) {
    try {
        const auto cfg = acmezone::ConfigFile::parse(text, "fuzz.conf", small_options());
        const auto& vm = cfg.values();
        if (!vm.count("section.required")) {
            std::abort();  // declared required: parse() must have refused
        }
        for (const char* key : {"name", "count", "size", "flag", "item", "section.key"}) {
            if (vm.count(key)) {
                (void)cfg.where(key);
            }
        }
        trace("ConfigFile: parsed", "");
    } catch (const acmezone::ConfigError& e) {
        trace("ConfigFile: ConfigError: ", e.what());
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static const KeysDir keys;
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    check_plugin_config(text, keys.origin());
    check_config_file(text);
    return 0;
}
