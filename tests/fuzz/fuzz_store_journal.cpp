// libFuzzer target: the plugin's state files as it reads them back at
// start-up (plugin/store_journal.h): the journal (decode_frames) and the
// snapshot file (decode_snapshot). A torn or corrupted state file after a
// crash or a bad disk must not crash named.
//
// Frames carry a CRC-32, which random mutations would almost never match;
// so the first input octet chooses the form:
//   even: the rest is payloads, each prefixed by its length (2 octets,
//         big-endian; the last takes what is left, at most 64), which the
//         target frames with the right length and CRC (store_journal::crc32);
//   odd:  the rest is the journal as it is.
// Both forms are also read as a snapshot file ("ACMEZS1\n" + the frames).
// Every record decoded is encoded again (encode_frame) and must decode to
// one record with the same serial and names, or the target aborts.
//
// Normal outcomes: a torn tail reported in Decoded::torn, and the
// std::runtime_error decode_snapshot documents. Anything else thrown, and
// any sanitizer report, is a finding.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <string_view>

#include "plugin/store_journal.h"

namespace {

namespace sj = acmezone::plugin::store_journal;

constexpr std::size_t kMaxPayloads = 64;

void put32(std::string& out, std::uint32_t v) {
    for (int shift = 24; shift >= 0; shift -= 8) {
        out.push_back(static_cast<char>((v >> shift) & 0xff));
    }
}

std::string framed(std::string_view in) {
    std::string out;
    std::size_t pos = 0;
    for (std::size_t n = 0; n < kMaxPayloads && pos < in.size(); ++n) {
        std::size_t len = in.size() - pos;
        if (n + 1 < kMaxPayloads && in.size() - pos >= 2) {
            const std::size_t want = (std::size_t{static_cast<std::uint8_t>(in[pos])} << 8) |
                                     static_cast<std::uint8_t>(in[pos + 1]);
            pos += 2;
            len = std::min(want, in.size() - pos);
        }
        const std::string_view payload = in.substr(pos, len);
        put32(out, static_cast<std::uint32_t>(payload.size()));
        put32(out, sj::crc32(payload));
        out.append(payload);
        pos += len;
    }
    return out;
}

void round_trip(const sj::Record& r) {
    const sj::Decoded again = sj::decode_frames(sj::encode_frame(r));
    if (again.records.size() != 1 || !again.torn.empty() || again.records[0].serial != r.serial ||
        again.records[0].names.size() != r.names.size()) {
        std::abort();
    }
    for (std::size_t i = 0; i < r.names.size(); ++i) {
        if (again.records[0].names[i].name != r.names[i].name ||
            again.records[0].names[i].values.size() != r.names[i].values.size()) {
            std::abort();
        }
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) {
        return 0;
    }
    const std::string_view rest(reinterpret_cast<const char*>(data + 1), size - 1);
    const std::string journal = (data[0] & 1) == 0 ? framed(rest) : std::string(rest);

    const sj::Decoded d = sj::decode_frames(journal);
    if (d.good_bytes > journal.size() || (d.torn.empty() && d.good_bytes != journal.size())) {
        std::abort();  // good_bytes is where a loader truncates: it must lie inside the file
    }
    for (const sj::Record& r : d.records) {
        round_trip(r);
    }
    try {
        const sj::Record snap = sj::decode_snapshot("ACMEZS1\n" + journal, "fuzz-snapshot");
        round_trip(snap);
    } catch (const std::runtime_error&) {
        // refused, naming the file
    }
    return 0;
}
