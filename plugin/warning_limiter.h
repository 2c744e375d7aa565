// A budget for warnings about messages nobody authenticated (malformed,
// bad TSIG, unsigned, TCP connections over the limit): at most
// kUnauthenticatedWarnings per kWarningWindow, so that a flood of junk
// cannot flood named's log. The number left out is logged once the next
// window opens. The control socket's transport and its message handler
// share one budget.
//
// Threads: allow() from any thread.
#pragma once

#include <chrono>
#include <cstddef>

#include "common/lock_guarded.h"

namespace acmezone::plugin {

class WarningLimiter {
  public:
    static constexpr int kUnauthenticatedWarnings = 20;
    static constexpr std::chrono::seconds kWarningWindow{10};

    // True when one more warning may be logged now.
    bool allow();

  private:
    struct State {
        std::chrono::steady_clock::time_point window_start{};
        int logged = 0;
        std::size_t suppressed = 0;
    };
    LockGuarded<State> state_;
};

}  // namespace acmezone::plugin
