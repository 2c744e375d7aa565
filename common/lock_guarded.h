// Shared mutable state that can only be reached with its lock held (after
// PowerDNS's LockGuarded): the mutex and the data live in one object, and
// the only way to the data is a Handle that holds the lock.
//
//     LockGuarded<std::deque<int>> queue;
//     queue.lock()->push_back(1);                 // locked for one statement
//     auto q = queue.lock();                      // locked until q goes away
//     cv.wait(q.unique_lock(), [&] { return !q->empty(); });
#pragma once

#include <mutex>
#include <utility>

namespace acmezone {

template <typename T>
class LockGuarded {
  public:
    class Handle {
      public:
        T* operator->() { return value_; }
        T& operator*() { return *value_; }
        // For std::condition_variable::wait.
        std::unique_lock<std::mutex>& unique_lock() { return lock_; }

      private:
        friend class LockGuarded;
        Handle(std::mutex& m, T& value) : lock_(m), value_(&value) {}
        std::unique_lock<std::mutex> lock_;
        T* value_;
    };

    template <typename... Args>
    explicit LockGuarded(Args&&... args) : value_(std::forward<Args>(args)...) {}

    Handle lock() { return Handle(mutex_, value_); }

  private:
    std::mutex mutex_;
    T value_;
};

}  // namespace acmezone
