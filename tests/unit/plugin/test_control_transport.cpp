// The control socket's transport on its own: TCP framing as pure functions,
// and real sockets on loopback with a stand-in handler (no DNS meaning).
#include "plugin/control_transport.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <atomic>
#include <chrono>
#include <future>
#include <mutex>
#include <thread>

#include "tests/unit/control_packets.h"

namespace acmezone::plugin {
namespace {

using namespace std::chrono_literals;
using testing::readable;
using testing::Socket;
using Octets = std::vector<std::uint8_t>;

TEST(TcpFraming, TakesEveryCompleteMessageAndKeepsAPartialOne) {
    Octets in;
    tcp_framing::append_message(in, Octets{1, 2, 3});
    tcp_framing::append_message(in, Octets{});
    tcp_framing::append_message(in, Octets(300, 7));
    EXPECT_EQ(in.size(), 2u + 3 + 2 + 2 + 300);
    EXPECT_EQ(in[0], 0);
    EXPECT_EQ(in[1], 3);
    EXPECT_EQ(in[7], 1);  // 300 = 0x012c
    EXPECT_EQ(in[8], 0x2c);
    in.push_back(0);  // a fourth message: one octet of its length so far
    std::vector<Octets> got;
    const auto taken = tcp_framing::take_messages(
        in, [&](std::span<const std::uint8_t> m) { got.emplace_back(m.begin(), m.end()); });
    EXPECT_EQ(taken, 3u);
    ASSERT_EQ(got.size(), 3u);
    EXPECT_EQ(got[0], (Octets{1, 2, 3}));
    EXPECT_TRUE(got[1].empty());
    EXPECT_EQ(got[2], Octets(300, 7));
    EXPECT_EQ(in, Octets{0});  // the partial message stays
    in.insert(in.end(), {2, 9});
    EXPECT_EQ(tcp_framing::take_messages(in, [&](std::span<const std::uint8_t>) {}), 0u);
    in.push_back(9);
    EXPECT_EQ(tcp_framing::take_messages(in, [&](std::span<const std::uint8_t>) {}), 1u);
    EXPECT_TRUE(in.empty());
}

// A transport on 127.0.0.1 whose handler answers each message with its
// octets reversed, or (when `deferred`) keeps the reply for the test.
class TransportTest : public ::testing::Test {
  protected:
    void start(TransportLimits limits = {}) {
        transport = std::make_unique<ControlTransport>(
            std::vector<Endpoint>{Endpoint::parse("127.0.0.1:0")}, limits,
            [this](std::span<const std::uint8_t> m, const Endpoint&, bool tcp,
                   ControlTransport::Reply reply) {
                ++(tcp ? tcp_messages : udp_messages);
                const bool progress = !m.empty() && m[0] == 1;
                if (deferred) {
                    std::lock_guard lock(mu);
                    kept.push_back(std::move(reply));
                    return progress;
                }
                reply(Octets(m.rbegin(), m.rend()));
                return progress;
            },
            warnings);
        transport->start();
        ep = transport->local_endpoints().at(0);
    }
    std::unique_ptr<Socket> udp_client() {
        auto s = std::make_unique<Socket>(::socket(AF_INET, SOCK_DGRAM, 0));
        ::connect(s->fd(), ep.sockaddr_ptr(), ep.addr_len);
        return s;
    }
    std::unique_ptr<Socket> tcp_client() {
        auto s = std::make_unique<Socket>(::socket(AF_INET, SOCK_STREAM, 0));
        EXPECT_EQ(::connect(s->fd(), ep.sockaddr_ptr(), ep.addr_len), 0);
        return s;
    }
    static Octets receive(int fd, std::chrono::milliseconds timeout = 5000ms) {
        if (!readable(fd, timeout)) {
            return {};
        }
        Octets buf(65535);
        const ssize_t got = ::recv(fd, buf.data(), buf.size(), 0);
        buf.resize(got > 0 ? static_cast<std::size_t>(got) : 0);
        return buf;
    }

