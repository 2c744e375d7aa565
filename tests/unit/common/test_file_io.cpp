// write_file_atomic and friends, on a real file system in a private temp dir.
#include "common/file_io.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <optional>
#include <set>
#include <string>
#include <system_error>

#include "tests/unit/temp_dir.h"

using namespace acmezone;
using acmezone::test_support::TempDir;
using acmezone::test_support::UmaskScope;
namespace fs = std::filesystem;

namespace {

class FileIo : public ::testing::Test {
  protected:
    std::set<std::string> entries(const fs::path& d) const {
        std::set<std::string> out;
        for (const auto& e : fs::directory_iterator(d)) {
            out.insert(e.path().filename().string());
        }
        return out;
    }
    static mode_t mode_of(const fs::path& p) {
        struct stat st {};
        EXPECT_EQ(::stat(p.c_str(), &st), 0) << p;
        return st.st_mode & 07777;
    }
    TempDir tmp_{"fileio"};
    fs::path dir_ = tmp_.path();
};

}  // namespace

TEST_F(FileIo, CreatesAndReplacesContent) {
    fs::path p = dir_ / "state.json";
    write_file_atomic(p, "old content\n");
    EXPECT_EQ(read_file(p), "old content\n");
    write_file_atomic(p, "new");
    EXPECT_EQ(read_file(p), "new");
    write_file_atomic(p, "");
    EXPECT_EQ(read_file(p), "");
    EXPECT_EQ(entries(dir_), (std::set<std::string>{"state.json"}));
}

TEST_F(FileIo, LargeContent) {
    fs::path p = dir_ / "big";
    std::string data(3 * 1024 * 1024 + 7, '\0');
    for (std::size_t i = 0; i < data.size(); ++i) {
        data[i] = static_cast<char>(i * 7919 % 251);
    }
    write_file_atomic(p, data);
    EXPECT_EQ(read_file(p), data);
}

TEST_F(FileIo, ModeHonouredWithUmaskZero) {
    UmaskScope u(0);
    fs::path key = dir_ / "account.key";
    write_file_atomic(key, "secret", 0600);
    EXPECT_EQ(mode_of(key), 0600u);
    fs::path pub = dir_ / "chain.pem";
    write_file_atomic(pub, "cert", 0644);
    EXPECT_EQ(mode_of(pub), 0644u);
    // Replacing a 0644 file with a 0600 one gives 0600: the mode is the new file's.
    write_file_atomic(pub, "now secret", 0600);
    EXPECT_EQ(mode_of(pub), 0600u);
}

TEST_F(FileIo, UmaskCanOnlyNarrowTheMode) {
    UmaskScope u(077);
    fs::path p = dir_ / "f";
    write_file_atomic(p, "x", 0644);
    EXPECT_EQ(mode_of(p), 0600u);
}

TEST_F(FileIo, MissingDirectoryThrowsNamingPath) {
    fs::path p = dir_ / "no-such-dir" / "cert.pem";
    try {
        write_file_atomic(p, "data");
        FAIL() << "no exception";
    } catch (const std::system_error& e) {
        EXPECT_EQ(e.code().value(), ENOENT);
        EXPECT_NE(std::string(e.what()).find(p.string()), std::string::npos) << e.what();
    }
    EXPECT_TRUE(entries(dir_).empty());
}

TEST_F(FileIo, ParentIsARegularFileThrows) {
    // Root ignores permission bits, so "cannot write here" is made with a file as parent.
    fs::path parent = dir_ / "plain";
    write_file_atomic(parent, "I am a file");
    fs::path p = parent / "cert.pem";
    try {
        write_file_atomic(p, "data");
        FAIL() << "no exception";
    } catch (const std::system_error& e) {
        EXPECT_EQ(e.code().value(), ENOTDIR);
        EXPECT_NE(std::string(e.what()).find(p.string()), std::string::npos) << e.what();
    }
    EXPECT_EQ(read_file(parent), "I am a file");
    EXPECT_EQ(entries(dir_), (std::set<std::string>{"plain"}));
}

