// Atomic file replacement and the small file helpers around it.
//
// Design note. write_file_atomic() is how the plugin saves its state and the
// issuer stores keys and certificates, so it must never leave a reader with a
// half-written file, never expose a secret through a moment of wrong mode, and
// never lose the old content on failure:
//   1. create ".<name>.tmp-<pid>-<n>" in the target's own directory (rename is
//      only atomic within one file system) with O_CREAT|O_EXCL|O_NOFOLLOW and
//      the final mode, so the mode holds from the first byte (umask can only
//      narrow it) and an existing file or symlink is never reused;
//   2. write all bytes, retrying EINTR and short writes;
//   3. fsync the file, close it and check close's result;
//   4. rename over the target, then fsync the directory so the rename is durable.
// Until step 4 a scope guard unlinks the temporary file on any failure, and
// the target has not been touched. Errors are std::system_error with the
// errno and a message naming the path and the step that failed.
#include "common/file_io.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <functional>
#include <stdexcept>
#include <string>
#include <system_error>

#include "common/unique_fd.h"

namespace acmezone {
namespace {

[[noreturn]] void throw_errno(int err, const std::string& what) {
    throw std::system_error(err, std::generic_category(), what);
}

std::filesystem::path directory_of(const std::filesystem::path& path) {
    std::filesystem::path dir = path.parent_path();
    return dir.empty() ? std::filesystem::path(".") : dir;
}

void write_all(int fd, std::string_view data, const std::string& what) {
    const char* p = data.data();
    std::size_t left = data.size();
    // Each pass writes at least one byte or fails; EINTR retries are bounded.
    int interrupts = 0;
    while (left > 0) {
        ssize_t n = ::write(fd, p, left);
        if (n < 0) {
            if (errno == EINTR && ++interrupts < 1000) {
                continue;
            }
            throw_errno(errno, what);
        }
        if (n == 0) {
            throw_errno(EIO, what);
        }
        p += n;
        left -= static_cast<std::size_t>(n);
    }
}

int fsync_retry(int fd) {
    for (int i = 0; i < 100; ++i) {
        if (::fsync(fd) == 0) {
            return 0;
        }
        if (errno != EINTR) {
            return errno;
        }
    }
    return EINTR;
}

std::atomic<unsigned> g_temp_counter{0};

}  // namespace

void write_file_atomic(const std::filesystem::path& path, std::string_view data, mode_t mode) {
    write_file_atomic(path, mode, [data](const ChunkSink& write) { write(data); });
}

void write_file_atomic(const std::filesystem::path& path, mode_t mode,
                       const std::function<void(const ChunkSink&)>& produce) {
    const std::string target = path.string();
    if (!path.has_filename()) {
        throw_errno(EISDIR, "write " + target + ": not a file name");
    }
    const std::filesystem::path dir = directory_of(path);
    std::string temp;
    int fd_raw = -1;
    for (int attempt = 0; attempt < 100 && fd_raw < 0; ++attempt) {
        temp = (dir / ("." + path.filename().string() + ".tmp-" + std::to_string(::getpid()) + "-" +
                       std::to_string(g_temp_counter.fetch_add(1))))
                   .string();
        fd_raw = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode);
        if (fd_raw < 0 && errno != EEXIST && errno != EINTR) {
            throw_errno(errno, "write " + target + ": cannot create temporary file " + temp);
        }
    }
    if (fd_raw < 0) {
        throw_errno(EEXIST, "write " + target + ": no free temporary file name in " + dir.string());
    }
    UniqueFd fd(fd_raw);
    bool committed = false;
    struct RemoveTemp {
        const std::string& name;
        const bool& committed;
        ~RemoveTemp() {
            if (!committed) {
                ::unlink(name.c_str());
            }
        }
    } remove_temp{temp, committed};

