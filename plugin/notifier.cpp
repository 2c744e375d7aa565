// NOTIFY to secondaries: see notifier.h.
#include "plugin/notifier.h"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <random>

#include "common/log.h"
#include "plugin/tsig_verifier.h"

namespace acmezone::plugin {
namespace {

constexpr std::uint8_t kOpcodeNotify = 4;

struct Fd {
    int fd = -1;
    explicit Fd(int f) : fd(f) {}
    ~Fd() {
        if (fd >= 0) {
            ::close(fd);
        }
    }
    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;
};

std::vector<std::uint8_t> notify_message(std::uint16_t id, const DnsName& apex) {
    std::vector<std::uint8_t> m = {static_cast<std::uint8_t>(id >> 8),
                                   static_cast<std::uint8_t>(id & 0xff),
                                   static_cast<std::uint8_t>(kOpcodeNotify << 3 | 0x04),  // AA
                                   0,
                                   0,
                                   1,  // QDCOUNT
                                   0,
                                   0,
                                   0,
                                   0,
                                   0,
                                   0};
    const auto name = name_to_wire(apex);
    m.insert(m.end(), name.begin(), name.end());
    m.insert(m.end(), {0, 6, 0, 1});  // SOA IN
    return m;
}

}  // namespace

Notifier::Notifier(std::vector<Endpoint> targets) : targets_(std::move(targets)) {
    if (!targets_.empty()) {
        worker_ = std::thread([this] { run(); });
    }
}

Notifier::~Notifier() {
    state_.lock()->stopping = true;
    wake_.notify_all();
    if (worker_.joinable()) {
        worker_.join();
    }
}

void Notifier::notify(const std::vector<DnsName>& apexes) {
    if (targets_.empty() || apexes.empty()) {
        return;
    }
    {
        auto state = state_.lock();
        for (const DnsName& apex : apexes) {
            bool queued = false;
            for (const DnsName& q : state->queue) {
                queued = queued || q == apex;
            }
            if (queued) {
                continue;
            }
            if (state->queue.size() >= kMaxQueued) {
                log_warning("acmezone: NOTIFY queue full (", kMaxQueued, "), not notifying ",
                            apex.text());
                continue;
            }
            state->queue.push_back(apex);
        }
    }
    wake_.notify_one();
}

std::size_t Notifier::answered() const {
    return state_.lock()->answered;
}

bool Notifier::stopping() {
    return state_.lock()->stopping;
}

void Notifier::run() {
    for (;;) {
        DnsName apex;
        {
            auto state = state_.lock();
            wake_.wait(state.unique_lock(),
                       [&state] { return state->stopping || !state->queue.empty(); });
            if (state->stopping) {
                return;
            }
            apex = state->queue.front();
            state->queue.pop_front();
        }
        for (const Endpoint& target : targets_) {
            const bool ok = send_one(apex, target);
            auto state = state_.lock();
            if (state->stopping) {
                return;
            }
            if (ok) {
                ++state->answered;
            }
        }
    }
}

bool Notifier::send_one(const DnsName& apex, const Endpoint& target) {
    Fd sock(::socket(target.family(), SOCK_DGRAM | SOCK_CLOEXEC, 0));
    if (sock.fd < 0) {
        log_warning("acmezone: NOTIFY ", apex.text(), " to ", target.to_string(),
                    ": socket: ", std::strerror(errno));
        return false;
    }
    static thread_local std::mt19937 rng{std::random_device{}()};
    const auto id = static_cast<std::uint16_t>(rng());
    const auto message = notify_message(id, apex);
    for (int attempt = 1; attempt <= kAttempts; ++attempt) {
        if (::sendto(sock.fd, message.data(), message.size(), 0, target.sockaddr_ptr(),
                     target.addr_len) < 0) {
            log_warning("acmezone: NOTIFY ", apex.text(), " to ", target.to_string(),
                        ": send: ", std::strerror(errno));
        }
        const auto deadline = std::chrono::steady_clock::now() + kAnswerTimeout;
        // Wait in short slices so that the destructor never waits long for us.
        for (int slice = 0; slice < 100; ++slice) {
            if (stopping()) {
                return false;
            }
            const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                deadline - std::chrono::steady_clock::now());
            if (left.count() <= 0) {
                break;
            }
            pollfd p{sock.fd, POLLIN, 0};
            const int n = ::poll(&p, 1, static_cast<int>(std::min<long>(left.count(), 100)));
            if (n <= 0) {
                continue;
            }
            std::uint8_t buf[512];
            const ssize_t got = ::recv(sock.fd, buf, sizeof buf, 0);
            if (got >= 12 && buf[0] == message[0] && buf[1] == message[1] && (buf[2] & 0x80) != 0 &&
                ((buf[2] >> 3) & 0x0f) == kOpcodeNotify) {
                const int rcode = buf[3] & 0x0f;
                if (rcode != 0) {
                    log_warning("acmezone: NOTIFY ", apex.text(), " to ", target.to_string(),
                                " answered with RCODE ", rcode,
                                " (does the secondary allow NOTIFY from this address?)");
                } else {
                    log_debug("acmezone: NOTIFY ", apex.text(), " to ", target.to_string(),
                              " answered");
                }
                return rcode == 0;
            }
        }
    }
    log_warning("acmezone: NOTIFY ", apex.text(), " to ", target.to_string(), ": no answer after ",
                kAttempts, " attempts");
    return false;
}

}  // namespace acmezone::plugin
