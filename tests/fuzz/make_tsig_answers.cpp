// Seed generator for corpus/fuzz_tsig_answer: control socket answers to the
// issuer's UPDATEs, made by the code on both sides of the real exchange:
// the issuer builds and signs the UPDATE as send_update() does
// (make_txt_rr, ldns_update_pkt_new, TsigSigner::sign), the plugin verifies
// it and answers as its control handler does (TsigVerifier::verify,
// make_answer, to_wire, TsigVerifier::sign_answer) with the answer signed
// at kNow (fuzz_tsig_answer.h), so that the target, judging at kNow, finds
// the good ones `ok`.
//
//     fuzz_make_tsig_answers CORPUS_DIR   writes CORPUS_DIR/fuzz_tsig_answer/<name>.bin
//
// Not deterministic: ldns signs the request at the current time, so the
// request MACs (and the answers' MACs over them) differ from run to run.
#include <cstdint>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "common/tsig_keyring.h"
#include "common/tsig_signer.h"
#include "fuzz_tsig_answer.h"
#include "issuer/dns/dns_exchange.h"
#include "issuer/dns/ldns_glue.h"
#include "plugin/tsig_verifier.h"
#include "plugin/update_message.h"

namespace {

using namespace acmezone;
using namespace acmezone::fuzz_tsig_answer;

constexpr std::uint16_t kFudge = 300;

// The plugin's keyring with acme-key's secret changed (the issuer's BADSIG).
constexpr const char* kOtherSecret = R"(
key "acme-key" { algorithm hmac-sha256; secret "b3RoZXItc2VjcmV0LWZvci1mdXp6aW5nLW9ubHktMzI="; };
)";
// A key the plugin does not have (BADKEY).
constexpr const char* kUnknownKey = R"(
key "unknown-key" { algorithm hmac-sha256; secret "dW5rbm93bi1rZXktc2VjcmV0LWZvci1mdXp6aW5nLTM="; };
)";

// An UPDATE adding `values` at _acme-challenge.example.com, signed by the issuer.
TsigSigner::Signed issuer_update(const TsigKey& key, std::uint16_t id, bool add) {
    const DnsName owner = DnsName::parse("_acme-challenge.example.com");
    LdnsRrList updates(ldns_rr_list_new());
    for (const char* value : {"gfj9Xq-5Ot2Xb1mVsSkTrDIrdGCkF0JmuZVb1z3tKqA",
                              "LPsIwTo7o8BoG0-vjCyGQGBWSVIPxI-i_X336eUOQZo"}) {
        LdnsRr rr =
            issuer::make_txt_rr(owner, value, add ? LDNS_RR_CLASS_IN : LDNS_RR_CLASS_NONE, 0);
        if (!ldns_rr_list_push_rr(updates.get(), rr.get())) {
            throw std::runtime_error("ldns_rr_list_push_rr failed");
        }
        (void)rr.release();
    }
    LdnsPkt update(
        ldns_update_pkt_new(issuer::to_ldns_dname(DnsName::parse("example.com")).release(),
                            LDNS_RR_CLASS_IN, nullptr, updates.get(), nullptr));
    ldns_pkt_set_rd(update.get(), false);
    ldns_pkt_set_id(update.get(), id);
    return TsigSigner(key).sign(update.get());
}

// The plugin's answer to `request`: `rcode` unless TSIG fails, signed at kNow.
std::vector<std::uint8_t> plugin_answer(const TsigKeyring& ring, const TsigSigner::Signed& request,
                                        std::uint8_t rcode, std::uint64_t verify_at,
                                        bool sign = true) {
    plugin::TsigVerifier verifier(ring, /*allow_hmac_md5=*/true, kFudge,
                                  /*allow_hmac_sha1=*/false, /*started=*/0);
    const plugin::TsigOutcome tsig = verifier.verify(request.wire, verify_at);
    ldns_pkt* raw = nullptr;
    if (ldns_wire2pkt(&raw, request.wire.data(), request.wire.size()) != LDNS_STATUS_OK) {
        throw std::runtime_error("the request does not parse");
    }
    const LdnsPkt parsed(raw);
    const std::uint8_t answered = tsig.rcode() != 0 ? tsig.rcode() : rcode;
    std::vector<std::uint8_t> out =
        acmezone::to_wire(plugin::make_answer(parsed.get(), answered, /*aa=*/true).get());
    if (sign) {
        verifier.sign_answer(out, tsig, kNow);
    }
    return out;
}