TEST_F(FileIo, ReadOnlyDirectoryLeavesOldFileIntact) {
    // Root ignores directory permissions, so as root the write is made by a
    // child that has become user nobody (65534), owner of the directory.
    fs::path p = dir_ / "cert.pem";
    write_file_atomic(p, "old");
    const bool as_root = ::geteuid() == 0;
    if (as_root) {
        ASSERT_EQ(::chown(dir_.c_str(), 65534, 65534), 0);
        ASSERT_EQ(::chown(p.c_str(), 65534, 65534), 0);
    }
    fs::permissions(dir_, fs::perms::owner_read | fs::perms::owner_exec);
    const pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
        if (as_root && (::setgid(65534) != 0 || ::setuid(65534) != 0)) {
            ::_exit(3);
        }
        try {
            write_file_atomic(p, "new");
        } catch (const std::system_error& e) {
            const bool names_path = std::string(e.what()).find(dir_.string()) != std::string::npos;
            ::_exit(names_path ? 0 : 2);
        }
        ::_exit(1);  // the write went through
    }
    int status = 0;
    ASSERT_EQ(::waitpid(child, &status, 0), child);
    fs::permissions(dir_, fs::perms::owner_all);
    ASSERT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), 0) << "1: write succeeded, 2: error without the path, 3: setuid";
    EXPECT_EQ(read_file(p), "old");
    EXPECT_EQ(entries(dir_), (std::set<std::string>{"cert.pem"}));
}

TEST_F(FileIo, FailedWriteLeavesOldFileIntact) {
    // RLIMIT_FSIZE makes write() fail part-way (EFBIG, SIGXFSZ ignored) even for
    // root: the short write, the error path and the clean-up all run.
    fs::path p = dir_ / "cert.pem";
    write_file_atomic(p, "old");
    struct rlimit old_limit {};
    ASSERT_EQ(::getrlimit(RLIMIT_FSIZE, &old_limit), 0);
    auto old_handler = std::signal(SIGXFSZ, SIG_IGN);
    struct rlimit small = old_limit;
    small.rlim_cur = 1000;
    ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &small), 0);
    bool threw = false;
    try {
        write_file_atomic(p, std::string(100000, 'n'));
    } catch (const std::system_error& e) {
        threw = true;
        EXPECT_EQ(e.code().value(), EFBIG);
        EXPECT_NE(std::string(e.what()).find(p.string()), std::string::npos) << e.what();
    }
    ::setrlimit(RLIMIT_FSIZE, &old_limit);
    std::signal(SIGXFSZ, old_handler);
    EXPECT_TRUE(threw);
    EXPECT_EQ(read_file(p), "old");
    EXPECT_EQ(entries(dir_), (std::set<std::string>{"cert.pem"}));
}

TEST_F(FileIo, TargetIsADirectoryThrowsAndRemovesTemp) {
    fs::path p = dir_ / "sub";
    fs::create_directory(p);
    fs::path inner = p / "keep";
    write_file_atomic(inner, "x");
    EXPECT_THROW(write_file_atomic(p, "data"), std::system_error);
    EXPECT_EQ(entries(dir_), (std::set<std::string>{"sub"}));
    EXPECT_EQ(read_file(inner), "x");
}

TEST_F(FileIo, ReadFileMissingNamesPath) {
    fs::path p = dir_ / "missing.conf";
    try {
        read_file(p);
        FAIL() << "no exception";
    } catch (const std::system_error& e) {
        EXPECT_EQ(e.code().value(), ENOENT);
        EXPECT_NE(std::string(e.what()).find(p.string()), std::string::npos);
    }
}

