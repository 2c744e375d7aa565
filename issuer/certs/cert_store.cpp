// See cert_store.h.
#include "issuer/certs/cert_store.h"

#include <fcntl.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <set>
#include <system_error>

#include "common/file_io.h"
#include "common/log.h"
#include "common/name_path.h"
#include "issuer/certs/openssl_ptr.h"

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
    // Locks the directory `zdir` itself (flock of the directory: no lock
    // file to make, one file fewer for each zone); with `make_dir`, a
    // missing `zdir` is made first (a zone's first store). The open is the
    // one look at the directory on every later store: no stat or mkdir of it.
    // (Stores written before kept a ".lock" file in the directory: unused.)
    FileLock(const fs::path& zdir, bool make_dir) {
        constexpr int kFlags = O_RDONLY | O_DIRECTORY | O_CLOEXEC;
        fd_ = ::open(zdir.c_str(), kFlags);
        if (fd_ < 0 && errno == ENOENT && make_dir) {
            ensure_directory(zdir, 0755);
            fd_ = ::open(zdir.c_str(), kFlags);
        }
        if (fd_ < 0) {
            fail_errno("opening to lock", zdir);
        }
        if (::flock(fd_, LOCK_EX) != 0) {
            int saved = errno;
            ::close(fd_);
            errno = saved;
            fail_errno("locking", zdir);
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

std::atomic<unsigned> g_temp_counter{0};

// Atomically makes `link` a symlink to `target`: created under its own name
// when there is none (a zone's first store), else a symlink to a temporary
// name (the process id and a counter: no random number to ask the kernel
// for) renamed over it.
void replace_symlink(const fs::path& link, const std::string& target) {
    if (::symlink(target.c_str(), link.c_str()) == 0) {
        return;
    }
    if (errno != EEXIST) {
        fail_errno("creating symlink", link);
    }
    fs::path tmp;
    for (int attempt = 0;; ++attempt) {
        tmp = link.parent_path() /
              (".tmp-" + link.filename().string() + "-" + std::to_string(::getpid()) + "-" +
               std::to_string(g_temp_counter.fetch_add(1)));
        if (::symlink(target.c_str(), tmp.c_str()) == 0) {
            break;
        }
        if (errno != EEXIST || attempt >= kMaxVersionTries) {  // EEXIST: a dead process's
            fail_errno("creating symlink", tmp);
        }
    }
    if (::rename(tmp.c_str(), link.c_str()) != 0) {
        int saved = errno;
        ::unlink(tmp.c_str());
        errno = saved;
        fail_errno("renaming symlink onto", link);
    }
}

// The N of the version a symlink such as `current` names (".v-N"); nullopt
// when there is no such link or it names something else.
std::optional<unsigned long> link_version(const fs::path& link) {
    const std::optional<std::string> target = read_link(link);
    if (!target || target->rfind(".v-", 0) != 0 || target->size() <= 3 || target->size() >= 15 ||
        target->find_first_not_of("0123456789", 3) != std::string::npos) {
        return std::nullopt;
    }
    return std::stoul(target->substr(3));
}
// Makes each of `names` a symlink to current/<name> (created once), then one
// fsync of the zone's directory for them and for the switch before.
void link_stable_names(const fs::path& zdir, const std::vector<std::string>& names) {
    for (const std::string& f : names) {
        const fs::path link = zdir / f;
        const std::string want = "current/" + f;
        if (read_link(link) == want) {
            continue;
        }
        replace_symlink(link, want);
    }
    fsync_directory(zdir);
}

// The version kept before `current`: the newest below it that `standby` does
// not name; nullopt when there is none.
std::optional<unsigned long> previous_live(const std::set<unsigned long>& present,
                                           std::optional<unsigned long> current,
                                           std::optional<unsigned long> standby) {
    if (!current) {
        return std::nullopt;
    }
    for (auto it = present.rbegin(); it != present.rend(); ++it) {
        if (*it < *current && *it != standby) {
            return *it;
        }
    }
    return std::nullopt;
}

// Keeps the versions `current` and `standby` name and the previous live one (a
// reader holding its paths still finds it; serve may stage it); removes the
// rest of `present` (the versions there, as the store holding the lock knows
// them: no second listing).
void prune(const fs::path& zdir, const std::set<unsigned long>& present,
           std::optional<unsigned long> current, std::optional<unsigned long> standby) {
    const auto previous = previous_live(present, current, standby);
    for (const unsigned long v : present) {
        if (v == current || v == standby || v == previous) {
            continue;
        }
        std::error_code ec;
        fs::remove_all(zdir / (".v-" + std::to_string(v)), ec);
        if (ec) {
            log_warning(zdir.string(), ": could not remove old version .v-", v, ": ", ec.message());
        }
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

// The hand-off of take_stored(): what this thread's last store to a live
// set wrote, until taken.
thread_local std::optional<StoredSet> t_stored;

}  // namespace

CertStore::CertStore(fs::path dir) : dir_(std::move(dir)) {}

std::optional<StoredSet> CertStore::take_stored(const fs::path& zone_dir) {
    std::optional<StoredSet> out = std::move(t_stored);
    t_stored.reset();
    if (out && out->zone_dir != zone_dir) {
        return std::nullopt;
    }
    return out;
}

fs::path CertStore::zone_dir(const DnsName& zone) const {
    return dir_ / path_component(zone);  // one component (name_path.h)
}

void CertStore::store(const DnsName& zone, const std::string& privkey_pem,
                      const std::string& fullchain_pem) {
    store_version(zone, privkey_pem, fullchain_pem, {}, Link::current);
}

void CertStore::store(const DnsName& zone, const std::vector<TypedCert>& certs) {
    store_typed(zone, certs, Link::current);
}

void CertStore::store_standby(const DnsName& zone, const std::vector<TypedCert>& certs) {
    store_typed(zone, certs, Link::standby);
}

void CertStore::store_typed(const DnsName& zone, const std::vector<TypedCert>& certs, Link link) {
    if (certs.empty()) {
        throw std::invalid_argument("no certificate to store for " + zone.text());
    }
    for (std::size_t i = 0; i < certs.size(); ++i) {
        for (std::size_t j = 0; j < i; ++j) {
            if (certs[i].type == certs[j].type) {
                throw std::invalid_argument("two " + std::string(to_string(certs[i].type)) +
                                            " certificates for " + zone.text());
            }
        }
    }
    store_version(zone, certs.front().privkey_pem, certs.front().fullchain_pem, certs, link);
}

void CertStore::store_version(const DnsName& zone, const std::string& privkey_pem,
                              const std::string& fullchain_pem, const std::vector<TypedCert>& typed,
                              Link link) {
    t_stored.reset();
    if (zone.is_root()) {
        throw std::invalid_argument("cannot store a certificate for the root zone");
    }
    const auto [leaf, chain] = split_leaf(fullchain_pem);
    std::vector<std::pair<std::string, std::string>> typed_split;
    for (const TypedCert& t : typed) {
        typed_split.push_back(split_leaf(t.fullchain_pem));
    }
    const fs::path zdir = zone_dir(zone);
    FileLock lock(zdir, /*make_dir=*/true);

    // A new, empty version directory. `present` is kept up to date below
    // (this store holds the lock), for prune().
    auto present = versions(zdir);
    unsigned long n = present.empty() ? 1 : *present.rbegin() + 1;
    // A version above `current` is what a store that died before its switch
    // left (this one holds the lock): never pointed to and maybe incomplete,
    // so it goes, and can never become the version kept before the new one.
    // The standby set is the one version above `current` that stays: it was
    // complete when `standby` was switched to it.
    const auto switched = link_version(zdir / "current");
    const auto standby = link_version(zdir / "standby");
    for (auto it = present.begin(); it != present.end();) {
        if ((!switched || *it > *switched) && *it != standby) {
            std::error_code ec;
            fs::remove_all(zdir / (".v-" + std::to_string(*it)), ec);
            if (!ec) {
                it = present.erase(it);
                continue;
            }
        }
        ++it;
    }
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

    // The version directory is new and nothing points to it until the
    // switch: its files are written under their own names (no temporary name
    // and rename each), then made durable, files and directories, by one
    // syncfs of the version directory's file system (FileSystemSync in
    // common/file_io.h: as safe as an fsync of each file and directory,
    // which it replaces) before `current` may point there. So a crash
    // leaves `current` naming the old complete set, or the new complete one.
    StoredSet stored{zdir, vname, {}};
    auto write_set = [&stored](const fs::path& d, std::optional<KeyType> type,
                               const std::string& key, const std::string& leaf_pem,
                               const std::string& chain_pem, const std::string& full) {
        constexpr bool synced = false;  // by FileSystemSync below
        write_new_file(d / "privkey.pem", key, 0600, synced);
        const FileStamp cert = write_new_file(d / "cert.pem", leaf_pem, 0644, synced);
        write_new_file(d / "chain.pem", chain_pem, 0644, synced);
        const FileStamp fullchain = write_new_file(d / "fullchain.pem", full, 0644, synced);
        stored.certs.push_back(StoredSet::Cert{type, full, fullchain, cert});
    };
    // The top-level set, when it is the first key type's (store_typed),
    // is that type's four files linked again: no second copy to write.
    const bool top_is_first_type = !typed.empty() && typed.front().privkey_pem == privkey_pem &&
                                   typed.front().fullchain_pem == fullchain_pem;
    try {
        FileSystemSync durable(vdir);  // opened before the first write: sees its errors
        if (!top_is_first_type) {
            write_set(vdir, std::nullopt, privkey_pem, leaf, chain, fullchain_pem);
        }
        for (std::size_t i = 0; i < typed.size(); ++i) {
            const fs::path tdir = vdir / std::string(to_string(typed[i].type));
            if (::mkdir(tdir.c_str(), 0755) != 0) {
                fail_errno("creating", tdir);
            }
            write_set(tdir, typed[i].type, typed[i].privkey_pem, typed_split[i].first,
                      typed_split[i].second, typed[i].fullchain_pem);
        }
        if (top_is_first_type) {
            const fs::path first = vdir / std::string(to_string(typed.front().type));
            for (const char* f : kFiles) {
                if (::link((first / f).c_str(), (vdir / f).c_str()) != 0) {
                    fail_errno("linking", vdir / f);
                }
            }
        }
        durable.sync();
        // The switch: from here on readers see the new version (or, for a
        // standby set, `standby` names it; nothing servers read changes).
        replace_symlink(zdir / link_name(link), vname);
    } catch (...) {
        std::error_code ec;
        fs::remove_all(vdir, ec);
        throw;
    }

    // The stable names (created once; they point through `current`).
    if (link == Link::current) {
        std::vector<std::string> names(kFiles.begin(), kFiles.end());
        for (const TypedCert& t : typed) {
            names.emplace_back(to_string(t.type));
        }
        link_stable_names(zdir, names);
        t_stored = std::move(stored);
    } else {
        fsync_directory(zdir);
    }
    present.insert(n);
    prune(zdir, present, link == Link::current ? std::optional<unsigned long>(n) : switched,
          link == Link::standby ? std::optional<unsigned long>(n) : standby);
}

std::optional<CertInfo> CertStore::current(const DnsName& zone) const {
    const fs::path cert = zone_dir(zone) / "cert.pem";
    std::error_code ec;
    if (!fs::exists(cert, ec)) {
        return std::nullopt;
    }
    return read_certificate(read_file(cert));
}

// The file of `name` (cert.pem, privkey.pem, ...) of key type `type` in the
// version `link` names: its subdirectory, or the top level of a version
// without one whose key is of that type; nullopt when there is none.
std::optional<fs::path> CertStore::version_file(const DnsName& zone, Link link, KeyType type,
                                                const std::string& name) const {
    const fs::path vdir = zone_dir(zone) / link_name(link);
    std::error_code ec;
    const fs::path typed = vdir / std::string(to_string(type)) / name;
    if (fs::exists(typed, ec)) {
        return typed;
    }
    if (fs::exists(vdir / std::string(to_string(type)), ec)) {
        return std::nullopt;
    }
    // A version without subdirectories: its one certificate, if of that type.
    const fs::path cert = vdir / "cert.pem";
    if (!fs::exists(cert, ec)) {
        return std::nullopt;
    }
    bool has_subdirs = false;
    for (const auto& e : fs::directory_iterator(vdir, ec)) {
        if (e.is_directory(ec)) {
            has_subdirs = true;
        }
    }
    if (has_subdirs) {
        return std::nullopt;  // a typed version without this type
    }
    const std::string pem = read_file(cert);
    BioPtr bio = memory_bio(pem);
    X509Ptr x(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
    if (!x) {
        throw CertCheckError(cert.string() + ": not a PEM certificate");
    }
    if (key_type_of(X509_get0_pubkey(x.get())) != type) {
        return std::nullopt;
    }
    return vdir / name;
}

std::optional<CertInfo> CertStore::current(const DnsName& zone, KeyType type) const {
    auto file = version_file(zone, Link::current, type, "cert.pem");
    if (!file) {
        return std::nullopt;
    }
    return read_certificate(read_file(*file));
}

std::string CertStore::current_chain(const DnsName& zone, KeyType type) const {
    auto file = version_file(zone, Link::current, type, "fullchain.pem");
    return file ? read_file(*file) : std::string();
}

std::vector<CertStore::Current> CertStore::current_all(const DnsName& zone) const {
    return version_all(zone, Link::current);
}

std::vector<CertStore::Current> CertStore::standby_all(const DnsName& zone) const {
    if (!standby_version(zone)) {
        return {};
    }
    return version_all(zone, Link::standby);
}

std::vector<CertStore::Current> CertStore::version_all(const DnsName& zone, Link link) const {
    const fs::path current = zone_dir(zone) / link_name(link);
    std::vector<std::pair<std::string, KeyType>> typed;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(current, ec)) {
        const std::string name = e.path().filename().string();
        auto type = key_type_from_name(name);
        std::error_code dir_ec;
        if (type && e.is_directory(dir_ec)) {
            typed.emplace_back(name, *type);
        }
    }
    std::vector<Current> out;
    if (ec) {
        return out;  // no current version
    }
    auto read_one = [&](const fs::path& file, std::optional<KeyType> type) {
        std::string pem = read_file(file);
        const auto blocks = split_pem_chain(pem);
        BioPtr bio = memory_bio(blocks.front());
        X509Ptr x(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
        if (!x) {
            throw CertCheckError(file.string() + ": not a PEM certificate");
        }
        if (!type) {
            type = key_type_of(X509_get0_pubkey(x.get()));
            if (!type) {
                return;  // a key of no type this version knows: no certificate of a type
            }
        }
        CertInfo info = read_certificate(x.get());
        out.push_back(Current{*type, std::move(pem), std::move(x), std::move(info), typed.empty()});
    };
    if (typed.empty()) {
        if (fs::exists(current / "fullchain.pem", ec)) {
            read_one(current / "fullchain.pem", std::nullopt);
        }
        return out;
    }
    std::sort(typed.begin(), typed.end());
    for (const auto& [name, type] : typed) {
        if (fs::exists(current / name / "fullchain.pem", ec)) {
            read_one(current / name / "fullchain.pem", type);
        }
    }
    return out;
}

std::optional<unsigned long> CertStore::current_version(const DnsName& zone) const {
    return link_version(zone_dir(zone) / "current");
}

std::optional<unsigned long> CertStore::previous_version(const DnsName& zone) const {
    const fs::path zdir = zone_dir(zone);
    return previous_live(versions(zdir), link_version(zdir / "current"),
                         link_version(zdir / "standby"));
}

std::optional<unsigned long> CertStore::standby_version(const DnsName& zone) const {
    const fs::path zdir = zone_dir(zone);
    const auto standby = link_version(zdir / "standby");
    if (standby && standby == link_version(zdir / "current")) {
        return std::nullopt;  // a switch that died between its two renames
    }
    std::error_code ec;
    if (standby && !fs::is_directory(zdir / (".v-" + std::to_string(*standby)), ec)) {
        return std::nullopt;  // names a version that is gone
    }
    return standby;
}

std::optional<CertInfo> CertStore::standby(const DnsName& zone, KeyType type) const {
    if (!standby_version(zone)) {
        return std::nullopt;
    }
    auto file = version_file(zone, Link::standby, type, "cert.pem");
    if (!file) {
        return std::nullopt;
    }
    return read_certificate(read_file(*file));
}

unsigned long CertStore::switch_to_standby(const DnsName& zone) {
    const fs::path zdir = zone_dir(zone);
    std::error_code ec;
    if (!fs::is_directory(zdir, ec)) {
        throw std::runtime_error(zone.text() + ": no certificate directory " + zdir.string());
    }
    FileLock lock(zdir, /*make_dir=*/false);
    const auto standby = standby_version(zone);
    if (!standby) {
        throw std::runtime_error(zone.text() + ": no standby set in " + zdir.string() +
                                 " to switch to (none issued yet, or switched already)");
    }
    const auto live = current_version(zone);
    const std::string vname = ".v-" + std::to_string(*standby);
    // The switch: one rename; from here on readers see the standby set.
    replace_symlink(zdir / "current", vname);
    std::vector<std::string> names(kFiles.begin(), kFiles.end());
    for (const auto& e : fs::directory_iterator(zdir / vname, ec)) {
        std::error_code dir_ec;
        if (key_type_from_name(e.path().filename().string()) && e.is_directory(dir_ec)) {
            names.push_back(e.path().filename().string());
        }
    }
    link_stable_names(zdir, names);  // fsyncs the switch too
    // The set that was live is the standby now (a switch back needs no CA).
    if (live) {
        replace_symlink(zdir / "standby", ".v-" + std::to_string(*live));
    } else if (::unlink((zdir / "standby").c_str()) != 0) {
        fail_errno("removing", zdir / "standby");
    }
    fsync_directory(zdir);
    return *standby;
}

std::optional<std::chrono::system_clock::time_point> CertStore::version_written(
    const DnsName& zone, unsigned long number) const {
    const fs::path vdir = zone_dir(zone) / (".v-" + std::to_string(number));
    struct stat st {};
    if (::lstat(vdir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
        return std::nullopt;
    }
    return std::chrono::system_clock::time_point(
        std::chrono::duration_cast<std::chrono::system_clock::duration>(
            std::chrono::seconds(st.st_mtim.tv_sec) +
            std::chrono::nanoseconds(st.st_mtim.tv_nsec)));
}

std::optional<StoredVersion> CertStore::read_version(const DnsName& zone,
                                                     unsigned long number) const {
    return read_version(zone, number, std::nullopt);
}

std::optional<StoredVersion> CertStore::read_version(const DnsName& zone, unsigned long number,
                                                     std::optional<KeyType> top_type) const {
    const fs::path vdir = zone_dir(zone) / (".v-" + std::to_string(number));
    const auto written = version_written(zone, number);
    if (!written) {
        return std::nullopt;
    }
    StoredVersion v;
    v.number = number;
    v.written = *written;
    auto read_files = [](const fs::path& dir, KeyType type) {
        return VersionFiles{type, read_private_file(dir / "privkey.pem", "private key"),
                            read_file(dir / "cert.pem"), read_file(dir / "chain.pem"),
                            read_file(dir / "fullchain.pem")};
    };
    std::vector<std::pair<std::string, KeyType>> typed;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(vdir, ec)) {
        auto type = key_type_from_name(e.path().filename().string());
        if (type && e.is_directory(ec)) {
            typed.emplace_back(e.path().filename().string(), *type);
        }
    }
    if (ec) {
        return std::nullopt;  // removed while listed
    }
    std::sort(typed.begin(), typed.end());
    for (const auto& [name, type] : typed) {
        v.files.push_back(read_files(vdir / name, type));
    }
    if (v.files.empty() && top_type) {
        v.files.push_back(read_files(vdir, *top_type));
    } else if (v.files.empty()) {  // a version without subdirectories: its one certificate
        const std::string cert = read_file(vdir / "cert.pem");
        BioPtr bio = memory_bio(cert);
        X509Ptr x(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
        auto type = x ? key_type_of(X509_get0_pubkey(x.get())) : std::nullopt;
        if (!type) {
            throw CertCheckError((vdir / "cert.pem").string() +
                                 ": not a PEM certificate of a known key type");
        }
        v.files.push_back(read_files(vdir, *type));
    }
    return v;
}

fs::path CertStore::next_key_path(const DnsName& zone, KeyType type) const {
    return zone_dir(zone) / "next" / (std::string(to_string(type)) + ".pem");
}

std::optional<CertKey> CertStore::next_key(const DnsName& zone, KeyType type) const {
    const fs::path path = next_key_path(zone, type);
    std::error_code ec;
    if (!fs::exists(path, ec)) {
        return std::nullopt;
    }
    return CertKey::from_pem(read_private_file(path, "next key"), path.string());
}

void CertStore::write_next_key(const DnsName& zone, KeyType type, const CertKey& key) {
    const fs::path dir = zone_dir(zone) / "next";
    ensure_directory(dir, 0700);
    write_file_atomic(next_key_path(zone, type), key.private_pem(), 0600);
}

}  // namespace acmezone::issuer
