// Installing a checked ZoneSet on this host, in the issuer's store layout
// (certs/cert_store.h), so that the same paths work on every host and
// `acmezone-issuer serve` can serve a mirror:
//
//     TARGET/<zone>/.v-N/{privkey,cert,chain,fullchain}.pem    the default key type
//     TARGET/<zone>/.v-N/<key type>/{privkey,...}.pem          every key type
//     TARGET/<zone>/current -> .v-N       N: the server's version number
//     TARGET/<zone>/{privkey,cert,chain,fullchain}.pem -> current/...
//     TARGET/<zone>/<key type> -> current/<key type>
//
// install() writes the whole version in a new directory
// `.tmp-v-N-<pid>` first: every file created with its final mode from the
// first byte (open(O_CREAT|O_EXCL, mode), fchown to the key group and fchmod
// before a byte is written, so a key is never readable by anyone else),
// fsync'd, each directory fsync'd, the directory's modification time set to
// the version's `written` (serve's stage-for reads it). Then it is renamed to
// `.v-N`, and only then does one rename() of a new `current` symlink over the
// old switch the zone; the zone directory is fsync'd after each step. Any
// failure before that rename (ENOSPC, EIO, a kill -9) leaves `current` and
// every installed file as they were: a leftover `.tmp-v-*` or an unused
// `.v-N` is removed by the next install. The version before the new one is
// kept (a reader holding its paths still finds it), older ones are removed.
//
// Keys are 0640 with `key_gid` as their group (the owner is the process's
// user: root for a host install), or 0600 without one; certificates 0644.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <optional>

#include "common/dns_name.h"
#include "issuer/fetch/zone_set.h"

namespace acmezone::issuer {

class FetchStore {
  public:
    FetchStore(std::filesystem::path target, std::optional<gid_t> key_gid);

    std::filesystem::path zone_dir(const DnsName& zone) const;
    // The installed version (`current`), nullopt when none.
    std::optional<unsigned long> installed_version(const DnsName& zone) const;
    // Installs `set` (a version other than the installed one) as described
    // above. Throws std::system_error /
    // std::runtime_error naming the path and the cause; then nothing
    // installed has changed.
    void install(const ZoneSet& set);

  private:
    std::filesystem::path target_;
    std::optional<gid_t> key_gid_;
};

}  // namespace acmezone::issuer