void write(const std::filesystem::path& dir, const std::string& name,
           const TsigSigner::Signed& request, const std::vector<std::uint8_t>& answer) {
    const ldns_rdf* mac = request.mac.get();
    if (ldns_rdf_size(mac) > 255) {
        throw std::runtime_error("request MAC longer than 255 octets");
    }
    std::vector<std::uint8_t> bytes{static_cast<std::uint8_t>(ldns_rdf_size(mac))};
    bytes.insert(bytes.end(), ldns_rdf_data(mac), ldns_rdf_data(mac) + ldns_rdf_size(mac));
    bytes.insert(bytes.end(), answer.begin(), answer.end());
    std::ofstream out(dir / (name + ".bin"), std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(bytes.data()),
              static_cast<std::streamsize>(bytes.size()));
    if (!out) {
        throw std::runtime_error("cannot write " + (dir / name).string());
    }
}

void make_answers(const std::filesystem::path& dir) {
    const TsigKeyring ring = TsigKeyring::parse(kKeys, "make_tsig_answers");
    const TsigKeyring other_secret = TsigKeyring::parse(kOtherSecret, "other secret");
    const TsigKeyring unknown = TsigKeyring::parse(kUnknownKey, "unknown key");
    const TsigKey& acme = *ring.find(DnsName::parse("acme-key"));
    const TsigKey& lab = *ring.find(DnsName::parse("lab-key"));
    const TsigKey& md5 = *ring.find(DnsName::parse("md5-key"));
    const auto now = static_cast<std::uint64_t>(std::time(nullptr));

    const auto add = issuer_update(acme, 0x2001, true);
    write(dir, "noerror_sha256", add, plugin_answer(ring, add, 0, now));
    write(dir, "refused_sha256", add, plugin_answer(ring, add, 5, now));
    write(dir, "notauth_sha256", add, plugin_answer(ring, add, 9, now));
    write(dir, "noerror_unsigned", add, plugin_answer(ring, add, 0, now, /*sign=*/false));
    write(dir, "badtime_server_ahead", add, plugin_answer(ring, add, 0, now + 4000));
    write(dir, "badsig_other_secret", add, plugin_answer(other_secret, add, 0, now));
    const auto del = issuer_update(acme, 0x2002, false);
    write(dir, "delete_noerror_sha256", del, plugin_answer(ring, del, 0, now));
    const auto by_lab = issuer_update(lab, 0x2003, true);
    write(dir, "noerror_sha512", by_lab, plugin_answer(ring, by_lab, 0, now));
    const auto by_md5 = issuer_update(md5, 0x2004, true);
    write(dir, "noerror_md5", by_md5, plugin_answer(ring, by_md5, 0, now));
    const auto by_unknown =
        issuer_update(*unknown.find(DnsName::parse("unknown-key")), 0x2005, true);
    write(dir, "badkey_unknown_key", by_unknown, plugin_answer(ring, by_unknown, 0, now));
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 2) {
        std::fprintf(stderr, "usage: %s CORPUS_DIR\n", argv[0]);
        return 2;
    }
    try {
        const std::filesystem::path dir = std::filesystem::path(argv[1]) / "fuzz_tsig_answer";
        std::filesystem::create_directories(dir);
        make_answers(dir);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "make_tsig_answers: %s\n", e.what());
        return 1;
    }
    return 0;
}