TEST_F(FileIo, EnsureDirectory) {
    UmaskScope u(0);
    fs::path d = dir_ / "a" / "b" / "c";
    ensure_directory(d, 0700);
    EXPECT_TRUE(fs::is_directory(d));
    EXPECT_EQ(mode_of(d), 0700u);
    EXPECT_EQ(mode_of(dir_ / "a"), 0700u);
    ensure_directory(d, 0700);                 // exists already: fine
    ensure_directory(dir_ / "a" / "d", 0750);  // its parent there: made with its mode
    EXPECT_EQ(mode_of(dir_ / "a" / "d"), 0750u);
    write_file_atomic(dir_ / "file", "x");
    try {
        ensure_directory(dir_ / "file");
        FAIL() << "no exception";
    } catch (const std::system_error& e) {
        EXPECT_EQ(e.code().value(), ENOTDIR);
    }
    try {
        ensure_directory(dir_ / "file" / "sub");
        FAIL() << "no exception";
    } catch (const std::system_error& e) {
        EXPECT_EQ(e.code().value(), ENOTDIR);
        EXPECT_NE(std::string(e.what()).find((dir_ / "file").string()), std::string::npos);
    }
}

TEST_F(FileIo, WriteNewFileCreatesOnceWithItsModeFromTheStart) {
    UmaskScope u(0);
    const fs::path key = dir_ / "privkey.pem";
    write_new_file(key, "secret", 0600);
    EXPECT_EQ(read_file(key), "secret");
    EXPECT_EQ(mode_of(key), 0600u);
    EXPECT_EQ(entries(dir_), (std::set<std::string>{"privkey.pem"}));  // no temporary name
    // Never over an existing file (nor through a symlink).
    EXPECT_THROW(write_new_file(key, "other", 0600), std::system_error);
    EXPECT_EQ(read_file(key), "secret");
    fs::create_symlink(key, dir_ / "link.pem");
    EXPECT_THROW(write_new_file(dir_ / "link.pem", "other"), std::system_error);
    EXPECT_EQ(read_file(key), "secret");
}

// The stamp returned is the file's as a later look finds it (what a summary
// of the stored certificates records), synced or left to FileSystemSync.
TEST_F(FileIo, WriteNewFileReturnsTheStampOfWhatItWrote) {
    for (const bool synced : {true, false}) {
        const fs::path file = dir_ / (synced ? "synced.pem" : "later.pem");
        const FileStamp stamp = write_new_file(file, "0123456789", 0644, synced);
        EXPECT_EQ(stamp.size, 10u);
        EXPECT_EQ(std::optional<FileStamp>(stamp), file_stamp(file));
    }
    FileSystemSync durable(dir_);
    EXPECT_NO_THROW(durable.sync());
}

TEST_F(FileIo, FileSystemSyncOfAMissingDirectoryThrowsNamingIt) {
    try {
        FileSystemSync durable(dir_ / "missing");
        FAIL() << "no exception";
    } catch (const std::system_error& e) {
        EXPECT_NE(std::string(e.what()).find("missing"), std::string::npos) << e.what();
    }
}

TEST_F(FileIo, WriteNewFileThatCannotBeCompletedIsRemoved) {
    struct rlimit old {};
    ASSERT_EQ(::getrlimit(RLIMIT_FSIZE, &old), 0);
    auto old_handler = std::signal(SIGXFSZ, SIG_IGN);
    struct rlimit small = old;
    small.rlim_cur = 10;
    ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &small), 0);
    bool threw = false;
    try {
        write_new_file(dir_ / "cert.pem", std::string(100, 'x'));
    } catch (const std::system_error& e) {
        threw = true;
        EXPECT_NE(std::string(e.what()).find("cert.pem"), std::string::npos) << e.what();
    }
    ::setrlimit(RLIMIT_FSIZE, &old);
    std::signal(SIGXFSZ, old_handler);
    EXPECT_TRUE(threw);
    EXPECT_TRUE(entries(dir_).empty());
}

