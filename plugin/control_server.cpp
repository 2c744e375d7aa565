// The control socket: RFC 2136 UPDATE (and the SOA queries clients send to
// find the zone) over UDP and TCP, TSIG-signed, scoped per key.
//
// Threads. Each listen endpoint gets a UDP and a TCP socket on the same port
// (a port 0 is chosen by the UDP bind, then taken for TCP too). kUdpThreads
// threads wait on all UDP sockets, each in its own epoll set with
// EPOLLEXCLUSIVE so one datagram wakes one thread (receives are non-blocking,
// so a second thread woken anyway is harmless), and once woken read what is
// queued; one thread polls the TCP listeners and connections. No UDP thread
// waits for the disk: an UPDATE that changes the store is handed to it
// (ChallengeStore::apply_async) and answered by the store's committer
// thread once its batch is durable, so a batch holds every UPDATE that
// arrived during the previous fsync, whatever kUdpThreads is. At most
// kMaxUpdatesInFlight are handed over unanswered; then the UDP threads stop
// reading (the socket buffer queues) until answers go out. Over TCP the
// thread waits for each answer. Every poll also watches an eventfd that the
// destructor signals: threads see it, return, and are joined; then the
// destructor waits for the answers still owed, and the sockets close.
//
// One message (handle()): TSIG check (tsig_verifier.h; an exact
//   retransmission of a signed request answered in the last fudge window
//   gets the very answer sent then, and changes nothing; a copy that arrives
//   while the first is still being answered gets none) → parse (ldns) →
//   QUERY   SOA IN for a claimed apex: the SOA, AA. For a name inside a
//           claimed zone: NOERROR, AA, the apex SOA in the authority section
//           (nsupdate and certbot take the zone from it). Anything else:
//           REFUSED. A signed query gets a signed answer; unsigned is fine.
//   UPDATE  must be signed (unsigned: REFUSED). decode_update
//           (update_message.h) → every name granted to the key
//           (grant_table.h), else REFUSED naming key and name in the log →
//           prerequisites decided by the decoder → ChallengeStore::
//           apply_async, whose callback runs only once the change is durable
//           and published, so the answer (sent from it) is read-your-writes.
//           Then NOTIFY of the changed apexes is queued (notifier.h), never
//           awaited.
//   other   NOTIMP.
// Answers to signed requests are signed with the request's key, error
// answers as RFC 8945 §5.3 says. A message that is itself an answer (QR) or
// shorter than a header is dropped.
//
// Limits. UDP answers over 512 octets are truncated to header + question
// with TC. TCP: 2-octet length framing, any number of messages per
// connection and split anywhere across reads; at most max_tcp_connections at
// once (further ones are closed at accept); a connection idle for
// tcp_idle_timeout, or sending one message for longer than that, is closed;
// a client that does not read its answers (over kMaxTcpPending octets
// queued) is closed.
//
// Logging. Every refusal is logged with the peer, and for signed messages
// the key (never its secret). Warnings about messages nobody authenticated
// (malformed, bad TSIG, unsigned, connections over the limit) are limited to
// kUnauthenticatedWarnings per kWarningWindow, so that a flood of junk
// cannot flood named's log; the number left out is logged once the next
// window opens.
#include "plugin/control_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <functional>
#include <future>
#include <list>
#include <memory>
#include <optional>
#include <system_error>
#include <thread>

#include "common/lock_guarded.h"
#include "common/log.h"
#include "common/unique_fd.h"
#include "plugin/grant_table.h"
#include "plugin/notifier.h"
#include "plugin/soa.h"
#include "plugin/tsig_verifier.h"
#include "plugin/update_message.h"