    WarningLimiter warnings;
    std::atomic<int> udp_messages{0};
    std::atomic<int> tcp_messages{0};
    std::atomic<bool> deferred{false};
    std::mutex mu;
    std::vector<ControlTransport::Reply> kept;
    std::unique_ptr<ControlTransport> transport;
    Endpoint ep;
};

TEST_F(TransportTest, UdpDatagramInAnswerOut) {
    start();
    const auto s = udp_client();
    const Octets msg{1, 2, 3, 4};
    ASSERT_EQ(::send(s->fd(), msg.data(), msg.size(), 0), 4);
    EXPECT_EQ(receive(s->fd()), (Octets{4, 3, 2, 1}));
    EXPECT_EQ(udp_messages.load(), 1);
}

TEST_F(TransportTest, TcpMessagesSplitAnywhereAreAnsweredFramedInOrder) {
    start();
    const auto s = tcp_client();
    Octets out;
    tcp_framing::append_message(out, Octets{1, 2});
    tcp_framing::append_message(out, Octets{3, 4, 5});
    // One octet at a time: the transport must reassemble across reads.
    for (std::uint8_t b : out) {
        ASSERT_EQ(::send(s->fd(), &b, 1, 0), 1);
        std::this_thread::sleep_for(1ms);  // let the reads split (not waited on)
    }
    Octets in;
    const auto deadline = std::chrono::steady_clock::now() + 5s;
    std::vector<Octets> answers;
    while (answers.size() < 2 && std::chrono::steady_clock::now() < deadline) {
        const Octets got = receive(s->fd(), 500ms);
        in.insert(in.end(), got.begin(), got.end());
        tcp_framing::take_messages(
            in, [&](std::span<const std::uint8_t> m) { answers.emplace_back(m.begin(), m.end()); });
    }
    ASSERT_EQ(answers.size(), 2u);
    EXPECT_EQ(answers[0], (Octets{2, 1}));
    EXPECT_EQ(answers[1], (Octets{5, 4, 3}));
}

TEST_F(TransportTest, ConnectionsOverTheLimitAreClosedAtAccept) {
    start(TransportLimits{1, 1, std::chrono::seconds(10)});
    const auto first = tcp_client();
    Octets out;
    tcp_framing::append_message(out, Octets{1});
    ASSERT_EQ(::send(first->fd(), out.data(), out.size(), 0), 3);
    ASSERT_FALSE(receive(first->fd()).empty());  // accepted and served
    const auto second = tcp_client();
    // Closed by the server: EOF (or a reset), never an answer.
    ::send(second->fd(), out.data(), out.size(), MSG_NOSIGNAL);
    EXPECT_TRUE(receive(second->fd()).empty());
}

TEST_F(TransportTest, ManyConnectionsFromOneAddressLeaveRoomForAnother) {
    TransportLimits limits;  // the defaults, 256 connections in all
    start(limits);
    Octets out;
    tcp_framing::append_message(out, Octets{0, 5});
    // 300 connections from 127.0.0.1, each sending a query: it may hold
    // only its own share of the slots.
    std::vector<std::unique_ptr<Socket>> flood;
    for (int i = 0; i < 300; ++i) {
        flood.push_back(tcp_client());
        ::send(flood.back()->fd(), out.data(), out.size(), MSG_NOSIGNAL);
    }
    // Every one of them was accepted, or closed at accept: wait until each
    // has its answer or its EOF, so the transport has seen them all.
    for (auto& s : flood) {
        (void)receive(s->fd());
    }
    // A client from 127.0.0.2 is still served.
    Socket other(::socket(AF_INET, SOCK_STREAM, 0));
    sockaddr_in from{};
    from.sin_family = AF_INET;
    from.sin_addr.s_addr = htonl(0x7f000002);
    ASSERT_EQ(::bind(other.fd(), reinterpret_cast<sockaddr*>(&from), sizeof from), 0);
    ASSERT_EQ(::connect(other.fd(), ep.sockaddr_ptr(), ep.addr_len), 0);
    ASSERT_EQ(::send(other.fd(), out.data(), out.size(), 0), 4);
    Octets want;
    tcp_framing::append_message(want, Octets{5, 0});
    EXPECT_EQ(receive(other.fd()), want);
}

TEST_F(TransportTest, OnlyAuthenticatedMessagesKeepAConnectionAliveForLong) {
    // The stand-in handler counts a message as progress when its first
    // octet is 1 (the real one: a verified TSIG signature).
    TransportLimits limits;
    limits.tcp_idle_timeout = std::chrono::seconds(1);
    start(limits);
    const auto idler = tcp_client();
    const auto signer = tcp_client();
    Octets idle_msg;
    tcp_framing::append_message(idle_msg, Octets{0});
    Octets signed_msg;
    tcp_framing::append_message(signed_msg, Octets{1});
    // Both send a message every 300 ms. The unauthenticated one renews its
    // timer a few times only, then is closed; the other stays.
    const auto start_time = std::chrono::steady_clock::now();
    const auto deadline = start_time + 20s;
    bool idler_closed = false;
    while (!idler_closed && std::chrono::steady_clock::now() < deadline) {
        if (::send(idler->fd(), idle_msg.data(), idle_msg.size(), MSG_NOSIGNAL) < 0 ||
            receive(idler->fd(), 1000ms).empty()) {
            idler_closed = true;
        }
        ASSERT_EQ(::send(signer->fd(), signed_msg.data(), signed_msg.size(), MSG_NOSIGNAL), 3);
        ASSERT_FALSE(receive(signer->fd(), 1000ms).empty())
            << "the authenticated client was closed";
        std::this_thread::sleep_for(300ms);  // the client's pace, not a wait for the server
    }
    EXPECT_TRUE(idler_closed) << "an unauthenticated client held its slot for 20 s";
}

TEST_F(TransportTest, AReplyMayComeLaterFromAnotherThreadAndStopWaitsForIt) {
    deferred = true;
    start();
    const auto s = udp_client();
    const Octets msg{9, 8};
    ASSERT_EQ(::send(s->fd(), msg.data(), msg.size(), 0), 2);
    const auto deadline = std::chrono::steady_clock::now() + 5s;
    while (udp_messages.load() == 0 && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(5ms);
    }
    ASSERT_EQ(udp_messages.load(), 1);
    // stop() must not return while the reply is owed.
    auto stopped = std::async(std::launch::async, [this] { transport->stop(); });
    EXPECT_EQ(stopped.wait_for(200ms), std::future_status::timeout);
    {
        std::lock_guard lock(mu);
        ASSERT_EQ(kept.size(), 1u);
        kept[0](Octets{7});
    }
    EXPECT_EQ(stopped.wait_for(5s), std::future_status::ready);
    EXPECT_EQ(receive(s->fd()), Octets{7});
}

}  // namespace
}  // namespace acmezone::plugin