    // Pieces are gathered up to kChunk octets, so that many small ones cost
    // few system calls and a large content never sits in memory whole.
    constexpr std::size_t kChunk = 64 * 1024;
    const std::string writing = "write " + target + ": writing " + temp;
    std::string pending;
    pending.reserve(kChunk);
    produce([&](std::string_view piece) {
        if (pending.size() + piece.size() > kChunk) {
            write_all(fd.get(), pending, writing);
            pending.clear();
            if (piece.size() >= kChunk) {
                write_all(fd.get(), piece, writing);
                return;
            }
        }
        pending.append(piece);
    });
    write_all(fd.get(), pending, writing);
    if (int err = fsync_retry(fd.get()); err != 0) {
        throw_errno(err, "write " + target + ": fsync " + temp);
    }
    if (int err = fd.close(); err != 0) {
        throw_errno(err, "write " + target + ": close " + temp);
    }
    if (::rename(temp.c_str(), target.c_str()) != 0) {
        throw_errno(errno, "write " + target + ": rename " + temp + " to " + target);
    }
    committed = true;
    fsync_directory(dir);
}

namespace {

FileStamp stamp_of(const struct stat& st) {
    return FileStamp{static_cast<std::uint64_t>(st.st_dev), static_cast<std::uint64_t>(st.st_ino),
                     static_cast<std::uint64_t>(st.st_size),
                     std::int64_t{st.st_mtim.tv_sec} * 1'000'000'000 + st.st_mtim.tv_nsec};
}

}  // namespace

FileStamp write_new_file(const std::filesystem::path& path, std::string_view data, mode_t mode,
                         bool synced) {
    const std::string name = path.string();
    UniqueFd fd(::open(name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode));
    if (fd.get() < 0) {
        throw_errno(errno, "write " + name + ": create");
    }
    try {
        write_all(fd.get(), data, "write " + name);
        if (int err = synced ? fsync_retry(fd.get()) : 0; err != 0) {
            throw_errno(err, "write " + name + ": fsync");
        }
        struct stat st {};
        if (::fstat(fd.get(), &st) != 0) {
            throw_errno(errno, "write " + name + ": fstat");
        }
        if (int err = fd.close(); err != 0) {
            throw_errno(err, "write " + name + ": close");
        }
        return stamp_of(st);
    } catch (...) {
        ::unlink(name.c_str());
        throw;
    }
}

void append_lines_durable(const std::filesystem::path& path, std::string_view lines, mode_t mode) {
    const std::string what = "append to " + path.string();
    bool created = false;
    UniqueFd fd(::open(path.c_str(), O_RDWR | O_APPEND | O_CLOEXEC | O_NOFOLLOW));
    if (fd.get() < 0 && errno == ENOENT) {
        fd = UniqueFd(::open(path.c_str(),
                             O_RDWR | O_APPEND | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode));
        created = fd.get() >= 0;
    }
    if (fd.get() < 0) {
        throw_errno(errno, what + ": open");
    }
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0) {
        throw_errno(errno, what + ": fstat");
    }
    char last = '\n';
    if (st.st_size > 0 && ::pread(fd.get(), &last, 1, st.st_size - 1) != 1) {
        throw_errno(errno, what + ": read its last byte");
    }
    if (last != '\n') {
        write_all(fd.get(), "\n", what);
    }
    write_all(fd.get(), lines, what);
    if (::fdatasync(fd.get()) != 0) {
        throw_errno(errno, what + ": fdatasync");
    }
    if (int err = fd.close(); err != 0) {
        throw_errno(err, what + ": close");
    }
    if (created) {
        fsync_directory(directory_of(path));
    }
}

FileSystemSync::FileSystemSync(const std::filesystem::path& dir)
    : dir_(dir), fd_(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)) {
    if (fd_ < 0) {
        throw_errno(errno, "sync file system of " + dir.string() + ": open");
    }
}

FileSystemSync::~FileSystemSync() {
    ::close(fd_);
}

void FileSystemSync::sync() {
    for (int i = 0; i < 100; ++i) {
        if (::syncfs(fd_) == 0) {
            return;
        }
        if (errno != EINTR) {
            break;
        }
    }
    throw_errno(errno, "sync file system of " + dir_.string());
}

