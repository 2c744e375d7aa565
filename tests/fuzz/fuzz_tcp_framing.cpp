// libFuzzer target: the control socket's TCP framing (plugin/
// control_transport.h tcp_framing), as a connection's reads meet it: the
// stream arrives in pieces, each appended to the connection's buffer, then
// take_messages() hands out every complete message and keeps the rest.
//
// Input: octet 0 chooses the size of the pieces (1 + octet, so 1..256; the
// last one shorter), the rest is the stream as a client sent it (2-octet
// big-endian length, message, ...). No sockets, no handler.
//
// What must hold, or the target aborts (a finding):
//   - every message handed out is as long as its length prefix says, and the
//     messages, each behind its length again (append_message), are exactly
//     the octets taken from the front of the stream, in order;
//   - after each piece no complete message stays in the buffer (one is
//     handed out as soon as its last octet arrives), and the count returned
//     is the number of calls made;
//   - what stays at the end is the stream's unfinished tail.
// There is no documented error: anything thrown, and any sanitizer report,
// is a finding.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <vector>

#include "plugin/control_transport.h"

using acmezone::plugin::tcp_framing::append_message;
using acmezone::plugin::tcp_framing::take_messages;

namespace {

void require(bool ok) {
    if (!ok) {
        std::abort();
    }
}

// Whether `buffer` begins with a complete message.
bool holds_a_message(const std::vector<std::uint8_t>& buffer) {
    if (buffer.size() < 2) {
        return false;
    }
    const std::size_t len = (std::size_t{buffer[0]} << 8) | buffer[1];
    return buffer.size() - 2 >= len;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) {
        return 0;
    }
    const std::size_t piece = std::size_t{data[0]} + 1;
    const std::span<const std::uint8_t> stream(data + 1, size - 1);

    std::vector<std::uint8_t> buffer;    // the connection's input buffer
    std::vector<std::uint8_t> reframed;  // the messages handed out, framed again
    std::size_t fed = 0;
    while (fed < stream.size()) {
        const std::size_t n = std::min(piece, stream.size() - fed);
        buffer.insert(buffer.end(), stream.begin() + static_cast<std::ptrdiff_t>(fed),
                      stream.begin() + static_cast<std::ptrdiff_t>(fed + n));
        fed += n;
        const std::size_t before = reframed.size();
        std::size_t calls = 0;
        const std::size_t taken = take_messages(buffer, [&](std::span<const std::uint8_t> message) {
            require(message.size() <= 0xffff);
            append_message(reframed, message);
            ++calls;
        });
        require(taken == calls);
        require(!holds_a_message(buffer));
        // Taken so far plus what is buffered is everything fed, in order.
        require(reframed.size() + buffer.size() == fed);
        require(std::equal(reframed.begin() + static_cast<std::ptrdiff_t>(before), reframed.end(),
                           stream.begin() + static_cast<std::ptrdiff_t>(before)));
    }
    require(std::equal(buffer.begin(), buffer.end(),
                       stream.begin() + static_cast<std::ptrdiff_t>(reframed.size())));
    return 0;
}
