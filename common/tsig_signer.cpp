// Client-side TSIG signing and answer checking; see tsig_signer.h.
#include "common/tsig_signer.h"

#include <openssl/crypto.h>

#include <ctime>
#include <stdexcept>

#include "common/dns_wire.h"

namespace acmezone {
namespace {

// TSIG RDATA field indexes in ldns's TSIG rr.
constexpr std::size_t kAlgorithm = 0;
constexpr std::size_t kTimeSigned = 1;
constexpr std::size_t kFudge = 2;
constexpr std::size_t kMac = 3;
constexpr std::size_t kError = 5;
constexpr std::size_t kOtherData = 6;

std::uint64_t read_uint48(const std::uint8_t* p) {
    std::uint64_t v = 0;
    for (int i = 0; i < 6; ++i) {
        v = (v << 8) | p[i];
    }
    return v;
}

std::optional<std::uint64_t> rdf_time(const ldns_rdf* rdf) {
    if (rdf == nullptr || ldns_rdf_size(rdf) != 6) {
        return std::nullopt;
    }
    return read_uint48(ldns_rdf_data(rdf));
}

}  // namespace

std::string tsig_error_name(std::uint16_t code) {
    switch (code) {
        case 0:
            return "NOERROR";
        case 16:
            return "BADSIG";
        case 17:
            return "BADKEY";
        case 18:
            return "BADTIME";
        case 19:
            return "BADMODE";
        case 20:
            return "BADNAME";
        case 21:
            return "BADALG";
        case 22:
            return "BADTRUNC";
        default:
            return "TSIG error " + std::to_string(code);
    }
}

TsigSigner::TsigSigner(const TsigKey& key)
    : key_name_(key.name),
      algorithm_(std::string(wire_name(key.algorithm))),
      secret_base64_(key.secret_base64()) {}

TsigSigner::~TsigSigner() {
    OPENSSL_cleanse(secret_base64_.data(), secret_base64_.size());
}

TsigSigner::Signed TsigSigner::sign(ldns_pkt* request) const {
    ldns_status status =
        ldns_pkt_tsig_sign(request, key_name_.fqdn().c_str(), secret_base64_.c_str(),
                           kTsigFudgeSeconds, algorithm_.c_str(), nullptr);
    if (status != LDNS_STATUS_OK) {
        throw std::runtime_error("cannot sign with TSIG key " + key_name_.text() + " (" +
                                 algorithm_ + "): " + ldns_get_errorstr_by_id(status));
    }
    const ldns_rr* tsig = ldns_pkt_tsig(request);
    if (tsig == nullptr || ldns_rr_rd_count(tsig) <= kMac) {
        throw std::runtime_error("ldns signed with TSIG key " + key_name_.text() +
                                 " but left no TSIG record");
    }
    Signed out;
    out.mac.reset(ldns_rdf_clone(ldns_rr_rdf(tsig, kMac)));
    std::uint8_t* raw = nullptr;
    std::size_t size = 0;
    status = ldns_pkt2wire(&raw, request, &size);
    std::unique_ptr<std::uint8_t, LdnsMallocFree> owned(raw);
    if (status != LDNS_STATUS_OK || !owned || !out.mac) {
        throw std::runtime_error(std::string("cannot render the signed message: ") +
                                 ldns_get_errorstr_by_id(status));
    }
    out.wire.assign(owned.get(), owned.get() + size);
    return out;
}

TsigSigner::Verdict TsigSigner::check_answer(ldns_pkt* answer,
                                             std::span<const std::uint8_t> answer_wire,
                                             const Signed& request) const {
    return check_answer(answer, answer_wire, request,
                        static_cast<std::uint64_t>(std::time(nullptr)));
}

TsigSigner::Verdict TsigSigner::check_answer(ldns_pkt* answer,
                                             std::span<const std::uint8_t> answer_wire,
                                             const Signed& request, std::uint64_t now) const {
    return judge(answer, answer_wire, request.mac.get(), false, now);
}

TsigSigner::Verdict TsigSigner::check_next(ldns_pkt* answer,
                                           std::span<const std::uint8_t> answer_wire,
                                           const ldns_rdf* previous_mac, std::uint64_t now) const {
    return judge(answer, answer_wire, previous_mac, true, now);
}

TsigSigner::Verdict TsigSigner::judge(ldns_pkt* answer, std::span<const std::uint8_t> answer_wire,
                                      const ldns_rdf* prior_mac, bool timers_only,
                                      std::uint64_t now) const {
    Verdict v;
    const ldns_rr* tsig = ldns_pkt_tsig(answer);
    if (tsig == nullptr || ldns_rr_rd_count(tsig) <= kOtherData) {
        v.kind = Verdict::Kind::unsigned_answer;
        return v;
    }
    std::optional<std::uint64_t> signed_at = rdf_time(ldns_rr_rdf(tsig, kTimeSigned));
    if (signed_at) {
        v.skew = static_cast<std::int64_t>(*signed_at) - static_cast<std::int64_t>(now);
    }
    const ldns_rdf* error_rdf = ldns_rr_rdf(tsig, kError);
    std::uint16_t error = error_rdf != nullptr && ldns_rdf_size(error_rdf) == 2
                              ? ldns_rdf2native_int16(error_rdf)
                              : 0;
    if (error != 0) {
        v.kind = Verdict::Kind::tsig_error;
        v.tsig_error = error;
        // BADTIME answers carry the server's clock in Other Data (6 octets).
        const ldns_rdf* other = ldns_rr_rdf(tsig, kOtherData);
        if (error == 18 && other != nullptr && ldns_rdf_size(other) == 8) {
            v.skew = static_cast<std::int64_t>(read_uint48(ldns_rdf_data(other) + 2)) -
                     static_cast<std::int64_t>(now);
        }
        return v;
    }
    std::optional<DnsName> answer_key = from_ldns_dname(ldns_rr_owner(tsig), &v.detail);
    if (!answer_key || *answer_key != key_name_) {
        if (answer_key) {
            v.detail = answer_key->text();
        }
        v.kind = Verdict::Kind::other_key;
        return v;
    }
    const ldns_rdf* alg = ldns_rr_rdf(tsig, kAlgorithm);
    std::optional<DnsName> answer_alg = from_ldns_dname(alg);
    if (!answer_alg || answer_alg->text() != DnsName::parse(algorithm_).text()) {
        v.kind = Verdict::Kind::bad_mac;
        return v;
    }
    if (!ldns_pkt_tsig_verify_next(answer, answer_wire.data(), answer_wire.size(),
                                   key_name_.fqdn().c_str(), secret_base64_.c_str(), prior_mac,
                                   timers_only ? 1 : 0)) {
        v.kind = Verdict::Kind::bad_mac;
        return v;
    }
    const ldns_rdf* fudge_rdf = ldns_rr_rdf(tsig, kFudge);
    std::int64_t fudge = fudge_rdf != nullptr && ldns_rdf_size(fudge_rdf) == 2
                             ? ldns_rdf2native_int16(fudge_rdf)
                             : kTsigFudgeSeconds;
    if (!v.skew || *v.skew > fudge || *v.skew < -fudge) {
        v.kind = Verdict::Kind::bad_time;
        return v;
    }
    v.kind = Verdict::Kind::ok;
    return v;
}

}  // namespace acmezone
