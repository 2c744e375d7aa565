// Where certificates live, and how a new one replaces the old atomically.
//
//     <dir>/<zone>/             the zone name as one component: '/' as %2f
//                                (common/name_path.h)
//         .v-1/  .v-2/           versions; never modified once complete. Each holds:
//             privkey.pem (0600), cert.pem, chain.pem, fullchain.pem
//                                the first key type's certificate (as with one type)
//             ecdsa-p256/{privkey,cert,chain,fullchain}.pem
//             rsa-2048/{privkey,cert,chain,fullchain}.pem
//                                each configured key type's certificate, the first one
//                                included (its four files are the ones above: hard
//                                links, written and made durable once)
//         current -> .v-2        the one switch: a symlink replaced by rename()
//         standby -> .v-3        the standby set ([acme] standby-directory's CA): a
//                                complete version written by store_standby(), which
//                                switches this link only, never `current` or the
//                                names below; made live by switch_to_standby() (one
//                                rename of `current`; the set that was live becomes
//                                the standby)
//         privkey.pem -> current/privkey.pem     the four names servers read
//         cert.pem -> current/cert.pem
//         chain.pem -> current/chain.pem
//         fullchain.pem -> current/fullchain.pem
//         ecdsa-p256 -> current/ecdsa-p256       one per key type stored
//         rsa-2048 -> current/rsa-2048
//         next/<key type>.pem    the next key of that type (0600, directory 0700),
//                                with `next-key = yes`: the next issuance uses it
//       (the zone's directory itself is flock()ed while a version is written;
//        a ".lock" file that stores before kept there is unused)
//
// With two key types both certificates are in one version directory, so the
// one rename of `current` switches the pair: a reader never sees the new
// ECDSA certificate beside the old RSA one. A version without key-type
// subdirectories (written before they existed, or by store() with one PEM)
// is still read: its top-level files are the certificate of whatever type
// its key is (current(zone, type) looks at the key).
//
// A new version is written completely (keys 0600 from their first byte; every
// file and directory durable) into a new .v-<n> directory before
// `current` is switched, so a reader that resolves `current` once sees one
// consistent set; the previous live version is kept (a reader holding its
// paths still finds it), and so is the version `standby` names; other ones
// are removed, and so is any version above `current` that `standby` does not
// name (a store that died before its switch left it). Any failure
// before the switch removes only the new directory: what was there stays as
// it was, byte for byte. Durable writes per store: one syncfs(2) of the
// store's file system for the new version's files and directories (in place
// of an fsync of each: common/file_io.h FileSystemSync says why it is as
// safe; it also writes back other dirty data of that file system), then one
// fsync of the zone's directory (switch and stable names).
#pragma once

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "common/dns_name.h"
#include "common/file_io.h"
#include "issuer/certs/cert_check.h"
#include "issuer/certs/cert_key.h"
#include "issuer/certs/openssl_ptr.h"

namespace acmezone::issuer {

// One key type's files of one stored version, as read back (read_version).
struct VersionFiles {
    KeyType type;
    std::string privkey_pem;
    std::string cert_pem;
    std::string chain_pem;
    std::string fullchain_pem;
};

// One complete stored version: its number (the N of .v-N, growing per zone),
// when it was written (the directory's modification time: its last file was
// created then) and every key type's files.
struct StoredVersion {
    unsigned long number = 0;
    std::chrono::system_clock::time_point written;
    std::vector<VersionFiles> files;  // at least one
};

// One key type's certificate for store().
struct TypedCert {
    KeyType type;
    std::string privkey_pem;
    std::string fullchain_pem;  // leaf first
};

// What a store() to the live set wrote, as its caller's thread may take it
// (CertStore::take_stored) to summarise the new certificates without reading
// them back (pass/cert_summary.h). Each certificate's files are as written
// (the PEM in memory, the stamps from the open files).
struct StoredSet {
    std::filesystem::path zone_dir;
    std::string version;  // `current`'s target: ".v-3"
    struct Cert {
        std::optional<KeyType> type;  // nullopt: a version without key-type directories
        std::string fullchain_pem;    // leaf first
        FileStamp fullchain_stamp;    // of its fullchain.pem
        FileStamp cert_stamp;         // of its cert.pem
    };
    std::vector<Cert> certs;  // in the order stored; the first is the top level's
};

class CertStore {
  public:
    explicit CertStore(std::filesystem::path dir);

    const std::filesystem::path& dir() const { return dir_; }
    std::filesystem::path zone_dir(const DnsName& zone) const;

    // Stores a new version: `fullchain_pem` is leaf first; cert.pem gets the
    // leaf, chain.pem the rest, fullchain.pem all. Throws std::runtime_error /
    // std::system_error naming the path; then nothing existing has changed.
    // Writes the top-level files only (no key-type subdirectory).
    void store(const DnsName& zone, const std::string& privkey_pem,
               const std::string& fullchain_pem);
    // Stores one certificate per key type in one version (the first also at
    // the top level); each type at most once. Same guarantees.
    void store(const DnsName& zone, const std::vector<TypedCert>& certs);
    // Stores a new version as the zone's standby set: as store(), but only
    // the `standby` link is switched to it; `current`, the names servers read
    // and every file of the live set stay byte for byte.
    void store_standby(const DnsName& zone, const std::vector<TypedCert>& certs);