void fsync_directory(const std::filesystem::path& dir) {
    UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (fd.get() < 0) {
        throw_errno(errno, "fsync directory " + dir.string() + ": open");
    }
    if (int err = fsync_retry(fd.get()); err != 0) {
        throw_errno(err, "fsync directory " + dir.string());
    }
}

namespace {

// `secret`: the file holds a key: the string is sized once (no reallocation
// leaves copies in freed memory) and the read buffer is wiped.
std::string read_all(const UniqueFd& fd, const std::filesystem::path& path, bool secret = false,
                     std::size_t expected_size = 0) {
    std::string out;
    out.reserve(expected_size + 1);
    char buf[65536];
    struct Wipe {
        char* p;
        std::size_t n;
        bool on;
        ~Wipe() {
            if (on) {
                ::explicit_bzero(p, n);
            }
        }
    } wipe{buf, sizeof buf, secret};
    int interrupts = 0;
    while (true) {
        ssize_t n = ::read(fd.get(), buf, sizeof buf);
        if (n < 0) {
            if (errno == EINTR && ++interrupts < 1000) {
                continue;
            }
            throw_errno(errno, "read " + path.string());
        }
        if (n == 0) {
            break;
        }
        out.append(buf, static_cast<std::size_t>(n));
    }
    return out;
}

}  // namespace

std::optional<std::string> read_link(const std::filesystem::path& link) {
    std::array<char, 256> buf{};  // ".v-N" and the like; a longer one the slow way
    const ssize_t n = ::readlink(link.c_str(), buf.data(), buf.size());
    if (n < 0) {
        return std::nullopt;
    }
    if (static_cast<std::size_t>(n) < buf.size()) {
        return std::string(buf.data(), static_cast<std::size_t>(n));
    }
    std::error_code ec;
    std::string target = std::filesystem::read_symlink(link, ec).string();
    if (ec) {
        return std::nullopt;
    }
    return target;
}

std::optional<FileStamp> file_stamp(const std::filesystem::path& path) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) {
        return std::nullopt;
    }
    return stamp_of(st);
}

std::string read_file(const std::filesystem::path& path) {
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (fd.get() < 0) {
        throw_errno(errno, "read " + path.string());
    }
    return read_all(fd, path);
}

namespace {

// True when `fd` is the file `name` names now (not one swapped away from it).
bool still_named(int fd, const std::string& name) {
    struct stat held {};
    struct stat named {};
    return ::fstat(fd, &held) == 0 && ::stat(name.c_str(), &named) == 0 &&
           held.st_ino == named.st_ino && held.st_dev == named.st_dev;
}

}  // namespace

void write_file_swapped(const std::filesystem::path& path, std::string_view data, mode_t mode) {
    const std::string target = path.string();
    if (!path.has_filename()) {
        throw_errno(EISDIR, "write " + target + ": not a file name");
    }
    const std::filesystem::path dir = directory_of(path);
    const std::string spare = (dir / ("." + path.filename().string() + ".spare")).string();
    const std::string writing = "write " + target + ": spare " + spare;
    {
        UniqueFd fd(::open(spare.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, mode));
        if (fd.get() < 0) {
            throw_errno(errno, writing + ": open");
        }
        struct stat held {};
        if (::fstat(fd.get(), &held) != 0) {
            throw_errno(errno, writing + ": fstat");
        }
        if (!S_ISREG(held.st_mode)) {
            throw_errno(EINVAL, writing + ": not a regular file");
        }
        // Locked, and still the spare: not a file another writer swapped into
        // place between this open and the lock (readers lock the file in
        // place, read_file_swapped). Else this write takes a temporary file.
        const bool ours = ::flock(fd.get(), LOCK_EX | LOCK_NB) == 0 && still_named(fd.get(), spare);
        if (ours) {
            // Narrowed before the first byte, as a new file's mode is.
            if ((held.st_mode & 07777) != mode && ::fchmod(fd.get(), mode) != 0) {
                throw_errno(errno, writing + ": chmod");
            }
            if (held.st_size != 0 && ::ftruncate(fd.get(), 0) != 0) {
                throw_errno(errno, writing + ": truncate");
            }
            write_all(fd.get(), data, writing);
            if (int err = fsync_retry(fd.get()); err != 0) {
                throw_errno(err, writing + ": fsync");
            }
            if (::renameat2(AT_FDCWD, spare.c_str(), AT_FDCWD, target.c_str(), RENAME_EXCHANGE) ==
                0) {
                fsync_directory(dir);
                return;  // the descriptor's close releases the lock
            }
            // No file yet to swap with (the first write), or a file system
            // without the exchange: the spare is renamed into place.
            if (errno == ENOENT || errno == EINVAL || errno == ENOSYS) {
                if (::rename(spare.c_str(), target.c_str()) != 0) {
                    throw_errno(errno, "write " + target + ": rename " + spare + " to " + target);
                }
                fsync_directory(dir);
                return;
            }
            throw_errno(errno, "write " + target + ": swap with " + spare);
        }
    }
    write_file_atomic(path, data, mode);
}