namespace acmezone::plugin {
namespace {

// Threads reading UDP. They never wait for the disk (see above), so two
// keep both cores of a small machine busy; more only add context switches
// (measured: 4.4 per UPDATE with 16 threads that each waited for their
// fsync, 0.5-0.8 with 2 that do not, at 32 clients).
constexpr int kUdpThreads = 2;
constexpr int kUdpReadsPerWakeup = 64;  // datagrams read per wake-up, at most
// UPDATEs handed to the store and not yet answered, at most (memory bound:
// beyond that the UDP threads stop reading and the socket buffer queues).
constexpr std::size_t kMaxUpdatesInFlight = 1024;
constexpr std::size_t kMaxUdpAnswer = 512;
constexpr std::size_t kMaxTcpPending = 256 * 1024;
constexpr int kTcpBindAttempts = 20;

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

std::uint64_t now_seconds() {
    return static_cast<std::uint64_t>(std::time(nullptr));
}

constexpr int kUnauthenticatedWarnings = 20;
constexpr std::chrono::seconds kWarningWindow{10};

class WarningLimiter {
  public:
    // True when one more warning may be logged now.
    bool allow() {
        auto s = state_.lock();
        const auto now = std::chrono::steady_clock::now();
        if (now - s->window_start >= kWarningWindow) {
            if (s->suppressed > 0) {
                log_warning("acmezone: control socket: ", s->suppressed,
                            " more warnings about unauthenticated messages left out in the last ",
                            kWarningWindow.count(), " s");
            }
            s->window_start = now;
            s->logged = 0;
            s->suppressed = 0;
        }
        if (s->logged < kUnauthenticatedWarnings) {
            ++s->logged;
            return true;
        }
        ++s->suppressed;
        return false;
    }

  private:
    struct State {
        std::chrono::steady_clock::time_point window_start{};
        int logged = 0;
        std::size_t suppressed = 0;
    };
    LockGuarded<State> state_;
};

struct TcpConnection {
    UniqueFd fd;
    Endpoint peer;
    std::vector<std::uint8_t> in;
    std::vector<std::uint8_t> out;
    std::chrono::steady_clock::time_point last_activity;
    std::chrono::steady_clock::time_point message_started;  // first octet of a partial message
};

}  // namespace

struct ControlServer::Impl {
    PluginConfig config;
    ZoneClaims claims;
    ChallengeStore& store;
    GrantTable grants;
    TsigVerifier verifier;
    Notifier notifier;
    WarningLimiter unauthenticated_warnings;

    std::vector<UniqueFd> udp;
    std::vector<UniqueFd> tcp;
    UniqueFd wake;
    std::vector<std::thread> threads;

    Impl(const PluginConfig& c, const ZoneClaims& z, ChallengeStore& s)
        : config(c),
          claims(z),
          store(s),
          grants(config.control.grants, claims),
          verifier(config.control.keyring, config.control.allow_hmac_md5, config.control.fudge),
          notifier(config.control.notify) {}
    ~Impl() { stop(); }
    Impl(const Impl&) = delete;
    Impl& operator=(const Impl&) = delete;

    void bind_all();
    void start();
    void stop();
    bool stopping() const;

    void udp_loop();
    void tcp_loop();
    bool tcp_read(TcpConnection& c);
    bool tcp_write(TcpConnection& c);

    // Gets the answer to one message (empty: none), exactly once: before
    // handle() returns, or, for an UPDATE that changes the store, later on
    // the store's committer thread once the change is durable.
    using Reply = std::function<void(std::vector<std::uint8_t>)>;
    void handle(std::span<const std::uint8_t> wire, const Endpoint& peer, bool tcp, Reply reply);
    // handle(), waiting for the answer.
    std::vector<std::uint8_t> handle_and_wait(std::span<const std::uint8_t> wire,
                                              const Endpoint& peer, bool tcp);
    // The answer to a message whose TSIG was checked (throws on internal
    // errors); nullopt when the store will answer it through `reply`.
    std::optional<std::vector<std::uint8_t>> respond(std::span<const std::uint8_t> wire,
                                                     const Endpoint& peer, bool tcp,
                                                     const TsigOutcome& tsig, std::uint64_t now,
                                                     const Reply& reply);
    // Remembers `out` for retransmissions of the request, then sends it.
    void finish(const TsigOutcome& tsig, std::vector<std::uint8_t> out, const Reply& reply);
    // The wire form of `answer` to `request`: truncated over UDP when too
    // big, signed when the request was.
    std::vector<std::uint8_t> render(const ldns_pkt* request, const ldns_pkt* answer, bool tcp,
                                     const TsigOutcome& tsig, std::uint64_t now);
    LdnsPkt answer_query(const ldns_pkt* q, const Endpoint& peer);
    // Null when the store answers later (see handle()).
    LdnsPkt answer_update(const std::shared_ptr<const ldns_pkt>& q, const TsigOutcome& tsig,
                          const Endpoint& peer, bool tcp, const Reply& reply);
    // The answer once the store has decided: logs it and queues the NOTIFYs.
    LdnsPkt settle_update(const ldns_pkt* q, const std::string& who, const UpdateRequest& r,
                          const UpdateResult& result);

