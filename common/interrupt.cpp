// See interrupt.h. The handler only touches lock-free atomics, calls
// clock_gettime(), write() and sigaction(): all async-signal-safe.
#include "common/interrupt.h"

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdint>
#include <ctime>
#include <thread>

namespace acmezone {
namespace {

std::atomic<int> g_stop_signals{0};
std::atomic<std::int64_t> g_stop_at_ms{0};  // CLOCK_MONOTONIC of the first stop signal
std::atomic<std::int64_t> g_grace_ms{0};
std::atomic<bool> g_abort{false};
std::atomic<bool> g_reload{false};
int g_pipe[2] = {-1, -1};
static_assert(std::atomic<int>::is_always_lock_free);
static_assert(std::atomic<std::int64_t>::is_always_lock_free);
static_assert(std::atomic<bool>::is_always_lock_free);

std::int64_t monotonic_ms() {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<std::int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

void wake() {
    if (g_pipe[1] >= 0) {
        const char c = 1;
        const int saved = errno;
        (void)!::write(g_pipe[1], &c, 1);  // a full pipe already wakes the reader
        errno = saved;
    }
}

extern "C" void on_stop_signal(int sig) {
    const int n = ++g_stop_signals;
    if (n == 1) {
        g_stop_at_ms.store(monotonic_ms());
    }
    if (n > 1 || g_grace_ms.load() == 0) {
        // Work in flight stops now; the next signal takes the default action.
        g_abort.store(true);
        struct sigaction sa {};
        sa.sa_handler = SIG_DFL;
        sigemptyset(&sa.sa_mask);
        sigaction(sig == SIGINT ? SIGINT : SIGTERM, &sa, nullptr);
        sigaction(sig == SIGINT ? SIGTERM : SIGINT, &sa, nullptr);
    }
    wake();
}

extern "C" void on_reload_signal(int) {
    g_reload.store(true);
    wake();
}

void ensure_pipe() {
    if (g_pipe[0] < 0 && ::pipe2(g_pipe, O_NONBLOCK | O_CLOEXEC) != 0) {
        g_pipe[0] = g_pipe[1] = -1;  // wait_for_signal() then polls every 50 ms
    }
}

}  // namespace

void install_interrupt_handlers() {
    ensure_pipe();
    struct sigaction sa {};
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    sigaddset(&sa.sa_mask, SIGINT);
    sigaddset(&sa.sa_mask, SIGTERM);
    sigaction(SIGINT, &sa, nullptr);
    sigaction(SIGTERM, &sa, nullptr);
}

void install_reload_handler() {
    ensure_pipe();
    struct sigaction sa {};
    sa.sa_handler = on_reload_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    sigaction(SIGHUP, &sa, nullptr);
}

void set_stop_grace(std::chrono::seconds grace) {
    g_grace_ms.store(std::chrono::duration_cast<std::chrono::milliseconds>(grace).count());
}

bool stop_requested() {
    return g_stop_signals.load() > 0 || g_abort.load();
}

bool interrupted() {
    if (g_abort.load()) {
        return true;
    }
    if (g_stop_signals.load() == 0) {
        return false;
    }
    return monotonic_ms() >= g_stop_at_ms.load() + g_grace_ms.load();
}

bool take_reload_request() {
    return g_reload.exchange(false);
}

void request_interrupt() {
    g_abort.store(true);
    wake();
}

void request_stop() {
    if (g_stop_signals.fetch_add(1) == 0) {
        g_stop_at_ms.store(monotonic_ms());
    }
    wake();
}

void reset_interrupt() {
    g_stop_signals.store(0);
    g_stop_at_ms.store(0);
    g_abort.store(false);
    g_reload.store(false);
}

void sleep_or_interrupt(std::chrono::milliseconds d) {
    const auto end = std::chrono::steady_clock::now() + d;
    constexpr std::chrono::milliseconds kSlice{50};
    for (;;) {  // ends at `end` (at most d / 50 ms rounds) or on the flag
        if (interrupted()) {
            throw Interrupted();
        }
        const auto now = std::chrono::steady_clock::now();
        if (now >= end) {
            return;
        }
        std::this_thread::sleep_for(
            std::min<std::chrono::steady_clock::duration>(end - now, kSlice));
    }
}

bool wait_for_signal(std::chrono::milliseconds d) {
    const auto end = std::chrono::steady_clock::now() + d;
    for (;;) {  // ends at `end` or when a signal arrives; each round sleeps until one of them
        if (stop_requested() || g_reload.load()) {
            return false;
        }
        const auto now = std::chrono::steady_clock::now();
        if (now >= end) {
            return true;
        }
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(end - now) +
                    std::chrono::milliseconds(1);
        if (g_pipe[0] < 0) {
            std::this_thread::sleep_for(
                std::min<std::chrono::milliseconds>(left, std::chrono::milliseconds(50)));
            continue;
        }
        pollfd p{g_pipe[0], POLLIN, 0};
        const int ms = static_cast<int>(std::min<long long>(left.count(), 60000));
        if (::poll(&p, 1, ms) > 0) {
            char buf[64];
            while (::read(g_pipe[0], buf, sizeof buf) > 0) {
            }
        }
    }
}

}  // namespace acmezone
