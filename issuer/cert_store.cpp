// See cert_store.h.
#include "issuer/cert_store.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <random>
#include <set>
#include <system_error>

#include "common/file_io.h"
#include "common/log.h"

namespace acmezone::issuer {
namespace fs = std::filesystem;
namespace {

constexpr std::array<const char*, 4> kFiles{"privkey.pem", "cert.pem", "chain.pem",
                                            "fullchain.pem"};
constexpr int kMaxVersionTries = 100;

[[noreturn]] void fail_errno(const std::string& what, const fs::path& path) {
    throw std::system_error(errno, std::generic_category(), what + " " + path.string());
}

class FileLock {
  public:
    explicit FileLock(const fs::path& path) {
        fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
        if (fd_ < 0) {
            fail_errno("opening lock file", path);
        }
        if (::flock(fd_, LOCK_EX) != 0) {
            int saved = errno;
            ::close(fd_);
            errno = saved;
            fail_errno("locking", path);
        }
    }
    ~FileLock() { ::close(fd_); }  // closing releases the flock
    FileLock(const FileLock&) = delete;
    FileLock& operator=(const FileLock&) = delete;

  private:
    int fd_ = -1;
};

// Versions present, by number.
std::set<unsigned long> versions(const fs::path& zone_dir) {
    std::set<unsigned long> out;
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(zone_dir, ec)) {
        const std::string name = entry.path().filename().string();
        if (name.rfind(".v-", 0) == 0 && name.size() > 3 &&
            name.find_first_not_of("0123456789", 3) == std::string::npos && name.size() < 15) {
            out.insert(std::stoul(name.substr(3)));
        }
    }
    return out;
}

// Atomically makes `link` a symlink to `target` (symlink to a temporary name, rename over).
void replace_symlink(const fs::path& link, const std::string& target) {
    std::random_device rd;
    const fs::path tmp =
        link.parent_path() / (".tmp-" + link.filename().string() + "-" + std::to_string(rd()));
    if (::symlink(target.c_str(), tmp.c_str()) != 0) {
        fail_errno("creating symlink", tmp);
    }
    if (::rename(tmp.c_str(), link.c_str()) != 0) {
        int saved = errno;
        ::unlink(tmp.c_str());
        errno = saved;
        fail_errno("renaming symlink onto", link);
    }
}

// The leaf and the rest of a PEM chain.
std::pair<std::string, std::string> split_leaf(const std::string& fullchain) {
    auto blocks = split_pem_chain(fullchain);
    std::string rest;
    for (std::size_t i = 1; i < blocks.size(); ++i) {
        rest += blocks[i];
    }
    return {blocks.front(), rest};
}

}  // namespace

CertStore::CertStore(fs::path dir) : dir_(std::move(dir)) {}

fs::path CertStore::zone_dir(const DnsName& zone) const {
    return dir_ / zone.text();
}

void CertStore::store(const DnsName& zone, const std::string& privkey_pem,
                      const std::string& fullchain_pem) {
    if (zone.is_root()) {
        throw std::invalid_argument("cannot store a certificate for the root zone");
    }
    const auto [leaf, chain] = split_leaf(fullchain_pem);
    const fs::path zdir = zone_dir(zone);
    ensure_directory(zdir, 0755);
    FileLock lock(zdir / ".lock");

    // A new, empty version directory.
    auto present = versions(zdir);
    unsigned long n = present.empty() ? 1 : *present.rbegin() + 1;
    fs::path vdir;
    for (int i = 0;; ++i, ++n) {
        vdir = zdir / (".v-" + std::to_string(n));
        if (::mkdir(vdir.c_str(), 0755) == 0) {
            break;
        }
        if (errno != EEXIST || i >= kMaxVersionTries) {
            fail_errno("creating", vdir);
        }
    }
    const std::string vname = vdir.filename().string();

    try {
        write_file_atomic(vdir / "privkey.pem", privkey_pem, 0600);
        write_file_atomic(vdir / "cert.pem", leaf, 0644);
        write_file_atomic(vdir / "chain.pem", chain, 0644);
        write_file_atomic(vdir / "fullchain.pem", fullchain_pem, 0644);
        fsync_directory(vdir);
        // The switch: from here on readers see the new version.
        replace_symlink(zdir / "current", vname);
    } catch (...) {
        std::error_code ec;
        fs::remove_all(vdir, ec);
        throw;
    }
    fsync_directory(zdir);

    // The stable names (created once; they point through `current`).
    for (const char* f : kFiles) {
        const fs::path link = zdir / f;
        std::error_code ec;
        const std::string want = std::string("current/") + f;
        if (fs::is_symlink(fs::symlink_status(link, ec)) && fs::read_symlink(link, ec) == want) {
            continue;
        }
        replace_symlink(link, want);
    }
    fsync_directory(zdir);

    // Keep the new version and the one before it.
    present = versions(zdir);
    std::size_t kept = 0;
    for (auto it = present.rbegin(); it != present.rend(); ++it) {
        if (++kept <= 2) {
            continue;
        }
        std::error_code ec;
        fs::remove_all(zdir / (".v-" + std::to_string(*it)), ec);
        if (ec) {
            log_warning(zdir.string(), ": could not remove old version .v-", *it, ": ",
                        ec.message());
        }
    }
}

std::optional<CertInfo> CertStore::current(const DnsName& zone) const {
    const fs::path cert = zone_dir(zone) / "cert.pem";
    std::error_code ec;
    if (!fs::exists(cert, ec)) {
        return std::nullopt;
    }
    return read_certificate(read_file(cert));
}

}  // namespace acmezone::issuer
