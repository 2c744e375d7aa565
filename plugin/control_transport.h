// The control socket's transport: it moves DNS messages between sockets and
// a message handler, and knows nothing of what they mean.
//
// Sockets. Each listen endpoint gets a UDP and a TCP socket on the same port
// (a port 0 is chosen by the UDP bind, then taken for TCP too).
//
// Threads. kUdpThreads threads wait on all UDP sockets, each in its own
// epoll set with EPOLLEXCLUSIVE so one datagram wakes one thread (receives
// are non-blocking, so a second thread woken anyway is harmless), and once
// woken read what is queued (up to kUdpReadsPerWakeup); one thread polls the
// TCP listeners and connections. Every message goes to the handler with a
// Reply that sends its answer. A UDP thread never waits for an answer: the
// handler may reply later from another thread (the store's committer, once
// an UPDATE is durable). Over TCP the thread waits for each answer, so a
// connection's answers keep the order of its questions. Every poll also
// watches an eventfd that stop() signals: threads see it, return, and are
// joined; then stop() waits for the replies still owed, and the sockets
// close with the transport.
//
// Limits, all here. At most kMaxRepliesOwed messages are handed to the
// handler and not yet answered; then the UDP threads stop reading (the
// socket buffer queues) until answers go out. TCP: 2-octet length framing
// (tcp_framing below), any number of messages per connection and split
// anywhere across reads; at most max_tcp_connections at once, and at most
// max_tcp_connections_per_address from one source address (further ones
// are closed at accept, with a warning through the shared WarningLimiter),
// so one host cannot hold every slot. A connection is closed when it made
// no progress for tcp_idle_timeout, or sends one message for longer than
// that. Progress is what costs the sender something: a message the handler
// says was authenticated (a verified TSIG signature), or one of the first
// kFreeRenewals unauthenticated messages of a connection (the SOA query
// nsupdate or certbot sends before its UPDATE) — so an unauthenticated
// client keeps a slot for at most (kFreeRenewals + 1) idle timeouts,
// however often it sends. A client that does not read its answers (over
// kMaxTcpPending octets queued) is closed.
#pragma once

#include <poll.h>

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <list>
#include <span>
#include <thread>
#include <vector>

#include "common/endpoint.h"
#include "common/lock_guarded.h"
#include "common/unique_fd.h"
#include "plugin/warning_limiter.h"

namespace acmezone::plugin {

// DNS over TCP (RFC 1035 §4.2.2): every message preceded by its length,
// two octets, big-endian.
namespace tcp_framing {

// Calls f(message) for every complete message at the front of `in`, in
// order, then removes them from `in` (a partial message stays); returns how
// many it took.
std::size_t take_messages(std::vector<std::uint8_t>& in,
                          const std::function<void(std::span<const std::uint8_t>)>& f);
// Appends `message` to `out` behind its length.
void append_message(std::vector<std::uint8_t>& out, std::span<const std::uint8_t> message);

}  // namespace tcp_framing

struct TransportLimits {
    std::size_t max_tcp_connections = 256;
    std::size_t max_tcp_connections_per_address = 64;
    std::chrono::seconds tcp_idle_timeout{10};
};

class ControlTransport {
  public:
    // Threads reading UDP. They never wait for the disk, so two keep both
    // cores of a small machine busy; more only add context switches
    // (measured: 4.4 per UPDATE with 16 threads that each waited for their
    // fsync, 0.5-0.8 with 2 that do not, at 32 clients).
    static constexpr int kUdpThreads = 2;
    static constexpr int kUdpReadsPerWakeup = 64;  // datagrams read per wake-up, at most
    // Messages handed to the handler and not answered yet, at most (memory
    // bound: beyond that the UDP threads stop reading).
    static constexpr std::size_t kMaxRepliesOwed = 1024;
    static constexpr std::size_t kMaxTcpPending =
        256 * 1024;  // answer octets queued per connection
    static constexpr int kTcpBindAttempts = 20;
    // Unauthenticated messages that renew a TCP connection's idle timer.
    static constexpr int kFreeRenewals = 4;  // port 0: tries to find a port free for both

    // Sends the answer to one message (empty: none). Call it exactly once.
    using Reply = std::function<void(std::vector<std::uint8_t>)>;
    // The message handler: called on the transport's threads, concurrently.
    // Returns true when the message cost its sender something (it was
    // authenticated: a verified TSIG signature), which keeps a TCP
    // connection alive (see Limits above).
    using Handler = std::function<bool(std::span<const std::uint8_t> message, const Endpoint& peer,
                                       bool tcp, Reply reply)>;

    // Binds every listen address (throws std::system_error naming the
    // address when one cannot be bound); no thread runs yet.
    ControlTransport(const std::vector<Endpoint>& listen, TransportLimits limits, Handler handler,
                     WarningLimiter& warnings);
    ~ControlTransport();  // stop()
    ControlTransport(const ControlTransport&) = delete;
    ControlTransport& operator=(const ControlTransport&) = delete;

    void start();  // starts the threads
    // Stops and joins the threads, then waits for every reply still owed.
    void stop();

    // The bound addresses (useful when a listen port was 0).
    std::vector<Endpoint> local_endpoints() const;

  private:
    struct TcpConnection;

    void bind_all(const std::vector<Endpoint>& listen);
    // Hands one message to the handler, counting the reply it owes; the
    // handler's verdict (progress).
    bool dispatch(std::span<const std::uint8_t> message, const Endpoint& peer, bool tcp,
                  Reply reply);
    void wait_for_room();
    void reply_sent();

    void udp_loop();
    UniqueFd udp_epoll_set();  // this thread's epoll set (fd -1: failed, logged)
    void udp_drain(int fd, std::vector<std::uint8_t>& buf);

    void tcp_loop();
    // Reads or writes the polled connections; those to close.
    std::vector<TcpConnection*> tcp_serve(std::span<const pollfd> polls,
                                          const std::vector<TcpConnection*>& polled);
    // Adds the idle and slow connections to `closing`, then closes them all.
    void tcp_close_idle(std::list<TcpConnection>& conns,
                        std::vector<TcpConnection*>& closing) const;
    void tcp_accept(int listener, std::list<TcpConnection>& conns);
    bool tcp_read(TcpConnection& c);
    bool tcp_write(TcpConnection& c);

    TransportLimits limits_;
    Handler handler_;
    WarningLimiter& warnings_;
    std::vector<UniqueFd> udp_;
    std::vector<UniqueFd> tcp_;
    UniqueFd wake_;
    std::vector<std::thread> threads_;
    LockGuarded<std::size_t> replies_owed_{};
    std::condition_variable replies_owed_changed_;
};

}  // namespace acmezone::plugin
