// libFuzzer target: one datagram through the control socket's decoding
// path, without sockets (ControlHandler::handle() reads the clock, so this
// target calls the same public pieces in the same order, at a fixed "now").
//
//   TsigVerifier::verify  → ldns_wire2pkt → decode_update → GrantTable →
//   ChallengeStore::apply (memory only) → make_answer → to_wire →
//   TsigVerifier::sign_answer; and header_only_answer for unparsable input.
//
// Fixed world: keys acme-key (hmac-sha256, the zones-example secret),
// lab-key (hmac-sha512) and md5-key (hmac-md5; MD5 and SHA-1 allowed), fudge 300, "now"
// fixed at kNow so that the seeds made by make_corpus.cpp (signed at kNow)
// verify, and runs are deterministic. A fresh verifier and store per input:
// no replay memory or store content carries over from one input to the next.
//
// decode_update is run whatever the TSIG outcome (as if the message were
// signed by acme-key when it is not), so that mutated messages, whose MAC
// no longer matches, still reach the decoder, the grants and the store.
//
// Outcomes that count as normal: every TsigOutcome status and every RCODE;
// std::runtime_error from to_wire (documented). Anything escaping verify()
// or decode_update() (documented to report through their result instead)
// is a finding, as is any sanitizer report.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <span>
#include <stdexcept>
#include <vector>

#include "common/dns_wire.h"
#include "common/tsig_keyring.h"
#include "plugin/challenge_store.h"
#include "plugin/grant_table.h"
#include "plugin/tsig_verifier.h"
#include "plugin/update_message.h"
#include "plugin/zone_claims.h"

namespace {

using namespace acmezone;
using namespace acmezone::plugin;

constexpr std::uint64_t kNow = 1767225600;  // 2026-01-01T00:00:00Z; make_corpus signs at it
constexpr std::uint16_t kFudge = 300;

constexpr const char* kKeys = R"(
key "acme-key" { algorithm hmac-sha256; secret "kdrYRT+tT+aVpeSTAldk/XMzgwQHtTpMMAycoEnjmEI="; };
key "lab-key" { algorithm hmac-sha512; secret "bGFiLWtleS1zZWNyZXQtZm9yLWZ1enppbmctb25seQ=="; };
key "md5-key" { algorithm hmac-md5; secret "bWQ1LWtleS1zZWNyZXQtZm9yLWZ1enppbmc="; };
)";

struct World {
    TsigKeyring keyring = TsigKeyring::parse(kKeys, "fuzz-keys");
    ZoneClaims claims{{DnsName::parse("example.com")}, {DnsName::parse("acme.example.net")}};
    GrantTable grants{
        {Grant{DnsName::parse("acme-key"), Grant::Kind::zonesub, DnsName::parse("example.com")},
         Grant{DnsName::parse("acme-key"), Grant::Kind::zonesub,
               DnsName::parse("acme.example.net")},
         Grant{DnsName::parse("lab-key"), Grant::Kind::name,
               DnsName::parse("_acme-challenge.www.example.com")}},
        claims};
    DnsName default_key = DnsName::parse("acme-key");
};

const World& world() {
    static const World w;
    return w;
}

std::uint8_t run_update(const World& w, const ldns_pkt* request, const TsigOutcome& tsig) {
    DecodeResult d = decode_update(request, w.claims);
    if (d.rcode != kRcodeNoError) {
        return d.rcode;
    }
    const DnsName& key = tsig.key != nullptr ? tsig.key->name : w.default_key;
    if (w.grants.first_denied(key, d.request.names)) {
        return kRcodeRefused;
    }
    if (d.request.failed_prerequisite != kRcodeNoError) {
        return d.request.failed_prerequisite;
    }
    StoreOptions options;  // state_dir empty: memory only
    options.max_values_per_name = 4;
    options.max_values = 16;
    ChallengeStore store(options);
    const auto now = Clock::time_point(std::chrono::seconds(kNow));
    // Twice: the second apply meets the first one's values (renewals, limits, prerequisites).
    (void)store.apply(d.request.prerequisites, d.request.changes, now);
    return store.apply(d.request.prerequisites, d.request.changes, now).rcode;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static const bool kTrace = std::getenv("ACMEZONE_FUZZ_TRACE") != nullptr;
    const World& w = world();
    const std::span<const std::uint8_t> wire(data, size);
    (void)header_only_answer(wire, kRcodeFormErr);
    if (size < 12) {
        return 0;
    }
    // Started an hour before kNow: the seeds are signed at kNow, after the
    // start (a message signed before the start is BADTIME).
    TsigVerifier verifier(w.keyring, /*allow_hmac_md5=*/true, kFudge, /*allow_hmac_sha1=*/true,
                          /*started=*/kNow - 3600);
    const TsigOutcome tsig = verifier.verify(wire, kNow);
    (void)tsig.rcode();
    (void)tsig.tsig_error();

    const LdnsPkt request = parse_message(wire);
    if (!request) {
        auto answer = header_only_answer(wire, kRcodeFormErr);
        verifier.sign_answer(answer, tsig, kNow);
        if (kTrace) {
            std::fprintf(stderr, "tsig %d (%s), ldns cannot parse: FORMERR\n",
                         static_cast<int>(tsig.status), tsig.detail.c_str());
        }
        return 0;
    }
    std::uint8_t rcode = tsig.rcode();
    const std::uint8_t update_rcode = run_update(w, request.get(), tsig);
    if (rcode == kRcodeNoError) {
        rcode = update_rcode;
    }
    std::vector<std::uint8_t> out;
    try {
        const LdnsPkt answer = make_answer(request.get(), rcode, /*aa=*/true);
        out = to_wire(answer.get());
    } catch (const std::runtime_error&) {
        out = header_only_answer(wire, kRcodeServFail);  // what handle() answers
    }
    verifier.sign_answer(out, tsig, kNow);
    if (kTrace) {  // ACMEZONE_FUZZ_TRACE=1: what a seed or reproducer gets
        std::fprintf(stderr, "tsig %d (%s) rcode %s, answer %zu octets\n",
                     static_cast<int>(tsig.status), tsig.detail.c_str(), rcode_name(rcode).c_str(),
                     out.size());
    }
    return 0;
}
