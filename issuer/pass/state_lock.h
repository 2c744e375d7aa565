// One pass at a time: `run`, `issue` and each pass of `daemon` hold an
// exclusive flock() on <state-dir>/lock while they work, so a timer's run
// that fires while another pass (or the daemon's) is still working does not
// overlap it. A second process does not wait: it says which process holds
// the lock and exits with kExitBusy (3). `status` takes no lock.
//
// The lock is released when the holder exits, however it exits (the kernel
// drops flock()s with the file descriptor), so a crashed run never blocks the
// next. The file holds the holder's PID, for the message only.
#pragma once

#include <filesystem>
#include <optional>
#include <string>

namespace acmezone::issuer {

class StateLock {
  public:
    // Takes the lock without waiting; nullopt when another process holds it,
    // with `*holder` set to what the file says ("pid 1234"). Throws
    // std::system_error naming the file when it cannot be opened.
    static std::optional<StateLock> try_acquire(const std::filesystem::path& state_dir,
                                                std::string* holder);

    StateLock(StateLock&& other) noexcept;
    StateLock& operator=(StateLock&&) = delete;
    StateLock(const StateLock&) = delete;
    ~StateLock();

    static std::filesystem::path path(const std::filesystem::path& state_dir) {
        return state_dir / "lock";
    }

  private:
    explicit StateLock(int fd) : fd_(fd) {}
    int fd_ = -1;
};

}  // namespace acmezone::issuer
