// The control socket's transport: see control_transport.h.
#include "plugin/control_transport.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <future>
#include <memory>
#include <string>
#include <system_error>
#include <utility>

#include "common/log.h"

namespace acmezone::plugin {

namespace tcp_framing {

std::size_t take_messages(std::vector<std::uint8_t>& in,
                          const std::function<void(std::span<const std::uint8_t>)>& f) {
    std::size_t pos = 0;
    std::size_t taken = 0;
    while (in.size() - pos >= 2) {
        const std::size_t len = (std::size_t{in[pos]} << 8) | in[pos + 1];
        if (in.size() - pos - 2 < len) {
            break;
        }
        f({in.data() + pos + 2, len});
        pos += 2 + len;
        ++taken;
    }
    in.erase(in.begin(), in.begin() + static_cast<std::ptrdiff_t>(pos));
    return taken;
}

void append_message(std::vector<std::uint8_t>& out, std::span<const std::uint8_t> message) {
    out.push_back(static_cast<std::uint8_t>(message.size() >> 8));
    out.push_back(static_cast<std::uint8_t>(message.size() & 0xff));
    out.insert(out.end(), message.begin(), message.end());
}

}  // namespace tcp_framing

namespace {

[[noreturn]] void throw_errno(const std::string& what) {
    throw std::system_error(errno, std::generic_category(), "acmezone control socket: " + what);
}

UniqueFd bound_socket(const Endpoint& ep, int type) {
    const char* proto = type == SOCK_DGRAM ? "UDP" : "TCP";
    UniqueFd fd(::socket(ep.family(), type | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
    if (fd.get() < 0) {
        throw_errno(std::string("cannot create a ") + proto + " socket for " + ep.to_string());
    }
    const int one = 1;
    ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (ep.family() == AF_INET6) {
        ::setsockopt(fd.get(), IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
    }
    if (::bind(fd.get(), ep.sockaddr_ptr(), ep.addr_len) != 0) {
        throw_errno(std::string("cannot bind ") + proto + " " + ep.to_string());
    }
    if (type == SOCK_STREAM && ::listen(fd.get(), 64) != 0) {
        throw_errno("cannot listen on TCP " + ep.to_string());
    }
    return fd;
}

Endpoint local_of(int fd) {
    sockaddr_storage ss{};
    socklen_t len = sizeof ss;
    if (::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) {
        throw_errno("getsockname");
    }
    return Endpoint::from_sockaddr(reinterpret_cast<sockaddr*>(&ss), len);
}

Endpoint with_port(Endpoint ep, std::uint16_t port) {
    if (ep.family() == AF_INET) {
        reinterpret_cast<sockaddr_in*>(&ep.addr)->sin_port = htons(port);
    } else {
        reinterpret_cast<sockaddr_in6*>(&ep.addr)->sin6_port = htons(port);
    }
    return ep;
}

}  // namespace

struct ControlTransport::TcpConnection {
    UniqueFd fd;
    Endpoint peer;
    std::vector<std::uint8_t> in;
    std::vector<std::uint8_t> out;
    std::chrono::steady_clock::time_point last_progress;    // accepted, or see Limits
    std::chrono::steady_clock::time_point message_started;  // first octet of a partial message
    int free_renewals = ControlTransport::kFreeRenewals;    // left
};

ControlTransport::ControlTransport(const std::vector<Endpoint>& listen, TransportLimits limits,
                                   Handler handler, WarningLimiter& warnings)
    : limits_(limits), handler_(std::move(handler)), warnings_(warnings) {
    bind_all(listen);
}

ControlTransport::~ControlTransport() {
    stop();
}

void ControlTransport::bind_all(const std::vector<Endpoint>& listen) {
    for (const Endpoint& ep : listen) {
        if (ep.port() != 0) {
            udp_.push_back(bound_socket(ep, SOCK_DGRAM));
            tcp_.push_back(bound_socket(ep, SOCK_STREAM));
            continue;
        }
        // Port 0: the same free port for UDP and TCP.
        for (int attempt = 1;; ++attempt) {
            UniqueFd u = bound_socket(ep, SOCK_DGRAM);
            const Endpoint chosen = with_port(ep, local_of(u.get()).port());
            try {
                UniqueFd t = bound_socket(chosen, SOCK_STREAM);
                udp_.push_back(std::move(u));
                tcp_.push_back(std::move(t));
                break;
            } catch (const std::system_error&) {
                if (attempt >= kTcpBindAttempts) {
                    throw;
                }
            }
        }
    }
    wake_ = UniqueFd(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
    if (wake_.get() < 0) {
        throw_errno("eventfd");
    }
}

void ControlTransport::start() {
    for (int i = 0; i < kUdpThreads; ++i) {
        threads_.emplace_back([this] { udp_loop(); });
    }
    threads_.emplace_back([this] { tcp_loop(); });
    for (const UniqueFd& u : udp_) {
        log_info("acmezone: control socket listening on ", local_of(u.get()).to_string(),
                 " (UDP and TCP)");
    }
}

void ControlTransport::stop() {
    const std::uint64_t one = 1;
    if (wake_.get() >= 0) {
        [[maybe_unused]] ssize_t n = ::write(wake_.get(), &one, sizeof one);
    }
    for (std::thread& t : threads_) {
        if (t.joinable()) {
            t.join();
        }
    }
    threads_.clear();
    // The handler may still owe answers (the store's committer sends them):
    // wait for them (bounded: the committer finishes every batch queued).
    auto owed = replies_owed_.lock();
    replies_owed_changed_.wait(owed.unique_lock(), [&owed] { return *owed == 0; });
}

std::vector<Endpoint> ControlTransport::local_endpoints() const {
    std::vector<Endpoint> out;
    for (const UniqueFd& u : udp_) {
        out.push_back(local_of(u.get()));
    }
    return out;
}

bool ControlTransport::dispatch(std::span<const std::uint8_t> message, const Endpoint& peer,
                                bool tcp, Reply reply) {
    ++*replies_owed_.lock();
    return handler_(message, peer, tcp,
                    [this, reply = std::move(reply)](std::vector<std::uint8_t> a) {
                        try {
                            reply(std::move(a));
                        } catch (...) {
                            reply_sent();
                            throw;
                        }
                        reply_sent();
                    });
}

void ControlTransport::wait_for_room() {
    auto owed = replies_owed_.lock();
    replies_owed_changed_.wait(owed.unique_lock(), [&owed] { return *owed < kMaxRepliesOwed; });
}

void ControlTransport::reply_sent() {
    // Notified under the lock: once stop() sees no reply owed it may return
    // and the transport go away, so nothing of it may be touched after.
    auto owed = replies_owed_.lock();
    --*owed;
    replies_owed_changed_.notify_all();
}

UniqueFd ControlTransport::udp_epoll_set() {
    // Each thread has its own epoll set holding every UDP socket with
    // EPOLLEXCLUSIVE, so the kernel wakes one waiting thread per datagram
    // instead of all of them; the wake-up eventfd is shared (not exclusive)
    // so that stop() reaches every thread.
    UniqueFd ep(::epoll_create1(EPOLL_CLOEXEC));
    if (ep.get() < 0) {
        log_error("acmezone: control socket: epoll_create1: ", std::strerror(errno));
        return UniqueFd();
    }
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.fd = wake_.get();
    if (::epoll_ctl(ep.get(), EPOLL_CTL_ADD, wake_.get(), &ev) != 0) {
        log_error("acmezone: control socket: epoll_ctl: ", std::strerror(errno));
        return UniqueFd();
    }
    for (const UniqueFd& u : udp_) {
        ev.events = EPOLLIN | EPOLLEXCLUSIVE;
        ev.data.fd = u.get();
        if (::epoll_ctl(ep.get(), EPOLL_CTL_ADD, u.get(), &ev) != 0) {
            log_error("acmezone: control socket: epoll_ctl: ", std::strerror(errno));
            return UniqueFd();
        }
    }
    return ep;
}

void ControlTransport::udp_loop() {
    const UniqueFd ep = udp_epoll_set();
    if (ep.get() < 0) {
        return;
    }
    std::vector<std::uint8_t> buf(65535);
    std::array<epoll_event, 16> events{};
    for (;;) {
        const int n = ::epoll_wait(ep.get(), events.data(), static_cast<int>(events.size()), -1);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            log_error("acmezone: control socket: epoll_wait: ", std::strerror(errno));
            return;
        }
        for (int i = 0; i < n; ++i) {
            const int fd = events[static_cast<std::size_t>(i)].data.fd;
            if (fd == wake_.get()) {
                return;
            }
            udp_drain(fd, buf);
        }
    }
}

void ControlTransport::udp_drain(int fd, std::vector<std::uint8_t>& buf) {
    // Read what is queued (bounded), not one datagram a wake-up: under load
    // that saves an epoll_wait and a sleep per UPDATE.
    for (int k = 0; k < kUdpReadsPerWakeup; ++k) {
        wait_for_room();
        sockaddr_storage from{};
        socklen_t from_len = sizeof from;
        const ssize_t got = ::recvfrom(fd, buf.data(), buf.size(), MSG_DONTWAIT,
                                       reinterpret_cast<sockaddr*>(&from), &from_len);
        if (got < 0) {
            return;  // drained, another thread took it, or a transient error
        }
        const Endpoint peer = Endpoint::from_sockaddr(reinterpret_cast<sockaddr*>(&from), from_len);
        (void)dispatch({buf.data(), static_cast<std::size_t>(got)}, peer, /*tcp=*/false,
                       [fd, from, from_len](std::vector<std::uint8_t> answer) {
                           if (!answer.empty()) {
                               ::sendto(fd, answer.data(), answer.size(), 0,
                                        reinterpret_cast<const sockaddr*>(&from), from_len);
                           }
                       });
    }
}

bool ControlTransport::tcp_read(TcpConnection& c) {
    std::uint8_t buf[16384];
    const ssize_t got = ::recv(c.fd.get(), buf, sizeof buf, MSG_DONTWAIT);
    if (got == 0) {
        return false;  // the client closed
    }
    if (got < 0) {
        return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
    }
    const auto now = std::chrono::steady_clock::now();
    if (c.in.empty()) {
        c.message_started = now;
    }
    c.in.insert(c.in.end(), buf, buf + got);
    const std::size_t taken =
        tcp_framing::take_messages(c.in, [&](std::span<const std::uint8_t> message) {
            // One answer at a time: a connection's answers keep its order.
            auto promise = std::make_shared<std::promise<std::vector<std::uint8_t>>>();
            auto future = promise->get_future();
            const bool authenticated = dispatch(message, c.peer, /*tcp=*/true,
                                                [promise](std::vector<std::uint8_t> answer) {
                                                    promise->set_value(std::move(answer));
                                                });
            if (authenticated || c.free_renewals-- > 0) {
                c.last_progress = now;
            }
            const auto answer = future.get();
            if (!answer.empty()) {
                tcp_framing::append_message(c.out, answer);
            }
        });
    if (taken > 0) {
        c.message_started = now;
    }
    if (c.out.size() > kMaxTcpPending) {
        log_warning("acmezone: control socket: closing TCP ", c.peer.to_string(),
                    ": it does not read its answers");
        return false;
    }
    return tcp_write(c);
}

bool ControlTransport::tcp_write(TcpConnection& c) {
    while (!c.out.empty()) {
        const ssize_t sent =
            ::send(c.fd.get(), c.out.data(), c.out.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
        if (sent < 0) {
            return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
        }
        c.out.erase(c.out.begin(), c.out.begin() + sent);
    }
    return true;
}

void ControlTransport::tcp_accept(int listener, std::list<TcpConnection>& conns) {
    const auto now = std::chrono::steady_clock::now();
    // Accept what is waiting (bounded: one backlog's worth per round).
    for (int k = 0; k < 64; ++k) {
        sockaddr_storage from{};
        socklen_t len = sizeof from;
        UniqueFd fd(::accept4(listener, reinterpret_cast<sockaddr*>(&from), &len,
                              SOCK_CLOEXEC | SOCK_NONBLOCK));
        if (fd.get() < 0) {
            return;
        }
        const Endpoint peer = Endpoint::from_sockaddr(reinterpret_cast<sockaddr*>(&from), len);
        if (conns.size() >= limits_.max_tcp_connections) {
            if (warnings_.allow()) {
                log_warning("acmezone: control socket: refusing TCP ", peer.to_string(),
                            ": max-tcp-connections (", limits_.max_tcp_connections, ") reached");
            }
            continue;  // fd closes here
        }
        const std::string address = peer.address();
        const auto from_there = std::count_if(
            conns.begin(), conns.end(), [&](const auto& c) { return c.peer.address() == address; });
        if (static_cast<std::size_t>(from_there) >= limits_.max_tcp_connections_per_address) {
            if (warnings_.allow()) {
                log_warning("acmezone: control socket: refusing TCP ", peer.to_string(),
                            ": max-tcp-connections-per-address (",
                            limits_.max_tcp_connections_per_address, ") reached for ", address);
            }
            continue;  // fd closes here
        }
        conns.push_back(TcpConnection{std::move(fd), peer, {}, {}, now, now});
    }
}

std::vector<ControlTransport::TcpConnection*> ControlTransport::tcp_serve(
    std::span<const pollfd> polls, const std::vector<TcpConnection*>& polled) {
    std::vector<TcpConnection*> closing;
    for (std::size_t i = 0; i < polled.size(); ++i) {
        const pollfd& p = polls[i];
        TcpConnection& c = *polled[i];
        bool keep = true;
        if ((p.revents & (POLLERR | POLLNVAL)) != 0) {
            keep = false;
        } else if ((p.revents & (POLLIN | POLLHUP)) != 0) {
            keep = tcp_read(c);
        } else if ((p.revents & POLLOUT) != 0) {
            keep = tcp_write(c);
        }
        if (!keep) {
            closing.push_back(&c);
        }
    }
    return closing;
}

void ControlTransport::tcp_close_idle(std::list<TcpConnection>& conns,
                                      std::vector<TcpConnection*>& closing) const {
    const auto idle =
        std::chrono::duration_cast<std::chrono::steady_clock::duration>(limits_.tcp_idle_timeout);
    const auto now = std::chrono::steady_clock::now();
    for (TcpConnection& c : conns) {
        const bool idle_too_long = now - c.last_progress > idle;
        const bool slow_message = !c.in.empty() && now - c.message_started > idle;
        if ((idle_too_long || slow_message) &&
            std::find(closing.begin(), closing.end(), &c) == closing.end()) {
            log_debug("acmezone: control socket: closing TCP ", c.peer.to_string(),
                      ": no progress within tcp-idle-timeout");
            closing.push_back(&c);
        }
    }
    conns.remove_if([&](const TcpConnection& c) {
        return std::find(closing.begin(), closing.end(), &c) != closing.end();
    });
}

void ControlTransport::tcp_loop() {
    std::list<TcpConnection> conns;
    std::vector<pollfd> fds;
    std::vector<TcpConnection*> polled;
    for (;;) {
        fds.clear();
        polled.clear();
        fds.push_back({wake_.get(), POLLIN, 0});
        for (const UniqueFd& t : tcp_) {
            fds.push_back({t.get(), POLLIN, 0});
        }
        for (TcpConnection& c : conns) {
            const short events = static_cast<short>(POLLIN | (c.out.empty() ? 0 : POLLOUT));
            fds.push_back({c.fd.get(), events, 0});
            polled.push_back(&c);
        }
        // Wake at least once a second to close idle connections.
        const int n = ::poll(fds.data(), fds.size(), 1000);
        if (n < 0 && errno != EINTR) {
            log_error("acmezone: control socket: poll: ", std::strerror(errno));
            return;
        }
        if (n > 0 && fds[0].revents != 0) {
            return;
        }
        std::vector<TcpConnection*> closing;
        if (n > 0) {
            closing = tcp_serve(std::span(fds).subspan(1 + tcp_.size()), polled);
        }
        tcp_close_idle(conns, closing);
        for (std::size_t i = 0; n > 0 && i < tcp_.size(); ++i) {
            if ((fds[1 + i].revents & POLLIN) != 0) {
                tcp_accept(tcp_[i].get(), conns);
            }
        }
    }
}

}  // namespace acmezone::plugin
