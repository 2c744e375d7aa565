// UniqueFd: sole owner of a file descriptor, closed when the owner goes
// (RAII, movable, not copyable). -1 means none. The destructor and reset()
// do not report close(2) errors; close() does, for callers that must know
// whether written data reached the disk.
#pragma once

#include <unistd.h>

#include <cerrno>
#include <utility>

namespace acmezone {

class UniqueFd {
  public:
    UniqueFd() = default;
    explicit UniqueFd(int fd) : fd_(fd) {}
    ~UniqueFd() { reset(); }
    UniqueFd(UniqueFd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
    UniqueFd& operator=(UniqueFd&& o) noexcept {
        if (this != &o) {
            reset();
            fd_ = std::exchange(o.fd_, -1);
        }
        return *this;
    }
    UniqueFd(const UniqueFd&) = delete;
    UniqueFd& operator=(const UniqueFd&) = delete;

    int get() const { return fd_; }
    // Closes the descriptor held, if any.
    void reset() {
        if (fd_ >= 0) {
            ::close(fd_);
        }
        fd_ = -1;
    }
    // Closes now; close(2)'s errno, or 0. The descriptor is released even on
    // an error (Linux), so it is never closed twice.
    int close() {
        const int fd = std::exchange(fd_, -1);
        if (fd >= 0 && ::close(fd) != 0) {
            return errno;
        }
        return 0;
    }

  private:
    int fd_ = -1;
};

}  // namespace acmezone