TEST_F(FileIo, FsyncDirectory) {
    EXPECT_NO_THROW(fsync_directory(dir_));
    EXPECT_THROW(fsync_directory(dir_ / "missing"), std::system_error);
}

// A stamp is the same while the file is, and differs once it is replaced,
// even by the same bytes (a new inode) or rewritten in place (size or mtime).
TEST_F(FileIo, FileStampFollowsReplacementAndRewrite) {
    const fs::path f = dir_ / "stamped";
    EXPECT_FALSE(file_stamp(f));
    write_file_atomic(f, "one", 0644);
    const auto first = file_stamp(f);
    ASSERT_TRUE(first);
    EXPECT_EQ(first->size, 3u);
    EXPECT_EQ(file_stamp(f), first);
    write_file_atomic(f, "one", 0644);  // same bytes, a new file
    const auto replaced = file_stamp(f);
    ASSERT_TRUE(replaced);
    EXPECT_NE(replaced, first);
    {
        std::FILE* out = std::fopen(f.c_str(), "a");
        ASSERT_NE(out, nullptr);
        std::fputs("two", out);
        std::fclose(out);
    }
    const auto rewritten = file_stamp(f);
    ASSERT_TRUE(rewritten);
    EXPECT_EQ(rewritten->inode, replaced->inode);
    EXPECT_NE(rewritten, replaced);
}

TEST_F(FileIo, ReadLinkGivesTheTargetShortOrLongAndNothingForTheRest) {
    fs::create_symlink(".v-12", dir_ / "current");
    EXPECT_EQ(read_link(dir_ / "current"), ".v-12");
    // Longer than the first try's buffer: read the slow way, whole.
    const std::string long_target(300, 'x');
    fs::create_symlink(long_target, dir_ / "long");
    EXPECT_EQ(read_link(dir_ / "long"), long_target);
    write_file_atomic(dir_ / "plain", "not a link");
    EXPECT_EQ(read_link(dir_ / "plain"), std::nullopt);
    EXPECT_EQ(read_link(dir_ / "missing"), std::nullopt);
}

namespace {

std::uint64_t inode_of(const fs::path& p) {
    struct stat st {};
    EXPECT_EQ(::lstat(p.c_str(), &st), 0) << p;
    return st.st_ino;
}

// An open descriptor holding flock(`how`) on `p` for its lifetime.
class HeldLock {
  public:
    HeldLock(const fs::path& p, int how) : fd_(::open(p.c_str(), O_RDONLY | O_CLOEXEC)) {
        EXPECT_GE(fd_, 0) << p;
        EXPECT_EQ(::flock(fd_, how | LOCK_NB), 0) << p;
    }
    ~HeldLock() { ::close(fd_); }
    HeldLock(const HeldLock&) = delete;
    HeldLock& operator=(const HeldLock&) = delete;

  private:
    int fd_;
};

}  // namespace

TEST_F(FileIo, SwappedWritesMakeNoFileFromTheSecondOn) {
    const fs::path p = dir_ / "z.json";
    const fs::path spare = dir_ / ".z.json.spare";
    write_file_swapped(p, "one\n", 0600);
    EXPECT_EQ(read_file_swapped(p), "one\n");
    EXPECT_EQ(entries(dir_), (std::set<std::string>{"z.json"}));
    write_file_swapped(p, "two, longer\n", 0600);
    EXPECT_EQ(read_file_swapped(p), "two, longer\n");
    EXPECT_EQ(read_file(spare), "one\n");  // the old content, swapped out
    const std::set<std::uint64_t> files{inode_of(p), inode_of(spare)};
    for (const std::string text : {"3", "four\n", ""}) {
        write_file_swapped(p, text, 0600);
        EXPECT_EQ(read_file_swapped(p), text);
        EXPECT_EQ((std::set<std::uint64_t>{inode_of(p), inode_of(spare)}), files)
            << "a file was made or freed by a swapped write";
    }
    EXPECT_EQ(entries(dir_), (std::set<std::string>{"z.json", ".z.json.spare"}));
    EXPECT_EQ(mode_of(p), 0600u);
    EXPECT_EQ(mode_of(spare), 0600u);
}

