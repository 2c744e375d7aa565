// serve's reading of the zones' `current` links (cert_store.h): each zone's
// link is read once and again only after inotify(7) reported a change in the
// zone's directory (or in the store's directory), so a request costs one
// non-blocking read(2) of the inotify descriptor (nothing queued: EAGAIN)
// instead of a readlink(2) through the store's path.
//
// A new version is still served at once: the kernel queues the event of the
// rename that switches `current` before that rename returns, and every
// lookup first takes what is queued, so a lookup made after a switch has
// finished sees it. A zone's watch is added before its link is read, so a
// switch between the two is seen too.
//
// Without inotify (no instance left: EMFILE; no watch left: ENOSPC), a zone
// whose directory is not there yet while the store's directory is not
// watched, or after the store's directory itself was moved or removed, the
// link is read on every lookup, as CertStore::current_version does. One
// thread: serve's (server.h).
#pragma once

#include <optional>
#include <unordered_map>

#include "common/dns_name.h"
#include "issuer/certs/cert_store.h"

namespace acmezone::issuer {

class CurrentLinks {
  public:
    // `store` must outlive this.
    explicit CurrentLinks(const CertStore& store);
    ~CurrentLinks();
    CurrentLinks(const CurrentLinks&) = delete;
    CurrentLinks& operator=(const CurrentLinks&) = delete;

    // CertStore::current_version(zone), as the store is now.
    std::optional<unsigned long> current_version(const DnsName& zone);

  private:
    struct Entry {
        int wd = -1;  // the zone directory's watch, -1 when none
        bool known = false;
        std::optional<unsigned long> version;  // when known
    };

    // Applies what inotify queued (one read(2) when nothing is).
    void take_events();
    void forget_all();
    void stop_watching();  // from here on every lookup reads the link

    const CertStore& store_;
    int fd_ = -1;
    int store_wd_ = -1;
    std::unordered_map<DnsName, Entry> zones_;
    std::unordered_map<int, DnsName> by_wd_;
};

}  // namespace acmezone::issuer
