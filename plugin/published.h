// An immutable value that one writer replaces and any thread copies: the
// challenge store's snapshot (challenge_store.h), the catalogs' member sets
// (zone_claims.h).
//
// A mutex held for the copy of one shared_ptr, not
// std::atomic<std::shared_ptr>: GCC 12's implementation releases its
// internal lock with a relaxed store after a load, which ThreadSanitizer
// reports (rightly, by the memory model) as a race with the next store.
#pragma once

#include <memory>
#include <mutex>
#include <utility>

namespace acmezone::plugin {

template <typename T>
class Published {
  public:
    Published() = default;
    explicit Published(std::shared_ptr<const T> initial) : current_(std::move(initial)) {}

    std::shared_ptr<const T> load() const {
        const std::lock_guard lock(mutex_);
        return current_;
    }
    // The old value is released after the lock, never under it.
    void store(std::shared_ptr<const T> next) {
        std::shared_ptr<const T> old;
        {
            const std::lock_guard lock(mutex_);
            old = std::exchange(current_, std::move(next));
        }
    }

  private:
    mutable std::mutex mutex_;
    std::shared_ptr<const T> current_;
};

}  // namespace acmezone::plugin
