// libFuzzer target: TsigKeyring::parse, the BIND key{} syntax reader that
// both the plugin (control.keys) and the issuer (publish.keys) use.
//
// Normal outcomes: a keyring, or ConfigError (the documented way to refuse
// a file). A parsed keyring is then read back as its users read it: every
// key found by name, its algorithm's wire name and MAC size, its secret
// re-encoded to base64 (which must decode to the same octets, or the
// target aborts: a round-trip property, not only "does not crash").
// Anything else thrown, and any sanitizer report, is a finding.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "common/base64.h"
#include "common/error.h"
#include "common/tsig_keyring.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static const bool kTrace = std::getenv("ACMEZONE_FUZZ_TRACE") != nullptr;
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    try {
        const acmezone::TsigKeyring ring = acmezone::TsigKeyring::parse(text, "fuzz-keys.conf");
        for (const auto& [name, key] : ring.keys()) {
            if (ring.find(name) != &key || key.secret.empty()) {
                std::abort();  // parse() promises a non-empty secret and find() by name
            }
            (void)acmezone::wire_name(key.algorithm);
            (void)acmezone::mac_size(key.algorithm);
            const std::string b64 = key.secret_base64();
            if (acmezone::base64_decode(b64).value_or(std::vector<std::uint8_t>{}) != key.secret) {
                std::abort();
            }
        }
        if (kTrace) {  // ACMEZONE_FUZZ_TRACE=1: what a seed or reproducer gets
            std::fprintf(stderr, "parsed: %zu key(s)\n", ring.size());
        }
    } catch (const acmezone::ConfigError& e) {
        if (kTrace) {  // refused, with a message naming file and line
            std::fprintf(stderr, "ConfigError: %s\n", e.what());
        }
    }
    return 0;
}