std::string read_file_swapped(const std::filesystem::path& path) {
    // Bounded: each retry follows a write that swapped the file away between
    // this open and its lock.
    for (int attempt = 0;; ++attempt) {
        UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
        if (fd.get() < 0) {
            throw_errno(errno, "read " + path.string());
        }
        if (::flock(fd.get(), LOCK_SH) != 0) {
            throw_errno(errno, "read " + path.string() + ": lock");
        }
        if (still_named(fd.get(), path.string()) || attempt >= 100) {
            return read_all(fd, path);
        }
    }
}

std::string read_private_file(const std::filesystem::path& path, const std::string& what) {
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY));
    if (fd.get() < 0) {
        throw_errno(errno, "read " + what + " " + path.string());
    }
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0) {
        throw_errno(errno, "stat " + what + " " + path.string());
    }
    if (!S_ISREG(st.st_mode)) {
        throw std::runtime_error(what + " " + path.string() + " is not a regular file");
    }
    if ((st.st_mode & 077) != 0) {
        char octal[8];
        std::snprintf(octal, sizeof octal, "%04o", static_cast<unsigned>(st.st_mode & 07777));
        throw std::runtime_error(what + " " + path.string() + " has mode " + octal +
                                 ": group or others may read or write this private key; fix "
                                 "with: chmod 600 " +
                                 path.string());
    }
    return read_all(fd, path, /*secret=*/true, static_cast<std::size_t>(st.st_size));
}

std::optional<FreeSpace> free_space(const std::filesystem::path& dir) {
    struct statvfs st {};
    if (::statvfs(dir.c_str(), &st) != 0) {
        return std::nullopt;
    }
    FreeSpace free;
    free.bytes = static_cast<std::uint64_t>(st.f_bavail) * st.f_frsize;
    if (st.f_files != 0) {
        free.files = st.f_favail;
    }
    return free;
}

void ensure_directory(const std::filesystem::path& dir, mode_t mode) {
    if (dir.empty()) {
        throw_errno(EINVAL, "create directory: empty path");
    }
    // There already (every call after the first, in a pass): one stat, not a
    // failing mkdir per component.
    struct stat existing {};
    if (::stat(dir.c_str(), &existing) == 0) {
        if (S_ISDIR(existing.st_mode)) {
            return;
        }
    } else if (errno == ENOENT && ::mkdir(dir.c_str(), mode) == 0) {
        return;  // its parent there (a zone's new directory): one mkdir, not one a component
    }
    std::filesystem::path prefix;
    for (const auto& part : dir) {
        prefix /= part;
        if (part == "/" || part.empty()) {
            continue;
        }
        if (::mkdir(prefix.c_str(), mode) == 0) {
            continue;
        }
        int err = errno;
        struct stat st {};
        if (err == EEXIST && ::stat(prefix.c_str(), &st) == 0) {
            if (S_ISDIR(st.st_mode)) {
                continue;
            }
            throw_errno(ENOTDIR, "create directory " + dir.string() + ": " + prefix.string() +
                                     " exists and is not a directory");
        }
        throw_errno(err, "create directory " + dir.string() + ": mkdir " + prefix.string());
    }
}

}  // namespace acmezone
