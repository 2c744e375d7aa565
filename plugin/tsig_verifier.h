// Server-side TSIG (RFC 8945): checks the signature of a request to the
// control socket and signs the answer.
//
// Why not ldns_pkt_tsig_verify/_sign: they return a bare bool, cannot check a
// truncated MAC, and cannot put an Error code or Other Data (the server time
// of a BADTIME answer) into a signed answer. So the MAC is computed here
// (OpenSSL HMAC over the RFC 8945 §4.3 digest input) and the unit tests
// check it against ldns and the integration tests against nsupdate.
//
// Checks, in RFC 8945 §5.2 order; the answer each failure gets:
//   no TSIG record                       unsigned_message (the caller decides:
//                                        UPDATE → REFUSED, QUERY → answered)
//   TSIG not last / twice / bad rdata    FORMERR, unsigned
//   unknown key, algorithm other than    NOTAUTH + BADKEY, unsigned (MAC size 0)
//     the key's, MD5 or SHA-1 not allowed
//   MAC longer than the digest, or       FORMERR, unsigned (§5.2.2.1)
//     shorter than max(10, digest/2)
//   MAC wrong                            NOTAUTH + BADSIG, unsigned
//   |now - time signed| > fudge          NOTAUTH + BADTIME, signed, Time Signed
//     (fudge = min(request's, config))     = the request's, Other Data = our time
//   MAC truncated (allowed length but    NOTAUTH + BADTRUNC, signed: this server
//     shorter than the digest)             accepts full-length MACs only
//   replay: the same (key, MAC) seen     REFUSED, signed. Chosen over BADTIME
//     within the fudge window              because the time is right and a
//                                          client that sees BADTIME would retry
//                                          with a "corrected" clock for nothing.
//
//   time signed before the verifier     NOTAUTH + BADTIME, signed (below)
//     started
//   replay memory full                   REFUSED, signed (below)
//
// The replay memory holds each accepted (key, MAC) until its time signed +
// fudge has passed (after that the time check refuses it anyway), at most
// kMaxRemembered entries. An entry is never forgotten inside its window:
// when the memory is full, new messages are refused (REFUSED, and the
// control socket logs why) until the oldest leave it; a key holder who
// sends fast can delay others' updates for one fudge window, but can never
// flush another key's entries to replay its messages.
//
// Restarts. The memory lives in memory only; it lasts as long as the
// verifier, which the plugin's core owns, so `rndc reload` (which keeps
// the core) keeps it. A new verifier (named restarted) refuses every
// message signed before it started, as BADTIME: it cannot know which of
// them its predecessor saw, and BADTIME tells the client the server's time
// (a client whose clock is behind by d seconds is refused for d seconds
// after a start, then passes). This needs no disk write per message, which
// persisting the memory with the journal would.
//
// Retransmissions (verify_request + cache_answer, what the control socket
// uses). A client whose answer was lost (nsupdate over UDP) sends the very
// same signed octets again; refusing them as a replay would make it report
// failure for an update that was applied. So the memory also keeps, for
// the most recent kMaxCachedAnswers requests and while they are remembered
// (the fudge window), the octets of the answer sent, keyed by (key, MAC)
// and checked against a SHA-256 of the whole request and its transport:
//   same key, MAC, octets and transport, answer cached  retransmission: the
//                                                      cached answer, same
//                                                      octets; nothing is
//                                                      applied again
//   same, but the first copy is still being answered    in_progress: no
//                                                      answer (the client
//                                                      retries; by then it
//                                                      is cached)
//   anything else seen before: other octets (say a new  replay: REFUSED, as
//     ID), the other transport, an answer too big to     above
//     cache (> kMaxCachedAnswerOctets) or one evicted
// TCP is treated as UDP: an identical message sent again over TCP (on a
// new connection, after the first closed before its answer was read) gets
// the cached answer too. It must come over TCP again: a UDP answer may be
// truncated, and a client that switches transport re-signs anyway.
// A message from another key carrying the same MAC never reaches the
// memory: its MAC does not verify under its own key (BADSIG), and the
// memory is keyed by key name anyway.
//
// Thread-safety: verify(), verify_request(), cache_answer() and
// sign_answer() may be called from several threads at once (the replay
// memory and answer cache share one lock). The keyring must
// outlive the verifier. Secrets never reach a log line or a detail string.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <ctime>
#include <deque>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/dns_name.h"
#include "common/lock_guarded.h"
#include "common/tsig_keyring.h"

namespace acmezone::plugin {

// TSIG error codes (RFC 8945 §3) and the RCODEs that carry them.
inline constexpr std::uint16_t kTsigBadSig = 16;
inline constexpr std::uint16_t kTsigBadKey = 17;
inline constexpr std::uint16_t kTsigBadTime = 18;
inline constexpr std::uint16_t kTsigBadTrunc = 22;

// A TSIG record as read from the wire.
struct TsigRecord {
    DnsName key_name;
    DnsName algorithm;              // as sent, e.g. "hmac-sha256"
    std::uint64_t time_signed = 0;  // 48 bits, seconds since the epoch
    std::uint16_t fudge = 0;
    std::vector<std::uint8_t> mac;
    std::uint16_t original_id = 0;
    std::uint16_t error = 0;
    std::vector<std::uint8_t> other;
};

struct TsigOutcome {
    enum class Status {
        unsigned_message,
        ok,
        formerr,
        badkey,
        badsig,
        badtime,
        badtrunc,
        replay,
        memory_full,     // the replay memory is full: REFUSED, signed
        retransmission,  // verify_request only: answer with `cached_answer`, as it is
        in_progress,     // verify_request only: the first copy is being answered; drop this
    };
    Status status = Status::unsigned_message;
    std::optional<TsigRecord> request;        // the request's TSIG, when it could be read
    const TsigKey* key = nullptr;             // the key, when known and usable
    std::string detail;                       // why, for the log (names key, never its secret)
    std::vector<std::uint8_t> cached_answer;  // retransmission: the answer sent the first time
    std::string memory_id;  // ok from verify_request: where cache_answer() stores the answer

