// One DNS exchange over UDP with TCP fallback; see dns_exchange.h.
//
// Sockets are non-blocking and every wait is a poll() bounded by the one
// deadline, so no call can outlive `timeout` by more than scheduling noise.
#include "issuer/dns/dns_exchange.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <system_error>

#include "common/unique_fd.h"

namespace acmezone::issuer {
namespace {

using Clock = std::chrono::steady_clock;

std::string errno_text(int err) {
    return std::generic_category().message(err);
}

// The error for a failed UDP send or receive: ICMP port unreachable comes
// back as ECONNREFUSED and is named as such, anything else as `what`.
ExchangeError udp_error(const Endpoint& server, int err, const char* what) {
    if (err == ECONNREFUSED) {
        return ExchangeError(ExchangeError::Kind::refused,
                             server.to_string() +
                                 " refused the query (nothing listens on UDP port " +
                                 std::to_string(server.port()) + ")");
    }
    return ExchangeError(ExchangeError::Kind::network,
                         server.to_string() + ": " + what + ": " + errno_text(err));
}

int remaining_ms(Clock::time_point deadline) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) {
        return 0;
    }
    // Round up so that poll() does not return a hair before the deadline.
    return static_cast<int>(left.count()) + 1;
}

UniqueFd open_socket(const Endpoint& server, int type) {
    UniqueFd fd(::socket(server.family(), type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (fd.get() < 0) {
        int err = errno;
        throw ExchangeError(ExchangeError::Kind::network,
                            server.to_string() + ": cannot open a socket: " + errno_text(err));
    }
    return fd;
}

ExchangeError timeout_error(const Endpoint& server, std::chrono::milliseconds timeout,
                            const char* how) {
    return ExchangeError(
        ExchangeError::Kind::timeout,
        server.to_string() + " did not answer within " + describe_duration(timeout) + how);
}

// The question the answer must repeat: name and type of the first entry.
struct Question {
    LdnsRdf name;
    ldns_rr_type type = LDNS_RR_TYPE_A;
    std::uint16_t id = 0;
};

Question question_of(std::span<const std::uint8_t> message) {
    LdnsPkt pkt = parse_message(message);
    if (!pkt) {
        throw std::invalid_argument("dns exchange: the message to send does not parse");
    }
    Question q;
    q.id = ldns_pkt_id(pkt.get());
    const ldns_rr_list* qs = ldns_pkt_question(pkt.get());
    if (qs != nullptr && ldns_rr_list_rr_count(qs) > 0) {
        const ldns_rr* rr = ldns_rr_list_rr(qs, 0);
        q.name.reset(ldns_rdf_clone(ldns_rr_owner(rr)));
        q.type = ldns_rr_get_type(rr);
    }
    return q;
}

// Parses `wire`; returns null when it is not the answer to `q` (to be ignored).
LdnsPkt match_answer(const Endpoint& server, const std::vector<std::uint8_t>& wire,
                     const Question& q) {
    if (wire.size() < 12) {
        return nullptr;
    }
    std::uint16_t id = static_cast<std::uint16_t>((wire[0] << 8) | wire[1]);
    bool qr = (wire[2] & 0x80) != 0;
    if (id != q.id || !qr) {
        return nullptr;
    }
    std::string why;
    LdnsPkt pkt = parse_message(wire, &why);
    if (!pkt) {
        throw ExchangeError(
            ExchangeError::Kind::malformed,
            server.to_string() + " sent an answer that does not parse (" + why + ")");
    }
    const ldns_rr_list* qs = ldns_pkt_question(pkt.get());
    if (qs == nullptr || ldns_rr_list_rr_count(qs) == 0) {
        return pkt;  // FORMERR and friends may omit the question
    }
    const ldns_rr* rr = ldns_rr_list_rr(qs, 0);
    if (!q.name || ldns_rr_get_type(rr) != q.type ||
        ldns_dname_compare(ldns_rr_owner(rr), q.name.get()) != 0) {
        return nullptr;
    }
    return pkt;
}

// The first answer over UDP (the caller checks TC).
DnsReply exchange_udp(const Endpoint& server, std::span<const std::uint8_t> message,
                      const Question& q, Clock::time_point start, Clock::time_point deadline,
                      std::chrono::milliseconds timeout) {
    UniqueFd fd = open_socket(server, SOCK_DGRAM);
    if (::connect(fd.get(), server.sockaddr_ptr(), server.addr_len) != 0) {
        int err = errno;
        throw ExchangeError(ExchangeError::Kind::network,
                            server.to_string() + ": cannot send (UDP): " + errno_text(err));
    }
    // Send at 0, 1/3 and 2/3 of the timeout.
    std::array<Clock::time_point, 3> send_at = {start, start + timeout / 3,
                                                start + 2 * timeout / 3};
    std::size_t sent = 0;
    // Not a zero-filled vector: 64 KiB written on every exchange showed in
    // a pass's profile. Only the received octets are read.
    std::array<std::uint8_t, 65535> buf;
    for (;;) {  // bounded by `deadline`
        Clock::time_point now = Clock::now();
        if (sent < send_at.size() && now >= send_at[sent]) {
            ssize_t n = ::send(fd.get(), message.data(), message.size(), MSG_NOSIGNAL);
            if (n < 0) {
                throw udp_error(server, errno, "cannot send (UDP)");
            }
            ++sent;
            continue;
        }
        if (now >= deadline) {
            throw timeout_error(server, timeout, "");
        }
        Clock::time_point wake = deadline;
        if (sent < send_at.size() && send_at[sent] < wake) {
            wake = send_at[sent];
        }
        pollfd pfd{fd.get(), POLLIN, 0};
        int ready = ::poll(&pfd, 1, remaining_ms(wake));
        if (ready < 0) {
            if (errno == EINTR) {
                continue;
            }
            int err = errno;
            throw ExchangeError(ExchangeError::Kind::network,
                                server.to_string() + ": poll: " + errno_text(err));
        }
        if (ready == 0) {
            continue;
        }
        ssize_t n = ::recv(fd.get(), buf.data(), buf.size(), 0);
        if (n < 0) {
            int err = errno;
            if (err == EAGAIN || err == EWOULDBLOCK || err == EINTR) {
                continue;
            }
            throw udp_error(server, err, "receive (UDP)");
        }
        std::vector<std::uint8_t> wire(buf.begin(), buf.begin() + n);
        LdnsPkt pkt = match_answer(server, wire, q);
        if (!pkt) {
            continue;  // a stray or late datagram: keep waiting
        }
        DnsReply reply;
        reply.packet = std::move(pkt);
        reply.wire = std::move(wire);
        return reply;
    }
}

// Waits for `events` on fd until the deadline; false on timeout.
bool wait_for(int fd, short events, Clock::time_point deadline) {
    for (;;) {  // bounded by `deadline`
        int left = remaining_ms(deadline);
        if (left == 0) {
            return false;
        }
        pollfd pfd{fd, events, 0};
        int ready = ::poll(&pfd, 1, left);
        if (ready > 0) {
            return true;
        }
        if (ready < 0 && errno != EINTR) {
            return true;  // let the following call report the error
        }
    }
}

DnsReply exchange_tcp(const Endpoint& server, std::span<const std::uint8_t> message,
                      const Question& q, Clock::time_point deadline,
                      std::chrono::milliseconds timeout) {
    UniqueFd fd = open_socket(server, SOCK_STREAM);
    if (::connect(fd.get(), server.sockaddr_ptr(), server.addr_len) != 0) {
        if (errno != EINPROGRESS) {
            int err = errno;
            throw ExchangeError(
                err == ECONNREFUSED ? ExchangeError::Kind::refused : ExchangeError::Kind::network,
                server.to_string() + " refused the TCP connection (" + errno_text(err) + ")");
        }
        if (!wait_for(fd.get(), POLLOUT, deadline)) {
            throw timeout_error(server, timeout, " (TCP connection not accepted)");
        }
        int err = 0;
        socklen_t len = sizeof err;
        ::getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &err, &len);
        if (err != 0) {
            throw ExchangeError(
                err == ECONNREFUSED ? ExchangeError::Kind::refused : ExchangeError::Kind::network,
                server.to_string() + (err == ECONNREFUSED
                                          ? " refused the TCP connection (nothing listens on TCP "
                                            "port " +
                                                std::to_string(server.port()) + ")"
                                          : ": TCP connect: " + errno_text(err)));
        }
    }
    std::vector<std::uint8_t> out;
    out.reserve(message.size() + 2);
    out.push_back(static_cast<std::uint8_t>(message.size() >> 8));
    out.push_back(static_cast<std::uint8_t>(message.size() & 0xff));
    out.insert(out.end(), message.begin(), message.end());
    std::size_t done = 0;
    while (done < out.size()) {  // each pass writes > 0 octets or ends by the deadline
        ssize_t n = ::send(fd.get(), out.data() + done, out.size() - done, MSG_NOSIGNAL);
        if (n > 0) {
            done += static_cast<std::size_t>(n);
            continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
            if (!wait_for(fd.get(), POLLOUT, deadline)) {
                throw timeout_error(server, timeout, " (TCP)");
            }
            continue;
        }
        int err = errno;
        throw ExchangeError(ExchangeError::Kind::network,
                            server.to_string() + ": send (TCP): " + errno_text(err));
    }
    auto read_exact = [&](std::uint8_t* dst, std::size_t want) {
        std::size_t got = 0;
        while (got < want) {  // each pass reads > 0 octets or ends by the deadline
            ssize_t n = ::recv(fd.get(), dst + got, want - got, 0);
            if (n > 0) {
                got += static_cast<std::size_t>(n);
                continue;
            }
            if (n == 0) {
                throw ExchangeError(
                    ExchangeError::Kind::network,
                    server.to_string() + " closed the TCP connection before answering in full");
            }
            if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
                if (!wait_for(fd.get(), POLLIN, deadline)) {
                    throw timeout_error(server, timeout, " (TCP)");
                }
                continue;
            }
            int err = errno;
            throw ExchangeError(ExchangeError::Kind::network,
                                server.to_string() + ": receive (TCP): " + errno_text(err));
        }
    };
    std::array<std::uint8_t, 2> len_buf{};
    read_exact(len_buf.data(), len_buf.size());
    std::size_t len = (static_cast<std::size_t>(len_buf[0]) << 8) | len_buf[1];
    std::vector<std::uint8_t> wire(len);
    read_exact(wire.data(), len);
    LdnsPkt pkt = match_answer(server, wire, q);
    if (!pkt) {
        throw ExchangeError(ExchangeError::Kind::malformed,
                            server.to_string() +
                                " answered over TCP with a message that is not the answer to "
                                "the one sent (other ID or question)");
    }
    DnsReply reply;
    reply.packet = std::move(pkt);
    reply.wire = std::move(wire);
    reply.over_tcp = true;
    return reply;
}

}  // namespace