    // The set the last store() or store(zone, certs) in this thread wrote to
    // `zone_dir`'s live set, once (then forgotten); nullopt when the thread's
    // last store was of another zone or directory, failed, or was taken
    // already. Only what the calling thread stored: issuance stores in the
    // thread of the pass working on the zone, which takes it right after.
    static std::optional<StoredSet> take_stored(const std::filesystem::path& zone_dir);

    // The current certificate's info, nullopt when the zone has none yet.
    // Throws CertCheckError when cert.pem exists but does not parse.
    std::optional<CertInfo> current(const DnsName& zone) const;
    // The current certificate of key type `type` (see above for versions
    // without subdirectories), nullopt when there is none of that type.
    std::optional<CertInfo> current(const DnsName& zone, KeyType type) const;
    // The PEM of that certificate (leaf first), "" when none.
    std::string current_chain(const DnsName& zone, KeyType type) const;

    // Every certificate of the current version, each file read and its leaf
    // parsed once (what a pass and status read for every zone): one per
    // key-type directory, or for a version without them its one certificate
    // (of whatever type its key is, `top_level`). Empty when the zone has no
    // current version. Throws CertCheckError when a certificate does not parse.
    struct Current {
        KeyType type;
        std::string fullchain_pem;  // leaf first
        X509Ptr leaf;               // parsed once
        CertInfo info;              // the leaf's
        bool top_level = false;     // a version without key-type directories
    };
    std::vector<Current> current_all(const DnsName& zone) const;
    // The same for the standby set; empty when the zone has none.
    std::vector<Current> standby_all(const DnsName& zone) const;

    // The version `current` points to, and the newest one before it still kept
    // (never the standby set); nullopt when there is none. Reads only the
    // zone's own directory (zone_dir).
    std::optional<unsigned long> current_version(const DnsName& zone) const;
    std::optional<unsigned long> previous_version(const DnsName& zone) const;
    // The version `standby` points to; nullopt when there is none, when that
    // version is gone, or when it names the live version (a switch that died
    // between its two renames).
    std::optional<unsigned long> standby_version(const DnsName& zone) const;
    // The standby certificate of key type `type`, nullopt when there is none.
    std::optional<CertInfo> standby(const DnsName& zone, KeyType type) const;
    // Makes the standby set live: one rename of `current` (then the stable
    // names of any key type the live set lacked), and the set that was live
    // becomes the standby (so a switch back needs no CA). No network. Returns
    // the version now live. Throws std::runtime_error naming the zone when it
    // has no standby set; then nothing has changed.
    unsigned long switch_to_standby(const DnsName& zone);
    // When version `number` was written; nullopt when it is not there.
    std::optional<std::chrono::system_clock::time_point> version_written(
        const DnsName& zone, unsigned long number) const;
    // Every file of version `number`, read from its directory (so one
    // consistent set, whatever `current` points to meanwhile); nullopt when
    // that version is gone (removed by a newer store()). Throws
    // std::runtime_error naming the file when one is missing or unreadable.
    std::optional<StoredVersion> read_version(const DnsName& zone, unsigned long number) const;
    // The same, with the key type of a version without key-type
    // subdirectories given (as an earlier read of that version found it:
    // serve, per request), so its certificate is not parsed again; nullopt:
    // parsed as above.
    std::optional<StoredVersion> read_version(const DnsName& zone, unsigned long number,
                                              std::optional<KeyType> top_type) const;

    // The next key of `type` for `zone`, nullopt when none is kept. Throws
    // std::runtime_error naming the file when it exists but does not parse.
    std::optional<CertKey> next_key(const DnsName& zone, KeyType type) const;
    std::filesystem::path next_key_path(const DnsName& zone, KeyType type) const;
    // Replaces the next key of `type` (atomically, 0600 from the first byte).
    void write_next_key(const DnsName& zone, KeyType type, const CertKey& key);

  private:
    // The two symlinks a version is switched in by.
    enum class Link { current, standby };
    static const char* link_name(Link link) {
        return link == Link::current ? "current" : "standby";
    }

    void store_typed(const DnsName& zone, const std::vector<TypedCert>& certs, Link link);
    void store_version(const DnsName& zone, const std::string& privkey_pem,
                       const std::string& fullchain_pem, const std::vector<TypedCert>& typed,
                       Link link);
    std::optional<std::filesystem::path> version_file(const DnsName& zone, Link link, KeyType type,
                                                      const std::string& name) const;
    std::vector<Current> version_all(const DnsName& zone, Link link) const;

    std::filesystem::path dir_;
};

}  // namespace acmezone::issuer