    // The RCODE of the answer for a failed check (0 for ok/unsigned_message,
    // and for retransmission/in_progress, which the caller answers itself).
    std::uint8_t rcode() const;
    // The TSIG Error field of the answer.
    std::uint16_t tsig_error() const;
    // True when the answer carries a TSIG record at all (every status but
    // unsigned_message and formerr).
    bool answer_has_tsig() const;
};

class TsigVerifier {
  public:
    static constexpr std::size_t kMaxRemembered = 100000;
    static constexpr std::size_t kMaxCachedAnswers = 1024;
    static constexpr std::size_t kMaxCachedAnswerOctets = 4096;

    enum class Transport { udp, tcp };

    // MD5 and SHA-1 keys are refused (BADKEY) unless allowed.
    // `started`: seconds since the epoch when this verifier (the core)
    // started; messages signed before it are BADTIME (see above).
    // `max_remembered`: the replay memory's size (tests make it small).
    TsigVerifier(const TsigKeyring& keyring, bool allow_hmac_md5, std::uint16_t fudge,
                 bool allow_hmac_sha1 = false,
                 std::uint64_t started = static_cast<std::uint64_t>(std::time(nullptr)),
                 std::size_t max_remembered = kMaxRemembered);

    // Checks `wire`, a whole DNS message as received. `now` in seconds since
    // the epoch. Every message seen before is a replay (no answer cache).
    TsigOutcome verify(std::span<const std::uint8_t> wire, std::uint64_t now);

    // The same checks, with retransmissions recognised (see above). After an
    // `ok` outcome the caller must call cache_answer() with the answer it
    // sends (or an empty one when it sends none): until then copies of the
    // request are in_progress.
    TsigOutcome verify_request(std::span<const std::uint8_t> wire, std::uint64_t now,
                               Transport transport);
    void cache_answer(const TsigOutcome& outcome, std::span<const std::uint8_t> answer);

    // Appends the answer's TSIG record to `answer` (a complete message without
    // TSIG, answering the request `outcome` is about) and increments ARCOUNT.
    // Does nothing when !outcome.answer_has_tsig().
    void sign_answer(std::vector<std::uint8_t>& answer, const TsigOutcome& outcome,
                     std::uint64_t now) const;

    // Octets sign_answer() will append (to decide on truncation beforehand).
    static std::size_t answer_tsig_size(const TsigOutcome& outcome);

  private:
    struct RequestPrint;  // what a retransmission must match besides the MAC
    TsigOutcome check(std::span<const std::uint8_t> wire, std::uint64_t now,
                      const RequestPrint* print);

    const TsigKeyring& keyring_;
    bool allow_hmac_md5_;
    bool allow_hmac_sha1_;
    std::uint16_t fudge_;
    std::uint64_t started_;
    std::size_t max_remembered_;

    // The memory holds every request accepted in the fudge window (up to
    // kMaxRemembered), so each costs little: (key, MAC) as a SHA-256 of key
    // name, 0 and MAC (two different pairs never share one: that would be a
    // SHA-256 collision), the print inline, an answer only for the newest
    // kMaxCachedAnswers; the order queue points at the map's own keys.
    using MemoryKey = std::array<std::uint8_t, 32>;
    struct MemoryKeyHash {
        std::size_t operator()(const MemoryKey& k) const noexcept;
    };
    struct Seen {
        const MemoryKey* id;  // the key of its entry in `entries` (stable: a node map)
        std::uint64_t forget_after;
    };
    struct Remembered {
        enum class State : std::uint8_t { pending, answered, no_answer };
        State state = State::no_answer;
        bool has_print = false;
        std::array<char, 33> print{};  // SHA-256 of the request octets, then 'u' or 't'
        std::vector<std::uint8_t> answer;
    };
    struct ReplayMemory {
        std::deque<Seen> order;  // in insertion order
        std::unordered_map<MemoryKey, Remembered, MemoryKeyHash> entries;
        std::deque<MemoryKey> answered;  // ids whose answer was cached, oldest first
    };
    LockGuarded<ReplayMemory> replay_;
};

// The HMAC of a TSIG-signed message (RFC 8945 §4.3): over the request MAC
// (answers only, prefixed by its length), the message (without its TSIG,
// original ID in place, ARCOUNT as without the TSIG) and the TSIG variables.
// Exposed for the unit tests.
std::vector<std::uint8_t> tsig_mac(const TsigKey& key, std::span<const std::uint8_t> request_mac,
                                   bool is_answer, std::span<const std::uint8_t> message,
                                   const TsigRecord& variables);

// Canonical (lower-case, uncompressed) wire form of a name.
std::vector<std::uint8_t> name_to_wire(const DnsName& name);

}  // namespace acmezone::plugin