std::string describe_duration(std::chrono::milliseconds duration) {
    long long ms = duration.count();
    if (ms % 1000 == 0) {
        return std::to_string(ms / 1000) + " s";
    }
    if (ms > 1000) {
        char buf[32];
        std::snprintf(buf, sizeof buf, "%.1f s", static_cast<double>(ms) / 1000.0);
        return buf;
    }
    return std::to_string(ms) + " ms";
}

DnsReply exchange(const Endpoint& server, std::span<const std::uint8_t> message,
                  std::chrono::milliseconds timeout) {
    Clock::time_point start = Clock::now();
    Clock::time_point deadline = start + timeout;
    Question q = question_of(message);
    DnsReply reply = exchange_udp(server, message, q, start, deadline, timeout);
    if (ldns_pkt_tc(reply.packet.get())) {
        return exchange_tcp(server, message, q, deadline, timeout);
    }
    return reply;
}

DnsReply query(const Endpoint& server, const DnsName& name, ldns_rr_type type,
               bool recursion_desired, std::chrono::milliseconds timeout) {
    LdnsPkt pkt(ldns_pkt_query_new(to_ldns_dname(name).release(), type, LDNS_RR_CLASS_IN,
                                   recursion_desired ? LDNS_RD : 0));
    if (!pkt) {
        throw std::bad_alloc();
    }
    ldns_pkt_set_id(pkt.get(), random_message_id());
    std::vector<std::uint8_t> wire = to_wire(pkt.get());
    return exchange(server, wire, timeout);
}

}  // namespace acmezone::issuer
