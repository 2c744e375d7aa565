// Where certificates live, and how a new one replaces the old atomically.
//
//     <dir>/<zone>/
//         .v-1/  .v-2/           versions: privkey.pem (0600), cert.pem,
//                                chain.pem, fullchain.pem; never modified once complete
//         current -> .v-2        the one switch: a symlink replaced by rename()
//         privkey.pem -> current/privkey.pem     the four names servers read
//         cert.pem -> current/cert.pem
//         chain.pem -> current/chain.pem
//         fullchain.pem -> current/fullchain.pem
//         .lock                  flock()ed while a version is written
//
// A new version is written completely (each file fsync'd, the key 0600 from
// its first byte) into a new .v-<n> directory before `current` is switched,
// so a reader that resolves `current` once sees one consistent set; the
// previous version is kept (a reader holding its paths still finds it), older
// ones are removed. Any failure before the switch removes only the new
// directory: what was there stays as it was, byte for byte.
#pragma once

#include <filesystem>
#include <optional>
#include <string>

#include "common/dns_name.h"
#include "issuer/cert_check.h"

namespace acmezone::issuer {

class CertStore {
  public:
    explicit CertStore(std::filesystem::path dir);

    const std::filesystem::path& dir() const { return dir_; }
    std::filesystem::path zone_dir(const DnsName& zone) const;

    // Stores a new version: `fullchain_pem` is leaf first; cert.pem gets the
    // leaf, chain.pem the rest, fullchain.pem all. Throws std::runtime_error /
    // std::system_error naming the path; then nothing existing has changed.
    void store(const DnsName& zone, const std::string& privkey_pem,
               const std::string& fullchain_pem);

    // The current certificate's info, nullopt when the zone has none yet.
    // Throws CertCheckError when cert.pem exists but does not parse.
    std::optional<CertInfo> current(const DnsName& zone) const;

  private:
    std::filesystem::path dir_;
};

}  // namespace acmezone::issuer
