// The control socket: RFC 2136 UPDATE (and the SOA queries clients send to
// find the zone) over UDP and TCP, TSIG-signed, scoped per key.
//
// Threads. Each listen endpoint gets a UDP and a TCP socket on the same port
// (a port 0 is chosen by the UDP bind, then taken for TCP too). kUdpThreads
// threads wait on all UDP sockets, each in its own epoll set with
// EPOLLEXCLUSIVE so one datagram wakes one thread (receives are non-blocking,
// so a second thread woken anyway is harmless); one thread polls the TCP listeners and
// connections. Several UPDATEs in flight at once let the store group their
// fsyncs. Every poll also watches an eventfd that the destructor signals:
// threads see it, return, and are joined; sockets close after that.
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
//           prerequisites decided by the decoder → ChallengeStore::apply,
//           which returns only once the change is durable and published, so
//           the answer (sent after it) is read-your-writes. Then NOTIFY of
//           the changed apexes is queued (notifier.h), never awaited.
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
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <list>
#include <system_error>
#include <thread>

#include "common/log.h"
#include "common/unique_fd.h"
#include "plugin/grant_table.h"
#include "plugin/lock_guarded.h"
#include "plugin/notifier.h"
#include "plugin/soa.h"
#include "plugin/tsig_verifier.h"
#include "plugin/update_message.h"

namespace acmezone::plugin {
namespace {

// UPDATEs in flight at once over UDP: each blocks its thread until the
// store's group commit has made it durable, so this bounds the batch size.
constexpr int kUdpThreads = 16;
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

    // The answer to one message (empty: none), answers remembered for retransmissions.
    std::vector<std::uint8_t> handle(std::span<const std::uint8_t> wire, const Endpoint& peer,
                                     bool tcp);
    // The answer to a message whose TSIG was checked (throws on internal errors).
    std::vector<std::uint8_t> respond(std::span<const std::uint8_t> wire, const Endpoint& peer,
                                      bool tcp, const TsigOutcome& tsig, std::uint64_t now);
    LdnsPkt answer_query(const ldns_pkt* q, const Endpoint& peer);
    LdnsPkt answer_update(const ldns_pkt* q, const TsigOutcome& tsig, const Endpoint& peer);
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
            sockaddr_storage from{};
            socklen_t from_len = sizeof from;
            const ssize_t got = ::recvfrom(fd, buf.data(), buf.size(), MSG_DONTWAIT,
                                           reinterpret_cast<sockaddr*>(&from), &from_len);
            if (got < 0) {
                continue;  // another thread took it, or a transient error
            }
            const Endpoint peer =
                Endpoint::from_sockaddr(reinterpret_cast<sockaddr*>(&from), from_len);
            const auto answer =
                handle({buf.data(), static_cast<std::size_t>(got)}, peer, /*tcp=*/false);
            if (!answer.empty()) {
                ::sendto(fd, answer.data(), answer.size(), 0, reinterpret_cast<sockaddr*>(&from),
                         from_len);
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
        const auto answer = handle({c.in.data() + pos + 2, len}, c.peer, /*tcp=*/true);
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

LdnsPkt ControlServer::Impl::answer_update(const ldns_pkt* q, const TsigOutcome& tsig,
                                           const Endpoint& peer) {
    const DnsName& key = tsig.key->name;
    DecodeResult d = decode_update(q, claims);
    const std::string who = "acmezone: UPDATE from " + peer.to_string() + " key " + key.text();
    if (d.rcode != kRcodeNoError) {
        log_warning(who, ": ", rcode_name(d.rcode), ": ", d.detail);
        return make_answer(q, d.rcode);
    }
    const UpdateRequest& r = d.request;
    if (const auto denied = grants.first_denied(key, r.names)) {
        log_warning(who, ": REFUSED: key ", key.text(), " is not granted ", denied->text(),
                    " (see the grant lines of the plugin config); nothing changed");
        return make_answer(q, kRcodeRefused);
    }
    if (r.failed_prerequisite != kRcodeNoError) {
        log_info(who, ": ", rcode_name(r.failed_prerequisite), ": ", r.failed_detail);
        return make_answer(q, r.failed_prerequisite);
    }
    const UpdateResult result = store.apply(r.prerequisites, r.changes);
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

std::vector<std::uint8_t> ControlServer::Impl::handle(std::span<const std::uint8_t> wire,
                                                      const Endpoint& peer, bool tcp) {
    if (wire.size() < 12 || (wire[2] & 0x80) != 0) {
        return {};  // not a request: never answer
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
                return std::move(tsig.cached_answer);
            case TsigOutcome::Status::in_progress:
                log_info("acmezone: control socket: ", peer.to_string(), ": ", tsig.detail,
                         "; no answer to this copy");
                return {};
            default:
                break;
        }
        out = respond(wire, peer, tcp, tsig, now);
    } catch (const std::exception& e) {
        log_error("acmezone: control socket: SERVFAIL to ", peer.to_string(), ": ", e.what());
        out = header_only_answer(wire, kRcodeServFail);
    }
    try {
        verifier.cache_answer(tsig, out);  // a copy of this request gets `out` again
    } catch (const std::exception& e) {
        log_error("acmezone: control socket: cannot remember an answer: ", e.what());
    }
    return out;
}

std::vector<std::uint8_t> ControlServer::Impl::respond(std::span<const std::uint8_t> wire,
                                                       const Endpoint& peer, bool tcp,
                                                       const TsigOutcome& tsig, std::uint64_t now) {
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
    const LdnsPkt request(raw);
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
                    answer = answer_update(request.get(), tsig, peer);
                }
                break;
            default:
                answer = make_answer(request.get(), kRcodeNotImp);
        }
    }
    std::vector<std::uint8_t> out = to_wire(answer.get());
    if (!tcp && out.size() + TsigVerifier::answer_tsig_size(tsig) > kMaxUdpAnswer) {
        LdnsPkt small =
            make_answer(request.get(), ldns_pkt_get_rcode(answer.get()), ldns_pkt_aa(answer.get()));
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
