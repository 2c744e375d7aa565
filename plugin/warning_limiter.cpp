// The control socket's budget for warnings about unauthenticated messages:
// see warning_limiter.h.
#include "plugin/warning_limiter.h"

#include "common/log.h"

namespace acmezone::plugin {

bool WarningLimiter::allow() {
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

}  // namespace acmezone::plugin
