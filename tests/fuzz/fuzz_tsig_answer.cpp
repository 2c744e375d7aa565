// libFuzzer target: the issuer's verification of a control socket's signed
// answer (common/tsig_signer.h TsigSigner::check_answer), as
// challenge_dns.cpp send_update() does after each UPDATE: the answer parsed
// with ldns_wire2pkt (as dns_exchange.cpp does), then judged against the
// request MAC, at a fixed "now" (kNow) so that seeds signed at it verify.
//
// Input (fuzz_tsig_answer.h): the request MAC's length, the request MAC,
// the answer's wire form. Every input is judged by three signers, one per
// key of fuzz_tsig_answer.h (hmac-sha256, -sha512, -md5), and with an empty
// request MAC too.
//
// Normal outcomes: ldns refusing the answer, and every Verdict kind. What
// must hold, or the target aborts: `ok` only for an answer whose TSIG record
// is owned by the signer's key and has no TSIG error; `tsig_error` only with
// a nonzero error; a skew only when the answer carries a time. check_answer
// is not documented to throw: anything thrown, and any sanitizer report, is
// a finding.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <span>
#include <vector>

#include "common/tsig_keyring.h"
#include "common/tsig_signer.h"
#include "fuzz_tsig_answer.h"
#include "issuer/dns/ldns_glue.h"

namespace {

using namespace acmezone;
using namespace acmezone::issuer;
using namespace acmezone::fuzz_tsig_answer;

void require(bool ok) {
    if (!ok) {
        std::abort();
    }
}

struct World {
    TsigKeyring keyring = TsigKeyring::parse(kKeys, "fuzz-keys");
    std::vector<std::unique_ptr<TsigSigner>> signers;
    World() {
        for (const char* name : {"acme-key", "lab-key", "md5-key"}) {
            signers.push_back(std::make_unique<TsigSigner>(*keyring.find(DnsName::parse(name))));
        }
    }
};

const World& world() {
    static const World w;
    return w;
}

const char* kind_name(TsigSigner::Verdict::Kind k) {
    switch (k) {
        case TsigSigner::Verdict::Kind::ok:
            return "ok";
        case TsigSigner::Verdict::Kind::tsig_error:
            return "tsig_error";
        case TsigSigner::Verdict::Kind::unsigned_answer:
            return "unsigned_answer";
        case TsigSigner::Verdict::Kind::other_key:
            return "other_key";
        case TsigSigner::Verdict::Kind::bad_mac:
            return "bad_mac";
        case TsigSigner::Verdict::Kind::bad_time:
            return "bad_time";
    }
    return "?";
}

void judge(const TsigSigner& signer, ldns_pkt* answer, std::span<const std::uint8_t> wire,
           const TsigSigner::Signed& request, bool trace) {
    const TsigSigner::Verdict v = signer.check_answer(answer, wire, request, kNow);
    const ldns_rr* tsig = ldns_pkt_tsig(answer);
    switch (v.kind) {
        case TsigSigner::Verdict::Kind::ok: {
            require(tsig != nullptr && v.skew.has_value());
            const std::optional<DnsName> owner = from_ldns_dname(ldns_rr_owner(tsig));
            require(owner.has_value() && *owner == signer.key_name());
            break;
        }
        case TsigSigner::Verdict::Kind::tsig_error:
            require(v.tsig_error != 0);
            (void)tsig_error_name(v.tsig_error);
            break;
        case TsigSigner::Verdict::Kind::unsigned_answer:
            require(!v.skew.has_value());
            break;
        default:
            break;
    }
    if (trace) {
        std::fprintf(stderr, "%s: %s%s\n", signer.key_name().text().c_str(), kind_name(v.kind),
                     v.kind == TsigSigner::Verdict::Kind::tsig_error
                         ? (" " + tsig_error_name(v.tsig_error)).c_str()
                         : "");
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static const bool kTrace = std::getenv("ACMEZONE_FUZZ_TRACE") != nullptr;
    const World& w = world();
    if (size < 1 || size - 1 < data[0]) {
        return 0;
    }
    const std::size_t mac_size = data[0];
    const std::span<const std::uint8_t> wire(data + 1 + mac_size, size - 1 - mac_size);

    const LdnsPkt answer = parse_message(wire);
    if (!answer) {
        return 0;  // dns_exchange: "an answer that does not parse"
    }

    TsigSigner::Signed request;
    request.mac.reset(ldns_rdf_new_frm_data(LDNS_RDF_TYPE_INT16_DATA, mac_size, data + 1));
    const TsigSigner::Signed no_mac;  // null: ldns then checks the answer as a request
    for (const auto& signer : w.signers) {
        judge(*signer, answer.get(), wire, request, kTrace);
        judge(*signer, answer.get(), wire, no_mac, false);
    }
    return 0;
}
