// NOTIFY to secondaries: two test sockets play the secondaries, one that
// answers and one that stays silent.
#include "plugin/notifier.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <thread>

namespace acmezone::plugin {
namespace {

using namespace std::chrono_literals;

struct Secondary {
    int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
    Endpoint ep;
    Secondary() {
        const Endpoint any = Endpoint::parse("127.0.0.1:0");
        EXPECT_EQ(::bind(fd, any.sockaddr_ptr(), any.addr_len), 0);
        sockaddr_storage ss{};
        socklen_t len = sizeof ss;
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len);
        ep = Endpoint::from_sockaddr(reinterpret_cast<sockaddr*>(&ss), len);
    }
    ~Secondary() { ::close(fd); }
    // The next message within `t`, answered (QR set, same ID) when `answer`.
    std::vector<std::uint8_t> receive(std::chrono::milliseconds t, bool answer) {
        pollfd p{fd, POLLIN, 0};
        if (::poll(&p, 1, static_cast<int>(t.count())) != 1) {
            return {};
        }
        std::vector<std::uint8_t> buf(512);
        sockaddr_storage from{};
        socklen_t len = sizeof from;
        const ssize_t got =
            ::recvfrom(fd, buf.data(), buf.size(), 0, reinterpret_cast<sockaddr*>(&from), &len);
        buf.resize(static_cast<std::size_t>(std::max<ssize_t>(got, 0)));
        if (answer && buf.size() >= 12) {
            auto reply = buf;
            reply[2] |= 0x80;
            ::sendto(fd, reply.data(), reply.size(), 0, reinterpret_cast<sockaddr*>(&from), len);
        }
        return buf;
    }
};

// The question name of a NOTIFY, as text ("_acme-challenge.example.com").
std::string question(const std::vector<std::uint8_t>& m) {
    std::string out;
    for (std::size_t i = 12; i < m.size() && m[i] != 0; i += m[i] + 1) {
        if (!out.empty()) {
            out += '.';
        }
        out.append(reinterpret_cast<const char*>(&m[i + 1]), m[i]);
    }
    return out;
}

TEST(Notifier, EachTargetGetsANotifyPerApexAndSilentOnesAreRetried) {
    Secondary answering, silent;
    Notifier notifier({answering.ep, silent.ep});
    notifier.notify({DnsName::parse("_acme-challenge.example.com")});

    const auto m = answering.receive(3000ms, true);
    ASSERT_GE(m.size(), 12u);
    EXPECT_EQ((m[2] >> 3) & 0x0f, 4);  // opcode NOTIFY
    EXPECT_NE(m[2] & 0x04, 0);         // AA
    EXPECT_EQ(m[2] & 0x80, 0);         // a request
    EXPECT_EQ(m[5], 1);                // one question
    EXPECT_EQ(question(m), "_acme-challenge.example.com");
    EXPECT_EQ(m[m.size() - 3], 6);  // type SOA
    EXPECT_EQ(m[m.size() - 1], 1);  // class IN

    // The silent one gets kAttempts copies (same message), then no more.
    std::vector<std::uint8_t> first;
    for (int i = 0; i < Notifier::kAttempts; ++i) {
        const auto again = silent.receive(3000ms, false);
        ASSERT_FALSE(again.empty()) << "attempt " << i + 1 << " missing";
        if (first.empty()) {
            first = again;
        }
        EXPECT_EQ(again, first);
    }
    EXPECT_TRUE(silent.receive(1500ms, false).empty());
    EXPECT_EQ(notifier.answered(), 1u);
    // The answering one was not notified again.
    EXPECT_TRUE(answering.receive(100ms, true).empty());
}

TEST(Notifier, NoTargetsSendsNothingAndStopsAtOnce) {
    Notifier notifier({});
    notifier.notify({DnsName::parse("_acme-challenge.example.com")});
    EXPECT_EQ(notifier.answered(), 0u);
}

TEST(Notifier, DestructorDoesNotWaitForSilentSecondaries) {
    Secondary silent;
    const auto t0 = std::chrono::steady_clock::now();
    {
        Notifier notifier({silent.ep});
        notifier.notify({DnsName::parse("a.example"), DnsName::parse("b.example")});
        ASSERT_FALSE(silent.receive(3000ms, false).empty());
    }
    EXPECT_LT(std::chrono::steady_clock::now() - t0, 2s);
}

}  // namespace
}  // namespace acmezone::plugin