    // UPDATEs handed to the store and not answered yet: UDP threads wait
    // before reading more while kMaxUpdatesInFlight are, and stop() waits
    // for none.
    struct InFlight {
        std::size_t updates = 0;
    };
    LockGuarded<InFlight> in_flight;
    std::condition_variable in_flight_changed;
    void wait_for_room();
    void update_settled();
    void push_soa(ldns_pkt* answer, const DnsName& apex, ldns_pkt_section section);
};

void ControlServer::Impl::bind_all() {
    for (const Endpoint& ep : config.control.listen) {
        if (ep.port() != 0) {
            udp.push_back(bound_socket(ep, SOCK_DGRAM));
            tcp.push_back(bound_socket(ep, SOCK_STREAM));
            continue;
        }
        // Port 0: the same free port for UDP and TCP.
        for (int attempt = 1;; ++attempt) {
            UniqueFd u = bound_socket(ep, SOCK_DGRAM);
            const Endpoint chosen = with_port(ep, local_of(u.get()).port());
            try {
                UniqueFd t = bound_socket(chosen, SOCK_STREAM);
                udp.push_back(std::move(u));
                tcp.push_back(std::move(t));
                break;
            } catch (const std::system_error&) {
                if (attempt >= kTcpBindAttempts) {
                    throw;
                }
            }
        }
    }
    wake = UniqueFd(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
    if (wake.get() < 0) {
        throw_errno("eventfd");
    }
}

void ControlServer::Impl::start() {
    for (int i = 0; i < kUdpThreads; ++i) {
        threads.emplace_back([this] { udp_loop(); });
    }
    threads.emplace_back([this] { tcp_loop(); });
    for (const UniqueFd& u : udp) {
        log_info("acmezone: control socket listening on ", local_of(u.get()).to_string(),
                 " (UDP and TCP)");
    }
}

void ControlServer::Impl::stop() {
    const std::uint64_t one = 1;
    if (wake.get() >= 0) {
        [[maybe_unused]] ssize_t n = ::write(wake.get(), &one, sizeof one);
    }
    for (std::thread& t : threads) {
        if (t.joinable()) {
            t.join();
        }
    }
    threads.clear();
    // The store answers what it was handed through this object: wait for it
    // (bounded: the committer finishes every batch queued).
    auto f = in_flight.lock();
    in_flight_changed.wait(f.unique_lock(), [&f] { return f->updates == 0; });
}

void ControlServer::Impl::wait_for_room() {
    auto f = in_flight.lock();
    in_flight_changed.wait(f.unique_lock(), [&f] { return f->updates < kMaxUpdatesInFlight; });
}

void ControlServer::Impl::update_settled() {
    {
        auto f = in_flight.lock();
        --f->updates;
    }
    in_flight_changed.notify_all();
}

void ControlServer::Impl::udp_loop() {
    // Each thread has its own epoll set holding every UDP socket with
    // EPOLLEXCLUSIVE, so the kernel wakes one waiting thread per datagram
    // instead of all of them; the wake-up eventfd is shared (not exclusive)
    // so that stop() reaches every thread.
    const UniqueFd ep(::epoll_create1(EPOLL_CLOEXEC));
    if (ep.get() < 0) {
        log_error("acmezone: control socket: epoll_create1: ", std::strerror(errno));
        return;
    }
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.fd = wake.get();
    if (::epoll_ctl(ep.get(), EPOLL_CTL_ADD, wake.get(), &ev) != 0) {
        log_error("acmezone: control socket: epoll_ctl: ", std::strerror(errno));
        return;
    }
    for (const UniqueFd& u : udp) {
        ev.events = EPOLLIN | EPOLLEXCLUSIVE;
        ev.data.fd = u.get();
        if (::epoll_ctl(ep.get(), EPOLL_CTL_ADD, u.get(), &ev) != 0) {
            log_error("acmezone: control socket: epoll_ctl: ", std::strerror(errno));
            return;
        }
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
            if (fd == wake.get()) {
                return;
            }
            // Read what is queued (bounded), not one datagram a wake-up:
            // under load that saves an epoll_wait and a sleep per UPDATE.
            for (int k = 0; k < kUdpReadsPerWakeup; ++k) {
                wait_for_room();
                sockaddr_storage from{};
                socklen_t from_len = sizeof from;
                const ssize_t got = ::recvfrom(fd, buf.data(), buf.size(), MSG_DONTWAIT,
                                               reinterpret_cast<sockaddr*>(&from), &from_len);
                if (got < 0) {
                    break;  // drained, another thread took it, or a transient error
                }
                const Endpoint peer =
                    Endpoint::from_sockaddr(reinterpret_cast<sockaddr*>(&from), from_len);
                handle({buf.data(), static_cast<std::size_t>(got)}, peer, /*tcp=*/false,
                       [fd, from, from_len](std::vector<std::uint8_t> answer) {
                           if (!answer.empty()) {
                               ::sendto(fd, answer.data(), answer.size(), 0,
                                        reinterpret_cast<const sockaddr*>(&from), from_len);
                           }
                       });
            }
        }
    }
}

bool ControlServer::Impl::tcp_read(TcpConnection& c) {
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
    c.last_activity = now;
    c.in.insert(c.in.end(), buf, buf + got);
    std::size_t pos = 0;
    while (c.in.size() - pos >= 2) {
        const std::size_t len = (std::size_t{c.in[pos]} << 8) | c.in[pos + 1];
        if (c.in.size() - pos - 2 < len) {
            break;
        }
        const auto answer = handle_and_wait({c.in.data() + pos + 2, len}, c.peer, /*tcp=*/true);
        if (!answer.empty()) {
            c.out.push_back(static_cast<std::uint8_t>(answer.size() >> 8));
            c.out.push_back(static_cast<std::uint8_t>(answer.size() & 0xff));
            c.out.insert(c.out.end(), answer.begin(), answer.end());
        }
        pos += 2 + len;
        c.message_started = now;
    }
    c.in.erase(c.in.begin(), c.in.begin() + static_cast<std::ptrdiff_t>(pos));
    if (c.out.size() > kMaxTcpPending) {
        log_warning("acmezone: control socket: closing TCP ", c.peer.to_string(),
                    ": it does not read its answers");
        return false;
    }
    return tcp_write(c);
}

bool ControlServer::Impl::tcp_write(TcpConnection& c) {
    while (!c.out.empty()) {
        const ssize_t sent =
            ::send(c.fd.get(), c.out.data(), c.out.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
        if (sent < 0) {
            return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
        }
        c.out.erase(c.out.begin(), c.out.begin() + sent);
        c.last_activity = std::chrono::steady_clock::now();
    }
    return true;
}

void ControlServer::Impl::tcp_loop() {
    std::list<TcpConnection> conns;
    const auto idle = std::chrono::duration_cast<std::chrono::steady_clock::duration>(
        config.control.tcp_idle_timeout);
    std::vector<pollfd> fds;
    std::vector<TcpConnection*> polled;
    for (;;) {
        fds.clear();
        polled.clear();
        fds.push_back({wake.get(), POLLIN, 0});
        for (const UniqueFd& t : tcp) {
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
        const auto now = std::chrono::steady_clock::now();
        std::vector<TcpConnection*> closing;
        for (std::size_t i = 0; n > 0 && i < polled.size(); ++i) {
            const pollfd& p = fds[1 + tcp.size() + i];
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
        for (TcpConnection& c : conns) {
            const bool idle_too_long = now - c.last_activity > idle;
            const bool slow_message = !c.in.empty() && now - c.message_started > idle;
            if ((idle_too_long || slow_message) &&
                std::find(closing.begin(), closing.end(), &c) == closing.end()) {
                log_debug("acmezone: control socket: closing idle TCP ", c.peer.to_string());
                closing.push_back(&c);
            }
        }
        conns.remove_if([&](const TcpConnection& c) {
            return std::find(closing.begin(), closing.end(), &c) != closing.end();
        });
        for (std::size_t i = 0; n > 0 && i < tcp.size(); ++i) {
            if ((fds[1 + i].revents & POLLIN) == 0) {
                continue;
            }
            // Accept what is waiting (bounded: one backlog's worth per round).
            for (int k = 0; k < 64; ++k) {
                sockaddr_storage from{};
                socklen_t len = sizeof from;
                UniqueFd fd(::accept4(tcp[i].get(), reinterpret_cast<sockaddr*>(&from), &len,
                                      SOCK_CLOEXEC | SOCK_NONBLOCK));
                if (fd.get() < 0) {
                    break;
                }
                const Endpoint peer =
                    Endpoint::from_sockaddr(reinterpret_cast<sockaddr*>(&from), len);
                if (conns.size() >= config.control.max_tcp_connections) {
                    if (unauthenticated_warnings.allow()) {
                        log_warning("acmezone: control socket: refusing TCP ", peer.to_string(),
                                    ": max-tcp-connections (", config.control.max_tcp_connections,
                                    ") reached");
                    }
                    continue;  // fd closes here
                }
                conns.push_back(TcpConnection{std::move(fd), peer, {}, {}, now, now});
            }
        }
    }
}

void ControlServer::Impl::push_soa(ldns_pkt* answer, const DnsName& apex,
                                   ldns_pkt_section section) {
    const SoaRecord soa = make_soa(config, apex, store.snapshot()->serial);
    ldns_rr* rr = nullptr;
    if (ldns_rr_new_frm_str(&rr, soa.record_text().c_str(), 0, nullptr, nullptr) !=
            LDNS_STATUS_OK ||
        rr == nullptr) {
        throw std::runtime_error("cannot build the SOA of " + apex.text());
    }
    LdnsRr owned(rr);
    if (!ldns_pkt_push_rr(answer, section, owned.get())) {
        throw std::runtime_error("cannot add the SOA of " + apex.text());
    }
    (void)owned.release();
}

LdnsPkt ControlServer::Impl::answer_query(const ldns_pkt* q, const Endpoint& peer) {
    const ldns_rr_list* qs = ldns_pkt_question(q);
    if (ldns_rr_list_rr_count(qs) != 1) {
        return make_answer(q, kRcodeFormErr);
    }
    const ldns_rr* question = ldns_rr_list_rr(qs, 0);
    char* text = ldns_rdf2str(ldns_rr_owner(question));
    const auto name = DnsName::try_parse(text != nullptr ? text : "");
    std::free(text);
    if (!name || ldns_rr_get_type(question) != LDNS_RR_TYPE_SOA ||
        ldns_rr_get_class(question) != LDNS_RR_CLASS_IN) {
        log_debug("acmezone: control socket: refusing a query from ", peer.to_string(),
                  " (only SOA IN of claimed zones is answered here)");
        return make_answer(q, kRcodeRefused);
    }
    if (claims.is_apex(*name)) {
        LdnsPkt a = make_answer(q, kRcodeNoError, /*aa=*/true);
        push_soa(a.get(), *name, LDNS_SECTION_ANSWER);
        return a;
    }
    if (const auto apex = claims.apex_of(*name)) {
        LdnsPkt a = make_answer(q, kRcodeNoError, /*aa=*/true);
        push_soa(a.get(), *apex, LDNS_SECTION_AUTHORITY);
        return a;
    }
    return make_answer(q, kRcodeRefused);
}

LdnsPkt ControlServer::Impl::answer_update(const std::shared_ptr<const ldns_pkt>& q,
                                           const TsigOutcome& tsig, const Endpoint& peer, bool tcp,
                                           const Reply& reply) {
    const DnsName& key = tsig.key->name;
    DecodeResult d = decode_update(q.get(), claims);
    std::string who = "acmezone: UPDATE from " + peer.to_string() + " key " + key.text();
    if (d.rcode != kRcodeNoError) {
        log_warning(who, ": ", rcode_name(d.rcode), ": ", d.detail);
        return make_answer(q.get(), d.rcode);
    }
    auto r = std::make_shared<UpdateRequest>(std::move(d.request));
    if (const auto denied = grants.first_denied(key, r->names)) {
        log_warning(who, ": REFUSED: key ", key.text(), " is not granted ", denied->text(),
                    " (see the grant lines of the plugin config); nothing changed");
        return make_answer(q.get(), kRcodeRefused);
    }
    if (r->failed_prerequisite != kRcodeNoError) {
        log_info(who, ": ", rcode_name(r->failed_prerequisite), ": ", r->failed_detail);
        return make_answer(q.get(), r->failed_prerequisite);
    }
    // Answered here if the store decides at once, else by the committer.
    in_flight.lock()->updates++;
    std::optional<UpdateResult> at_once;
    try {
        at_once = store.apply_async(
            r->prerequisites, r->changes, [this, q, r, tsig, tcp, reply, who](UpdateResult result) {
                std::vector<std::uint8_t> out;
                try {
                    LdnsPkt answer = settle_update(q.get(), who, *r, result);
                    out = render(q.get(), answer.get(), tcp, tsig, now_seconds());
                } catch (const std::exception& e) {
                    log_error(who, ": SERVFAIL: ", e.what());
                    try {
                        out = render(q.get(), make_answer(q.get(), kRcodeServFail).get(), tcp, tsig,
                                     now_seconds());
                    } catch (const std::exception&) {
                        out.clear();  // nothing can be rendered: the client retries
                    }
                }
                finish(tsig, std::move(out), reply);
                update_settled();
            });
    } catch (...) {
        update_settled();
        throw;
    }
    if (!at_once) {
        return nullptr;
    }
    update_settled();
    return settle_update(q.get(), who, *r, *at_once);
}

LdnsPkt ControlServer::Impl::settle_update(const ldns_pkt* q, const std::string& who,
                                           const UpdateRequest& r, const UpdateResult& result) {
    if (result.rcode != kRcodeNoError) {
        log_warning(who, ": zone ", r.zone.text(), ": ", rcode_name(result.rcode), ": ",
                    result.detail, "; nothing changed");
        return make_answer(q, result.rcode);
    }
    std::vector<DnsName> apexes;
    for (const DnsName& n : result.changed) {
        if (auto apex = claims.apex_of(n);
            apex && std::find(apexes.begin(), apexes.end(), *apex) == apexes.end()) {
            apexes.push_back(*apex);
        }
    }
    log_info(who, ": zone ", r.zone.text(), ": ", r.changes.size(), " change(s), ",
             result.changed.size(), " name(s) changed, serial ", result.serial);
    notifier.notify(apexes);
    return make_answer(q, kRcodeNoError);
}

void ControlServer::Impl::handle(std::span<const std::uint8_t> wire, const Endpoint& peer, bool tcp,
                                 Reply reply) {
    if (wire.size() < 12 || (wire[2] & 0x80) != 0) {
        reply({});  // not a request: never answer
        return;
    }
    TsigOutcome tsig;
    std::vector<std::uint8_t> out;
    try {
        const std::uint64_t now = now_seconds();
        tsig = verifier.verify_request(
            wire, now, tcp ? TsigVerifier::Transport::tcp : TsigVerifier::Transport::udp);
        switch (tsig.status) {
            case TsigOutcome::Status::retransmission:
                log_info("acmezone: control socket: ", peer.to_string(), ": ", tsig.detail);
                reply(std::move(tsig.cached_answer));
                return;
            case TsigOutcome::Status::in_progress:
                log_info("acmezone: control socket: ", peer.to_string(), ": ", tsig.detail,
                         "; no answer to this copy");
                reply({});
                return;
            default:
                break;
        }
        auto answer = respond(wire, peer, tcp, tsig, now, reply);
        if (!answer) {
            return;  // the store answers once the change is durable
        }
        out = std::move(*answer);
    } catch (const std::exception& e) {
        log_error("acmezone: control socket: SERVFAIL to ", peer.to_string(), ": ", e.what());
        out = header_only_answer(wire, kRcodeServFail);
    }
    finish(tsig, std::move(out), reply);
}

std::vector<std::uint8_t> ControlServer::Impl::handle_and_wait(std::span<const std::uint8_t> wire,
                                                               const Endpoint& peer, bool tcp) {
    auto promise = std::make_shared<std::promise<std::vector<std::uint8_t>>>();
    auto future = promise->get_future();
    handle(wire, peer, tcp,
           [promise](std::vector<std::uint8_t> answer) { promise->set_value(std::move(answer)); });
    return future.get();
}

void ControlServer::Impl::finish(const TsigOutcome& tsig, std::vector<std::uint8_t> out,
                                 const Reply& reply) {
    try {
        verifier.cache_answer(tsig, out);  // a copy of this request gets `out` again
    } catch (const std::exception& e) {
        log_error("acmezone: control socket: cannot remember an answer: ", e.what());
    }
    reply(std::move(out));
}

std::optional<std::vector<std::uint8_t>> ControlServer::Impl::respond(
    std::span<const std::uint8_t> wire, const Endpoint& peer, bool tcp, const TsigOutcome& tsig,
    std::uint64_t now, const Reply& reply) {
    if (tsig.status == TsigOutcome::Status::formerr) {
        if (unauthenticated_warnings.allow()) {
            log_warning("acmezone: control socket: FORMERR to ", peer.to_string(), ": ",
                        tsig.detail);
        }
        return header_only_answer(wire, kRcodeFormErr);
    }
    ldns_pkt* raw = nullptr;
    if (ldns_wire2pkt(&raw, wire.data(), wire.size()) != LDNS_STATUS_OK || raw == nullptr) {
        if (unauthenticated_warnings.allow()) {
            log_warning("acmezone: control socket: FORMERR to ", peer.to_string(),
                        ": malformed message");
        }
        auto answer = header_only_answer(wire, kRcodeFormErr);
        verifier.sign_answer(answer, tsig, now);
        return answer;
    }
    const std::shared_ptr<const ldns_pkt> request(LdnsPkt{raw});
    LdnsPkt answer;
    switch (tsig.status) {
        case TsigOutcome::Status::ok:
        case TsigOutcome::Status::unsigned_message:
            break;
        default:
            if (unauthenticated_warnings.allow()) {
                log_warning("acmezone: control socket: ", peer.to_string(), ": ",
                            rcode_name(tsig.rcode()), ": ", tsig.detail);
            }
            answer = make_answer(request.get(), tsig.rcode());
    }
    if (!answer) {
        switch (ldns_pkt_get_opcode(request.get())) {
            case LDNS_PACKET_QUERY:
                answer = answer_query(request.get(), peer);
                break;
            case LDNS_PACKET_UPDATE:
                if (tsig.status != TsigOutcome::Status::ok) {
                    if (unauthenticated_warnings.allow()) {
                        log_warning("acmezone: control socket: REFUSED unsigned UPDATE from ",
                                    peer.to_string(), " (sign it with a key of the keyring)");
                    }
                    answer = make_answer(request.get(), kRcodeRefused);
                } else {
                    answer = answer_update(request, tsig, peer, tcp, reply);
                    if (!answer) {
                        return std::nullopt;
                    }
                }
                break;
            default:
                answer = make_answer(request.get(), kRcodeNotImp);
        }
    }
    return render(request.get(), answer.get(), tcp, tsig, now);
}

std::vector<std::uint8_t> ControlServer::Impl::render(const ldns_pkt* request,
                                                      const ldns_pkt* answer, bool tcp,
                                                      const TsigOutcome& tsig, std::uint64_t now) {
    std::vector<std::uint8_t> out = to_wire(answer);
    if (!tcp && out.size() + TsigVerifier::answer_tsig_size(tsig) > kMaxUdpAnswer) {
        LdnsPkt small = make_answer(request, ldns_pkt_get_rcode(answer), ldns_pkt_aa(answer));
        ldns_pkt_set_tc(small.get(), true);
        out = to_wire(small.get());
    }
    verifier.sign_answer(out, tsig, now);
    return out;
}

ControlServer::ControlServer(const PluginConfig& config, const ZoneClaims& claims,
                             ChallengeStore& store)
    : impl_(std::make_unique<Impl>(config, claims, store)) {
    impl_->bind_all();  // throws before any thread runs; the sockets close with impl_
    impl_->start();
}

ControlServer::~ControlServer() {
    impl_->stop();
}

std::vector<Endpoint> ControlServer::local_endpoints() const {
    std::vector<Endpoint> out;
    for (const UniqueFd& u : impl_->udp) {
        out.push_back(local_of(u.get()));
    }
    return out;
}

}  // namespace acmezone::plugin
