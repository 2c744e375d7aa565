// Server-side TSIG: see tsig_verifier.h for the checks and the answers.
//
// Wire notes. The TSIG record must be the last record of the additional
// section and appear once (RFC 8945 §5.1); the message is walked here record
// by record (names may be compressed; pointers must point backwards, so a
// walk always ends) to find where it starts. The digest input is the
// message up to that offset with ARCOUNT decremented and the ID replaced by
// the TSIG's Original ID.
#include "plugin/tsig_verifier.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include <algorithm>
#include <cstring>
#include <stdexcept>
#include <string_view>

namespace acmezone::plugin {
namespace {

constexpr std::size_t kHeaderSize = 12;
constexpr std::uint16_t kTypeTsig = 250;
constexpr std::uint16_t kClassAny = 255;

struct WireError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

std::uint16_t get16(std::span<const std::uint8_t> w, std::size_t pos) {
    if (pos + 2 > w.size()) {
        throw WireError("message ends inside a 16-bit field");
    }
    return static_cast<std::uint16_t>((w[pos] << 8) | w[pos + 1]);
}

void put16(std::vector<std::uint8_t>& out, std::uint16_t v) {
    out.push_back(static_cast<std::uint8_t>(v >> 8));
    out.push_back(static_cast<std::uint8_t>(v & 0xff));
}

void put48(std::vector<std::uint8_t>& out, std::uint64_t v) {
    for (int shift = 40; shift >= 0; shift -= 8) {
        out.push_back(static_cast<std::uint8_t>((v >> shift) & 0xff));
    }
}

// Reads a (possibly compressed) name at `pos`; advances `pos` past it in the
// record. Every pointer must point before the label that holds it.
DnsName read_name(std::span<const std::uint8_t> w, std::size_t& pos) {
    std::string text;
    std::size_t cur = pos;
    bool jumped = false;
    std::size_t limit = cur;  // pointers must point below this
    for (int steps = 0; steps < 256; ++steps) {
        if (cur >= w.size()) {
            throw WireError("message ends inside a name");
        }
        const std::uint8_t len = w[cur];
        if ((len & 0xc0) == 0xc0) {
            const std::size_t target = get16(w, cur) & 0x3fff;
            if (target >= limit) {
                throw WireError("compression pointer does not point backwards");
            }
            if (!jumped) {
                pos = cur + 2;
                jumped = true;
            }
            limit = target;
            cur = target;
            continue;
        }
        if ((len & 0xc0) != 0) {
            throw WireError("unknown label type");
        }
        if (len == 0) {
            if (!jumped) {
                pos = cur + 1;
            }
            std::string error;
            auto name = DnsName::try_parse(text.empty() ? "." : text, &error);
            if (!name) {
                throw WireError("bad name: " + error);
            }
            return *name;
        }
        if (cur + 1 + len > w.size()) {
            throw WireError("message ends inside a label");
        }
        const std::string label(reinterpret_cast<const char*>(w.data() + cur + 1), len);
        if (label.find('.') != std::string::npos) {
            throw WireError("label contains a dot");
        }
        text += label;
        text += '.';
        cur += 1 + len;
        if (!jumped) {
            limit = cur;
        }
    }
    throw WireError("name too long");
}

void skip_name(std::span<const std::uint8_t> w, std::size_t& pos) {
    (void)read_name(w, pos);
}

struct TsigLocation {
    std::size_t offset = 0;  // where the TSIG record starts
    bool present = false;
};

// Walks the whole message; throws WireError on anything malformed or on a
// TSIG record that is not the last one.
TsigLocation locate_tsig(std::span<const std::uint8_t> w) {
    if (w.size() < kHeaderSize) {
        throw WireError("message shorter than a DNS header");
    }
    const std::size_t qd = get16(w, 4);
    const std::size_t rrs = std::size_t{get16(w, 6)} + get16(w, 8) + get16(w, 10);
    const std::size_t first_additional = std::size_t{get16(w, 6)} + get16(w, 8);
    std::size_t pos = kHeaderSize;
    for (std::size_t i = 0; i < qd; ++i) {
        skip_name(w, pos);
        pos += 4;
        if (pos > w.size()) {
            throw WireError("message ends inside a question");
        }
    }
    TsigLocation loc;
    for (std::size_t i = 0; i < rrs; ++i) {
        const std::size_t start = pos;
        skip_name(w, pos);
        const std::uint16_t type = get16(w, pos);
        const std::size_t rdlen = get16(w, pos + 8);
        pos += 10 + rdlen;
        if (pos > w.size()) {
            throw WireError("message ends inside a record");
        }
        if (type == kTypeTsig) {
            if (i < first_additional || i + 1 != rrs) {
                throw WireError("TSIG record is not the last record of the additional section");
            }
            loc.present = true;
            loc.offset = start;
        }
    }
    if (pos != w.size()) {
        throw WireError("trailing octets after the last record");
    }
    return loc;
}

TsigRecord read_tsig(std::span<const std::uint8_t> w, std::size_t pos) {
    TsigRecord t;
    t.key_name = read_name(w, pos);
    if (get16(w, pos + 2) != kClassAny || get16(w, pos + 4) != 0 || get16(w, pos + 6) != 0) {
        throw WireError("TSIG record class is not ANY or TTL not 0");
    }
    const std::size_t rdlen = get16(w, pos + 8);
    pos += 10;
    const std::size_t end = pos + rdlen;
    auto rdata = w.subspan(0, end);  // reads beyond the rdata fail
    t.algorithm = read_name(rdata, pos);
    t.time_signed = (std::uint64_t{get16(rdata, pos)} << 32) |
                    (std::uint64_t{get16(rdata, pos + 2)} << 16) | get16(rdata, pos + 4);
    t.fudge = get16(rdata, pos + 6);
    const std::size_t mac_len = get16(rdata, pos + 8);
    pos += 10;
    if (pos + mac_len > end) {
        throw WireError("TSIG MAC runs past the record");
    }
    t.mac.assign(rdata.begin() + static_cast<std::ptrdiff_t>(pos),
                 rdata.begin() + static_cast<std::ptrdiff_t>(pos + mac_len));
    pos += mac_len;
    t.original_id = get16(rdata, pos);
    t.error = get16(rdata, pos + 2);
    const std::size_t other_len = get16(rdata, pos + 4);
    pos += 6;
    if (pos + other_len != end) {
        throw WireError("TSIG record length does not match its fields");
    }
    t.other.assign(rdata.begin() + static_cast<std::ptrdiff_t>(pos),
                   rdata.begin() + static_cast<std::ptrdiff_t>(end));
    return t;
}

const EVP_MD* digest_of(TsigAlgorithm alg) {
    switch (alg) {
        case TsigAlgorithm::hmac_md5:
            return EVP_md5();
        case TsigAlgorithm::hmac_sha1:
            return EVP_sha1();
        case TsigAlgorithm::hmac_sha224:
            return EVP_sha224();
        case TsigAlgorithm::hmac_sha256:
            return EVP_sha256();
        case TsigAlgorithm::hmac_sha384:
            return EVP_sha384();
        case TsigAlgorithm::hmac_sha512:
            return EVP_sha512();
    }
    return nullptr;
}

void append(std::vector<std::uint8_t>& out, std::span<const std::uint8_t> data) {
    out.insert(out.end(), data.begin(), data.end());
}

// The TSIG variables of RFC 8945 §4.3.3 (digest input) .
void append_variables(std::vector<std::uint8_t>& out, const TsigRecord& v) {
    append(out, name_to_wire(v.key_name));
    put16(out, kClassAny);
    put16(out, 0);  // TTL, 32 bits
    put16(out, 0);
    append(out, name_to_wire(v.algorithm));
    put48(out, v.time_signed);
    put16(out, v.fudge);
    put16(out, v.error);
    put16(out, static_cast<std::uint16_t>(v.other.size()));
    append(out, v.other);
}

std::string describe_key(const TsigRecord& t) {
    return "key " + t.key_name.text() + " (" + t.algorithm.text() + ")";
}

}  // namespace

std::vector<std::uint8_t> name_to_wire(const DnsName& name) {
    std::vector<std::uint8_t> out;
    for (std::string_view label : name.labels()) {
        out.push_back(static_cast<std::uint8_t>(label.size()));
        out.insert(out.end(), label.begin(), label.end());
    }
    out.push_back(0);
    return out;
}

std::vector<std::uint8_t> tsig_mac(const TsigKey& key, std::span<const std::uint8_t> request_mac,
                                   bool is_answer, std::span<const std::uint8_t> message,
                                   const TsigRecord& variables) {
    std::vector<std::uint8_t> input;
    input.reserve(message.size() + request_mac.size() + 300);
    if (is_answer) {
        put16(input, static_cast<std::uint16_t>(request_mac.size()));
        append(input, request_mac);
    }
    append(input, message);
    append_variables(input, variables);

    std::vector<std::uint8_t> out(EVP_MAX_MD_SIZE);
    unsigned int out_len = 0;
    if (HMAC(digest_of(key.algorithm), key.secret.data(), static_cast<int>(key.secret.size()),
             input.data(), input.size(), out.data(), &out_len) == nullptr) {
        throw std::runtime_error("TSIG: HMAC computation failed in OpenSSL");
    }
    out.resize(out_len);
    return out;
}

std::uint8_t TsigOutcome::rcode() const {
    switch (status) {
        case Status::unsigned_message:
        case Status::ok:
        case Status::retransmission:
        case Status::in_progress:
            return 0;
        case Status::formerr:
            return 1;
        case Status::replay:
        case Status::memory_full:
            return 5;
        case Status::badkey:
        case Status::badsig:
        case Status::badtime:
        case Status::badtrunc:
            return 9;  // NOTAUTH
    }
    return 2;
}

std::uint16_t TsigOutcome::tsig_error() const {
    switch (status) {
        case Status::badkey:
            return kTsigBadKey;
        case Status::badsig:
            return kTsigBadSig;
        case Status::badtime:
            return kTsigBadTime;
        case Status::badtrunc:
            return kTsigBadTrunc;
        default:
            return 0;
    }
}

bool TsigOutcome::answer_has_tsig() const {
    return status != Status::unsigned_message && status != Status::formerr &&
           status != Status::retransmission && status != Status::in_progress && request;
}

TsigVerifier::TsigVerifier(const TsigKeyring& keyring, bool allow_hmac_md5, std::uint16_t fudge,
                           bool allow_hmac_sha1, std::uint64_t started, std::size_t max_remembered)
    : keyring_(keyring),
      allow_hmac_md5_(allow_hmac_md5),
      allow_hmac_sha1_(allow_hmac_sha1),
      fudge_(fudge),
      started_(started),
      max_remembered_(max_remembered) {}

std::size_t TsigVerifier::MemoryKeyHash::operator()(const MemoryKey& k) const noexcept {
    std::size_t h = 0;  // the key is a SHA-256: any of its octets are spread evenly
    std::memcpy(&h, k.data(), sizeof h);
    return h;
}

struct TsigVerifier::RequestPrint {
    std::string text;  // SHA-256 of the request's octets, then 'u' or 't'
};

TsigOutcome TsigVerifier::verify(std::span<const std::uint8_t> wire, std::uint64_t now) {
    return check(wire, now, nullptr);
}

TsigOutcome TsigVerifier::verify_request(std::span<const std::uint8_t> wire, std::uint64_t now,
                                         Transport transport) {
    RequestPrint print;
    print.text.resize(SHA256_DIGEST_LENGTH);
    if (EVP_Digest(wire.data(), wire.size(), reinterpret_cast<unsigned char*>(print.text.data()),
                   nullptr, EVP_sha256(), nullptr) != 1) {
        throw std::runtime_error("TSIG: SHA-256 computation failed in OpenSSL");
    }
    print.text.push_back(transport == Transport::udp ? 'u' : 't');
    return check(wire, now, &print);
}

void TsigVerifier::cache_answer(const TsigOutcome& outcome, std::span<const std::uint8_t> answer) {
    if (outcome.status != TsigOutcome::Status::ok || outcome.memory_id.empty()) {
        return;
    }
    using State = Remembered::State;
    MemoryKey id{};
    if (outcome.memory_id.size() != id.size()) {
        return;
    }
    std::memcpy(id.data(), outcome.memory_id.data(), id.size());
    auto memory = replay_.lock();
    const auto it = memory->entries.find(id);
    if (it == memory->entries.end() || it->second.state != State::pending) {
        return;
    }
    if (answer.empty() || answer.size() > kMaxCachedAnswerOctets) {
        it->second.state = State::no_answer;  // a copy of the request is a replay
        return;
    }
    it->second.answer.assign(answer.begin(), answer.end());
    it->second.state = State::answered;
    memory->answered.push_back(id);
    // Keep the newest kMaxCachedAnswers (ids already forgotten just leave the queue).
    while (memory->answered.size() > kMaxCachedAnswers) {
        const auto old = memory->entries.find(memory->answered.front());
        if (old != memory->entries.end() && old->second.state == State::answered) {
            old->second.state = State::no_answer;
            std::vector<std::uint8_t>().swap(old->second.answer);
        }
        memory->answered.pop_front();
    }
}

TsigOutcome TsigVerifier::check(std::span<const std::uint8_t> wire, std::uint64_t now,
                                const RequestPrint* print) {
    using Status = TsigOutcome::Status;
    TsigOutcome out;
    TsigLocation loc;
    try {
        loc = locate_tsig(wire);
        if (!loc.present) {
            out.status = Status::unsigned_message;
            return out;
        }
        out.request = read_tsig(wire, loc.offset);
    } catch (const WireError& e) {
        out.status = Status::formerr;
        out.detail = std::string("malformed message: ") + e.what();
        return out;
    }
    const TsigRecord& t = *out.request;

    // §5.2.1: the key.
    const TsigKey* key = keyring_.find(t.key_name);
    if (key == nullptr) {
        out.status = Status::badkey;
        out.detail = "unknown " + describe_key(t);
        return out;
    }
    const auto alg = tsig_algorithm_from_name(t.algorithm.text());
    if (!alg || *alg != key->algorithm) {
        out.status = Status::badkey;
        out.detail = describe_key(t) + ": algorithm does not match the key's (" +
                     std::string(wire_name(key->algorithm)) + ")";
        return out;
    }
    if (key->algorithm == TsigAlgorithm::hmac_md5 && !allow_hmac_md5_) {
        out.status = Status::badkey;
        out.detail = describe_key(t) + ": HMAC-MD5 refused (set allow-hmac-md5 to accept it)";
        return out;
    }
    if (key->algorithm == TsigAlgorithm::hmac_sha1 && !allow_hmac_sha1_) {
        out.status = Status::badkey;
        out.detail = describe_key(t) + ": HMAC-SHA1 refused (set allow-hmac-sha1 to accept it)";
        return out;
    }

    // §5.2.2.1: MAC size.
    const std::size_t full = mac_size(key->algorithm);
    if (t.mac.size() > full || t.mac.size() < std::max<std::size_t>(10, full / 2)) {
        out.status = Status::formerr;
        out.detail = describe_key(t) + ": MAC of " + std::to_string(t.mac.size()) +
                     " octets is not allowed for this algorithm (" + std::to_string(full) +
                     " octets, truncated to no less than " +
                     std::to_string(std::max<std::size_t>(10, full / 2)) + ")";
        return out;
    }

    // §5.2.2: the MAC.
    std::vector<std::uint8_t> message(wire.begin(),
                                      wire.begin() + static_cast<std::ptrdiff_t>(loc.offset));
    message[0] = static_cast<std::uint8_t>(t.original_id >> 8);
    message[1] = static_cast<std::uint8_t>(t.original_id & 0xff);
    const std::uint16_t arcount = static_cast<std::uint16_t>((message[10] << 8) | message[11]);
    message[10] = static_cast<std::uint8_t>((arcount - 1) >> 8);
    message[11] = static_cast<std::uint8_t>((arcount - 1) & 0xff);
    const auto expected = tsig_mac(*key, {}, false, message, t);
    if (CRYPTO_memcmp(expected.data(), t.mac.data(), t.mac.size()) != 0) {
        out.status = Status::badsig;
        out.detail = describe_key(t) + ": MAC does not verify (wrong secret or altered message)";
        return out;
    }
    out.key = key;

    // §5.2.3: the time.
    const std::uint64_t fudge = std::min(t.fudge, fudge_);
    const std::uint64_t skew = now > t.time_signed ? now - t.time_signed : t.time_signed - now;
    if (skew > fudge) {
        out.status = Status::badtime;
        out.detail = describe_key(t) + ": time signed " + std::to_string(t.time_signed) + " is " +
                     std::to_string(skew) + " s from the server's " + std::to_string(now) +
                     " (fudge " + std::to_string(fudge) + " s)";
        return out;
    }

    // Signed before this verifier started: its replay memory cannot know
    // whether the message was seen by the process that ran before (see the
    // header), so it is refused like a stale time.
    if (t.time_signed < started_) {
        out.status = Status::badtime;
        out.detail = describe_key(t) + ": time signed " + std::to_string(t.time_signed) +
                     " is before the control socket started (" + std::to_string(started_) +
                     "): refused, as it may be a replay from before a restart; sign anew";
        return out;
    }

    // §5.2.4: truncation (this server accepts full MACs only).
    if (t.mac.size() < full) {
        out.status = Status::badtrunc;
        out.detail = describe_key(t) + ": truncated MAC (" + std::to_string(t.mac.size()) + " of " +
                     std::to_string(full) + " octets) not accepted";
        return out;
    }

    // Replay memory and, with a print, the answer cache (see the header).
    using State = Remembered::State;
    MemoryKey id{};
    {
        std::string pair = t.key_name.text();
        pair.push_back('\0');
        pair.append(t.mac.begin(), t.mac.end());
        if (EVP_Digest(pair.data(), pair.size(), id.data(), nullptr, EVP_sha256(), nullptr) != 1) {
            throw std::runtime_error("TSIG: SHA-256 computation failed in OpenSSL");
        }
    }
    auto memory = replay_.lock();
    // Forget what the time check refuses anyway; each entry is removed once.
    // Nothing still inside its fudge window is ever forgotten: a full memory
    // refuses new messages instead.
    while (!memory->order.empty() && memory->order.front().forget_after < now) {
        const MemoryKey gone = *memory->order.front().id;  // a copy: erase frees the node
        memory->entries.erase(gone);
        memory->order.pop_front();
    }
    if (memory->order.size() >= max_remembered_ && !memory->entries.contains(id)) {
        out.status = Status::memory_full;
        out.detail = describe_key(t) + ": refused: the replay memory is full (" +
                     std::to_string(max_remembered_) +
                     " signed messages within the fudge window); new messages are refused "
                     "until the oldest leave the window";
        return out;
    }
    const auto [it, inserted] = memory->entries.try_emplace(id);
    if (inserted) {
        if (print != nullptr) {
            it->second.state = State::pending;
            it->second.has_print = true;
            std::memcpy(it->second.print.data(), print->text.data(), it->second.print.size());
            out.memory_id.assign(reinterpret_cast<const char*>(id.data()), id.size());
        }
        memory->order.push_back(Seen{&it->first, t.time_signed + fudge});
        out.status = Status::ok;
        return out;
    }
    const Remembered& seen = it->second;
    if (print != nullptr && seen.has_print &&
        std::string_view(seen.print.data(), seen.print.size()) == print->text) {
        if (seen.state == State::answered) {
            out.status = Status::retransmission;
            out.cached_answer = seen.answer;
            out.detail = describe_key(t) + ": retransmission, answered as the first time";
            return out;
        }
        if (seen.state == State::pending) {
            out.status = Status::in_progress;
            out.detail = describe_key(t) + ": retransmission while the first copy is answered";
            return out;
        }
    }
    out.status = Status::replay;
    out.detail = describe_key(t) + ": replayed message (same MAC seen before)";
    return out;
}

std::size_t TsigVerifier::answer_tsig_size(const TsigOutcome& outcome) {
    if (!outcome.answer_has_tsig()) {
        return 0;
    }
    const TsigRecord& t = *outcome.request;
    std::size_t mac = 0;
    if (outcome.key != nullptr) {
        mac = mac_size(outcome.key->algorithm);
    }
    const std::size_t other = outcome.status == TsigOutcome::Status::badtime ? 6 : 0;
    return t.key_name.wire_length() + 10 + t.algorithm.wire_length() + 10 + mac + 6 + other;
}

void TsigVerifier::sign_answer(std::vector<std::uint8_t>& answer, const TsigOutcome& outcome,
                               std::uint64_t now) const {
    if (!outcome.answer_has_tsig() || answer.size() < kHeaderSize) {
        return;
    }
    const TsigRecord& req = *outcome.request;
    TsigRecord t;
    t.key_name = req.key_name;
    t.algorithm = req.algorithm;
    t.time_signed = now;
    t.fudge = fudge_;
    t.original_id = static_cast<std::uint16_t>((answer[0] << 8) | answer[1]);
    t.error = outcome.tsig_error();
    if (outcome.status == TsigOutcome::Status::badtime) {
        t.time_signed = req.time_signed;
        std::vector<std::uint8_t> server_time;
        put48(server_time, now);
        t.other = server_time;
    }
    if (outcome.key != nullptr) {
        t.mac = tsig_mac(*outcome.key, req.mac, true, answer, t);
    }

    std::vector<std::uint8_t> rdata = name_to_wire(t.algorithm);
    put48(rdata, t.time_signed);
    put16(rdata, t.fudge);
    put16(rdata, static_cast<std::uint16_t>(t.mac.size()));
    append(rdata, t.mac);
    put16(rdata, t.original_id);
    put16(rdata, t.error);
    put16(rdata, static_cast<std::uint16_t>(t.other.size()));
    append(rdata, t.other);

    append(answer, name_to_wire(t.key_name));
    put16(answer, kTypeTsig);
    put16(answer, kClassAny);
    put16(answer, 0);
    put16(answer, 0);
    put16(answer, static_cast<std::uint16_t>(rdata.size()));
    append(answer, rdata);
    const std::uint16_t arcount = static_cast<std::uint16_t>((answer[10] << 8) | answer[11]);
    answer[10] = static_cast<std::uint8_t>((arcount + 1) >> 8);
    answer[11] = static_cast<std::uint8_t>((arcount + 1) & 0xff);
}

}  // namespace acmezone::plugin
