// Files that must never be seen half-written, and files that hold secrets.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace acmezone {

// Writes `data` to `path` so that a reader sees the old content or the new,
// never a mix, and the new content survives a crash once this returns: a
// temporary file in the same directory created with `mode` from its first
// byte (O_CREAT|O_EXCL; the umask can only narrow it), written, fsync'd,
// renamed over `path`, then the directory fsync'd. Throws std::system_error naming the path; on
// failure `path` is untouched and the temporary file removed (except when only the final directory
// fsync fails: the new content is then in place).
void write_file_atomic(const std::filesystem::path& path, std::string_view data,
                       mode_t mode = 0644);
// The same, for content produced in pieces: produce(write) calls write(piece)
// for each piece in order; they go to the file in chunks of 64 KiB, so the
// whole content is never held in memory. An exception from produce() fails
// the write like any other error.
using ChunkSink = std::function<void(std::string_view)>;
void write_file_atomic(const std::filesystem::path& path, mode_t mode,
                       const std::function<void(const ChunkSink&)>& produce);

// The same guarantees as write_file_atomic, for a file rewritten often (a
// zone's state: twice an issuance): the content goes to a spare file kept
// beside `path` (".<name>.spare", made once with `mode`, locked while it is
// written), is fsync'd, and the two names are then exchanged in one step
// (renameat2 RENAME_EXCHANGE), so that the spare holds the old content. From
// the second write on no file is made or deleted: a file system that scans
// past recently freed inodes to make a new one (ext4 without a journal) makes
// each creation cost more for every file freed in the minutes before it.
// Where the exchange is not supported, the spare is renamed into place; when
// the spare is busy (another writer), the write takes a temporary file as
// write_file_atomic does. Readers use read_file_swapped: a plain read of a
// file swapped away and rewritten meanwhile could see the newer bytes.
void write_file_swapped(const std::filesystem::path& path, std::string_view data,
                        mode_t mode = 0644);
// Whole file as a string, for a file written by write_file_swapped: read
// under a shared lock, from the file `path` names once it is locked. Throws
// std::system_error naming the path.
std::string read_file_swapped(const std::filesystem::path& path);

// What changes when a file is replaced or rewritten: its device, inode, size
// and modification time (to the nanosecond).
struct FileStamp {
    std::uint64_t device = 0;
    std::uint64_t inode = 0;
    std::uint64_t size = 0;
    std::int64_t mtime_ns = 0;
    bool operator==(const FileStamp&) const = default;
};

// Creates `path`, which must not exist, with `mode` from its first byte
// (O_CREAT|O_EXCL|O_NOFOLLOW), writes `data` and fsyncs it: for a file in a
// directory that no reader can reach yet (a new version directory before
// the switch to it), where a temporary name and a rename buy nothing. The
// caller fsyncs the directory once after its last file. Returns the file's
// stamp (above) as written, from the open file (no second look at the path).
// Throws std::system_error naming the path; a file it could not complete is
// removed.
// `synced` false: not fsync'd; the caller makes it durable with the rest
// (FileSystemSync below) before anything may point to it.
FileStamp write_new_file(const std::filesystem::path& path, std::string_view data,
                         mode_t mode = 0644, bool synced = true);

// One syncfs(2) in place of an fsync per new file and directory: a new
// directory (nothing reachable points to it yet) is held open from before
// its first file is written, and sync() then writes back and waits for every
// dirty file and directory of its file system, and commits the file
// system's journal, so every file written and entry made in it since is
// durable, as fsync of each would make it (and more: other dirty data of that
// file system is written back too). That holds where the file system's
// sync_fs commits its journal and flushes the device's cache, as ext4, XFS
// and btrfs do (a file system without a journal, such as vfat, may skip
// the cache flush an fsync would make). It reports a writeback error of that file
// system since the directory was opened (Linux 5.8 and later; an earlier
// kernel reports only a failure of the call itself). Throws std::system_error
// naming the directory.
class FileSystemSync {
  public:
    explicit FileSystemSync(const std::filesystem::path& dir);
    ~FileSystemSync();
    FileSystemSync(const FileSystemSync&) = delete;
    FileSystemSync& operator=(const FileSystemSync&) = delete;
    void sync();

  private:
    std::filesystem::path dir_;
    int fd_ = -1;
};

// Appends `lines` (each ending in '\n') to the journal `path`, creating it
// with `mode` (O_CREAT|O_EXCL, then the directory fsync'd), and makes them
// durable (fdatasync) before it returns. When the file does not end in a
// newline (a crash cut its last line short), the append starts on a new
// line, so the cut line stays one unreadable line and never spoils the
// first line appended. Throws std::system_error naming the path; a failed
// append may leave part of `lines` (a reader skips a line it cannot read).
void append_lines_durable(const std::filesystem::path& path, std::string_view lines,
                          mode_t mode = 0644);

// fsync() of a directory, so that a rename or create in it is durable.
void fsync_directory(const std::filesystem::path& dir);

// Whole file as a string; throws std::system_error naming the path.
std::string read_file(const std::filesystem::path& path);

// The stamp of `path` (symlinks followed); nullopt when it cannot be stat'ed.
std::optional<FileStamp> file_stamp(const std::filesystem::path& path);

// The target of the symlink `link`; nullopt when it is not one or cannot be
// read. One readlink(2) where std::filesystem::read_symlink lstat()s first:
// serve and status read a zone's `current` link for every request and zone.
std::optional<std::string> read_link(const std::filesystem::path& link);

// A private key file read back: opened without following a symlink, it must
// be a regular file that neither group nor others may read or write (keys are
// created 0600 from their first byte); otherwise std::runtime_error naming the
// path, its mode and the fix ("chmod 600 PATH"). `what` names it ("next key").
std::string read_private_file(const std::filesystem::path& path, const std::string& what);

// What an unprivileged writer may still use on the file system holding `dir`
// (statvfs: f_bavail blocks, f_favail inodes); `files` is nullopt on a file
// system without an inode limit (btrfs reports none). nullopt when `dir`
// cannot be looked at (the caller's own use reports why).
struct FreeSpace {
    std::uint64_t bytes = 0;
    std::optional<std::uint64_t> files;
};
std::optional<FreeSpace> free_space(const std::filesystem::path& dir);

// Creates `dir` (and parents) with `mode` if missing; throws std::system_error.
void ensure_directory(const std::filesystem::path& dir, mode_t mode = 0755);

}  // namespace acmezone