TEST_F(FileIo, SwappedWriteNarrowsAWiderSpareBeforeWritingIt) {
    UmaskScope umask(0);
    const fs::path p = dir_ / "z.json";
    write_file_swapped(p, "one", 0600);
    write_file_atomic(dir_ / ".z.json.spare", "left with a wide mode", 0644);
    write_file_swapped(p, "secret", 0600);
    EXPECT_EQ(read_file_swapped(p), "secret");
    EXPECT_EQ(mode_of(p), 0600u);
    EXPECT_EQ(mode_of(dir_ / ".z.json.spare"), 0600u);
}

TEST_F(FileIo, SwappedWriteLeavesABusySpareAloneAndStillWrites) {
    const fs::path p = dir_ / "z.json";
    const fs::path spare = dir_ / ".z.json.spare";
    write_file_swapped(p, "one", 0600);
    write_file_swapped(p, "two", 0600);
    // A reader still reading the file the last write swapped away (a shared
    // lock), or another writer (an exclusive one): the spare stays as it is.
    for (int how : {LOCK_SH, LOCK_EX}) {
        HeldLock held(spare, how);
        const std::uint64_t spare_inode = inode_of(spare);
        write_file_swapped(p, "written past a busy spare " + std::to_string(how), 0600);
        // (not read_file_swapped: were the held file swapped into place, it
        // would wait on the exclusive lock held here)
        EXPECT_EQ(read_file(p), "written past a busy spare " + std::to_string(how));
        EXPECT_EQ(read_file(spare), "one");
        EXPECT_EQ(inode_of(spare), spare_inode);
    }
    EXPECT_EQ(entries(dir_), (std::set<std::string>{"z.json", ".z.json.spare"}));
}

TEST_F(FileIo, SwappedWriteRefusesASpareThatIsASymlinkAndChangesNothing) {
    const fs::path p = dir_ / "z.json";
    write_file_swapped(p, "kept", 0600);
    const fs::path elsewhere = dir_ / "elsewhere";
    write_file_atomic(elsewhere, "not to be written", 0644);
    fs::create_symlink(elsewhere, dir_ / ".z.json.spare");
    try {
        write_file_swapped(p, "new", 0600);
        FAIL() << "a symlinked spare was written through";
    } catch (const std::system_error& e) {
        EXPECT_NE(std::string(e.what()).find(".z.json.spare"), std::string::npos) << e.what();
    }
    EXPECT_EQ(read_file_swapped(p), "kept");
    EXPECT_EQ(read_file(elsewhere), "not to be written");
}

TEST_F(FileIo, ReadFileSwappedOfAMissingFileNamesIt) {
    try {
        read_file_swapped(dir_ / "missing.json");
        FAIL() << "no error";
    } catch (const std::system_error& e) {
        EXPECT_EQ(e.code(), std::errc::no_such_file_or_directory);
        EXPECT_NE(std::string(e.what()).find("missing.json"), std::string::npos) << e.what();
    }
}

TEST_F(FileIo, FreeSpaceIsWhatStatvfsLeavesAWriterAndNothingForAMissingDirectory) {
    const std::optional<FreeSpace> free = free_space(dir_);
    ASSERT_TRUE(free);
    struct statvfs st {};
    ASSERT_EQ(::statvfs(dir_.c_str(), &st), 0);
    // The same file system a moment later: within a few blocks of it.
    const std::uint64_t now = static_cast<std::uint64_t>(st.f_bavail) * st.f_frsize;
    EXPECT_LE(free->bytes > now ? free->bytes - now : now - free->bytes, 64u * st.f_frsize);
    EXPECT_EQ(free->files.has_value(), st.f_files != 0);
    EXPECT_FALSE(free_space(dir_ / "missing"));
}
