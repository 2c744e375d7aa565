// See interrupt.h. The handler only stores to a lock-free atomic flag, which
// is async-signal-safe.
#include "issuer/interrupt.h"

#include <atomic>
#include <csignal>
#include <thread>

namespace acmezone::issuer {
namespace {

std::atomic<bool> g_interrupted{false};
static_assert(std::atomic<bool>::is_always_lock_free);

extern "C" void on_signal(int) {
    g_interrupted.store(true);
}

}  // namespace

void install_interrupt_handlers() {
    struct sigaction sa {};
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESETHAND;  // a second signal takes the default action
    sigaction(SIGINT, &sa, nullptr);
    sigaction(SIGTERM, &sa, nullptr);
}

bool interrupted() {
    return g_interrupted.load();
}
void request_interrupt() {
    g_interrupted.store(true);
}
void reset_interrupt() {
    g_interrupted.store(false);
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

}  // namespace acmezone::issuer
