// See state_lock.h.
#include "issuer/pass/state_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>

#include "common/file_io.h"

namespace acmezone::issuer {

std::optional<StateLock> StateLock::try_acquire(const std::filesystem::path& state_dir,
                                                std::string* holder) {
    ensure_directory(state_dir, 0700);
    const std::filesystem::path p = path(state_dir);
    const int fd = ::open(p.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) {
        throw std::system_error(errno, std::generic_category(), p.string());
    }
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
        const int err = errno;
        if (err == EWOULDBLOCK) {
            char buf[32] = {};
            const ssize_t n = ::pread(fd, buf, sizeof buf - 1, 0);
            std::string pid = n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : "";
            while (!pid.empty() && (pid.back() == '\n' || pid.back() == ' ')) {
                pid.pop_back();
            }
            *holder = pid.empty() ? "another process" : "pid " + pid;
            ::close(fd);
            return std::nullopt;
        }
        ::close(fd);
        throw std::system_error(err, std::generic_category(), "flock " + p.string());
    }
    const std::string pid = std::to_string(::getpid()) + "\n";
    if (::ftruncate(fd, 0) != 0 ||
        ::pwrite(fd, pid.data(), pid.size(), 0) != static_cast<ssize_t>(pid.size())) {
        // The PID is only for messages; the lock itself is held.
    }
    return StateLock(fd);
}

StateLock::StateLock(StateLock&& other) noexcept : fd_(other.fd_) {
    other.fd_ = -1;
}

StateLock::~StateLock() {
    if (fd_ >= 0) {
        ::close(fd_);  // drops the flock
    }
}

}  // namespace acmezone::issuer
