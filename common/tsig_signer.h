// Client-side TSIG (RFC 8945): sign a request, then judge the answer. The
// issuer signs its UPDATEs with it, the catalog transfer (axfr_client.h) its
// AXFR requests.
//
// sign() adds a TSIG record (fudge 300 s, time now) with ldns_pkt_tsig_sign
// and keeps the request MAC, which the answer's MAC covers. check_answer()
// sorts the answer into one of the cases an operator must tell apart:
//   - the answer carries a TSIG error (BADSIG, BADKEY, BADTIME, ...): the
//     server refused our signature; such answers are unsigned (BADTIME ones
//     are signed and carry the server's clock, reported when present);
//   - the answer is unsigned, signed with another key, or its MAC does not
//     verify (ldns_pkt_tsig_verify): it cannot be trusted;
//   - its time is off by more than its fudge: our clock differs;
//   - ok.
// The rcode is the caller's to judge, after the TSIG verdict.
//
// The signer holds the key's secret (base64, as ldns wants it) and never
// prints it; no Verdict text contains it. It is immutable after
// construction: one signer may serve many threads.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "common/ldns_ptr.h"
#include "common/tsig_keyring.h"

namespace acmezone {

inline constexpr std::uint16_t kTsigFudgeSeconds = 300;

// "BADSIG", "BADKEY", "BADTIME", "BADMODE", "BADNAME", "BADALG", "BADTRUNC";
// "TSIG error N" otherwise.
std::string tsig_error_name(std::uint16_t code);

class TsigSigner {
  public:
    explicit TsigSigner(const TsigKey& key);
    TsigSigner(const TsigSigner&) = delete;
    TsigSigner& operator=(const TsigSigner&) = delete;
    ~TsigSigner();

    struct Signed {
        std::vector<std::uint8_t> wire;  // the request as sent, TSIG included
        LdnsRdf mac;                     // the request MAC
    };
    // Signs `request` in place (set its ID first) and returns its wire form.
    // Throws std::runtime_error when ldns cannot sign (unknown algorithm).
    Signed sign(ldns_pkt* request) const;

    struct Verdict {
        enum class Kind { ok, tsig_error, unsigned_answer, other_key, bad_mac, bad_time };
        Kind kind = Kind::ok;
        std::uint16_t tsig_error = 0;      // for Kind::tsig_error
        std::optional<std::int64_t> skew;  // server time minus ours, seconds, when known
        std::string detail;                // for other_key: the answer's key name
    };
    // `answer` is the parsed answer (its TSIG record in ldns_pkt_tsig),
    // `answer_wire` the octets received.
    Verdict check_answer(ldns_pkt* answer, std::span<const std::uint8_t> answer_wire,
                         const Signed& request) const;
    // The same at a given time (seconds since the epoch) instead of the
    // clock's: pure, whatever `answer` holds (the fuzz target calls it).
    Verdict check_answer(ldns_pkt* answer, std::span<const std::uint8_t> answer_wire,
                         const Signed& request, std::uint64_t now) const;

    // A later message of a multi-message answer (AXFR, RFC 8945 section
    // 5.3.1): its MAC covers the previous message's MAC and, of itself, the
    // timers only. Every message must be signed (BIND signs each).
    Verdict check_next(ldns_pkt* answer, std::span<const std::uint8_t> answer_wire,
                       const ldns_rdf* previous_mac, std::uint64_t now) const;

    const DnsName& key_name() const { return key_name_; }

  private:
    Verdict judge(ldns_pkt* answer, std::span<const std::uint8_t> answer_wire,
                  const ldns_rdf* prior_mac, bool timers_only, std::uint64_t now) const;

    DnsName key_name_;
    std::string algorithm_;  // the wire name, as ldns wants it
    std::string secret_base64_;
};

}  // namespace acmezone
