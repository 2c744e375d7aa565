// See fetch_store.h.
#include "issuer/fetch/fetch_store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <set>
#include <stdexcept>
#include <string>
#include <system_error>

#include "common/file_io.h"
#include "common/log.h"
#include "common/name_path.h"
#include "common/unique_fd.h"
#include "issuer/certs/cert_store.h"

namespace acmezone::issuer {
namespace fs = std::filesystem;
namespace {

constexpr mode_t kCertMode = 0644;
constexpr mode_t kDirMode = 0755;
constexpr const char* kStableNames[] = {"privkey.pem", "cert.pem", "chain.pem", "fullchain.pem"};

[[noreturn]] void fail_errno(int error, const std::string& what, const fs::path& path) {
    throw std::system_error(error, std::generic_category(), what + " " + path.string());
}

// Creates `path` (which must not exist) with `mode` from its first byte,
// group `gid` if given, writes `data`, fsyncs and closes it.
void write_new_file(const fs::path& path, const std::string& data, mode_t mode,
                    std::optional<gid_t> gid) {
    UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode));
    if (fd.get() < 0) {
        fail_errno(errno, "creating", path);
    }
    if (gid && ::fchown(fd.get(), static_cast<uid_t>(-1), *gid) != 0) {
        fail_errno(errno, "giving the key to its group", path);
    }
    if (::fchmod(fd.get(), mode) != 0) {  // the umask may have narrowed it
        fail_errno(errno, "setting the mode of", path);
    }
    std::size_t done = 0;
    while (done < data.size()) {
        const ssize_t n = ::write(fd.get(), data.data() + done, data.size() - done);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            fail_errno(errno, "writing", path);
        }
        done += static_cast<std::size_t>(n);
    }
    if (::fsync(fd.get()) != 0) {
        fail_errno(errno, "fsync of", path);
    }
    if (const int error = fd.close(); error != 0) {
        fail_errno(error, "closing", path);
    }
}

void make_dir(const fs::path& dir) {
    if (::mkdir(dir.c_str(), kDirMode) != 0) {
        fail_errno(errno, "creating", dir);
    }
}

// The four files of one key type into `dir`.
void write_key_set(const fs::path& dir, const KeySetFiles& k, mode_t key_mode,
                   std::optional<gid_t> gid) {
    write_new_file(dir / "privkey.pem", k.privkey, key_mode, gid);
    write_new_file(dir / "cert.pem", k.cert, kCertMode, std::nullopt);
    write_new_file(dir / "chain.pem", k.chain, kCertMode, std::nullopt);
    write_new_file(dir / "fullchain.pem", k.fullchain, kCertMode, std::nullopt);
    fsync_directory(dir);
}

void set_mtime(const fs::path& dir, std::chrono::system_clock::time_point t) {
    const auto ns =
        std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
    const timespec times[2] = {{ns / 1000000000, ns % 1000000000},
                               {ns / 1000000000, ns % 1000000000}};
    if (::utimensat(AT_FDCWD, dir.c_str(), times, AT_SYMLINK_NOFOLLOW) != 0) {
        fail_errno(errno, "setting the modification time of", dir);
    }
}

// `link` -> `target`, atomically (a new symlink renamed over it).
void replace_symlink(const fs::path& link, const std::string& target) {
    const fs::path tmp = link.parent_path() / (".tmp-link-" + link.filename().string() + "-" +
                                               std::to_string(::getpid()));
    ::unlink(tmp.c_str());
    if (::symlink(target.c_str(), tmp.c_str()) != 0) {
        fail_errno(errno, "creating symlink", tmp);
    }
    if (::rename(tmp.c_str(), link.c_str()) != 0) {
        const int error = errno;
        ::unlink(tmp.c_str());
        fail_errno(error, "renaming symlink onto", link);
    }
}

std::string version_name(unsigned long n) {
    return ".v-" + std::to_string(n);
}

// Leftovers of an install that did not finish, and versions other than the
// ones to keep.
void remove_stale(const fs::path& zdir, const std::set<std::string>& keep) {
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(zdir, ec)) {
        const std::string name = e.path().filename().string();
        const bool ours = name.rfind(".tmp-", 0) == 0 || name.rfind(".v-", 0) == 0;
        if (!ours || keep.count(name) != 0) {
            continue;
        }
        std::error_code rm;
        fs::remove_all(e.path(), rm);
        if (rm) {
            log_warning(e.path().string(), ": could not remove: ", rm.message());
        }
    }
}

}  // namespace

FetchStore::FetchStore(fs::path target, std::optional<gid_t> key_gid)
    : target_(std::move(target)), key_gid_(key_gid) {}

fs::path FetchStore::zone_dir(const DnsName& zone) const {
    return target_ / path_component(zone);
}

std::optional<unsigned long> FetchStore::installed_version(const DnsName& zone) const {
    return CertStore(target_).current_version(zone);
}

void FetchStore::install(const ZoneSet& set) {
    if (set.keys.empty()) {
        throw std::logic_error("FetchStore::install: a set without keys");
    }
    const fs::path zdir = zone_dir(set.zone);
    ensure_directory(target_, kDirMode);
    ensure_directory(zdir, kDirMode);
    const auto installed = installed_version(set.zone);
    std::set<std::string> keep;
    if (installed) {
        if (*installed == set.version) {
            throw std::logic_error("FetchStore::install: version already installed");
        }
        keep.insert(version_name(*installed));
    }
    remove_stale(zdir, keep);  // an unfinished install, a version not in use

    const mode_t key_mode = key_gid_ ? 0640 : 0600;
    const std::string vname = version_name(set.version);
    const fs::path tmp =
        zdir / (".tmp-v-" + std::to_string(set.version) + "-" + std::to_string(::getpid()));
    try {
        make_dir(tmp);
        write_key_set(tmp, set.keys.front(), key_mode, key_gid_);
        for (const KeySetFiles& k : set.keys) {
            const fs::path sub = tmp / std::string(to_string(k.type));
            make_dir(sub);
            write_key_set(sub, k, key_mode, key_gid_);
        }
        fsync_directory(tmp);
        set_mtime(tmp, set.written);
        if (::rename(tmp.c_str(), (zdir / vname).c_str()) != 0) {
            fail_errno(errno, "renaming " + tmp.string() + " to", zdir / vname);
        }
        fsync_directory(zdir);
    } catch (...) {
        std::error_code ec;
        fs::remove_all(tmp, ec);
        fs::remove_all(zdir / vname, ec);
        throw;
    }
    // The switch: from here on readers see the new version.
    replace_symlink(zdir / "current", vname);
    fsync_directory(zdir);
    for (const char* name : kStableNames) {
        replace_symlink(zdir / name, std::string("current/") + name);
    }
    for (const KeySetFiles& k : set.keys) {
        const std::string type(to_string(k.type));
        replace_symlink(zdir / type, "current/" + type);
    }
    fsync_directory(zdir);
    keep.insert(vname);
    remove_stale(zdir, keep);  // the version before stays, older ones go
}

}  // namespace acmezone::issuer
