// See current_links.h.
#include "issuer/serve/current_links.h"

#include <sys/inotify.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>

#include "common/log.h"

namespace acmezone::issuer {
namespace {

// What changes a zone's `current` link, or the zone's directory itself: a
// rename onto it (CertStore's switch), a link made or removed, the
// directory moved or removed.
constexpr std::uint32_t kZoneEvents = IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO |
                                      IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR;
// The same for the store's directory, whose entries are the zones' directories.
constexpr std::uint32_t kStoreEvents = kZoneEvents;

}  // namespace

CurrentLinks::CurrentLinks(const CertStore& store) : store_(store) {
    fd_ = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (fd_ < 0) {
        log_warning("serve: inotify unavailable (", std::strerror(errno),
                    "): each request reads its zone's current link");
        return;
    }
    store_wd_ = ::inotify_add_watch(fd_, store_.dir().c_str(), kStoreEvents);
    // Without it, a zone with no directory yet is looked for on every lookup.
}

CurrentLinks::~CurrentLinks() {
    if (fd_ >= 0) {
        ::close(fd_);
    }
}

std::optional<unsigned long> CurrentLinks::current_version(const DnsName& zone) {
    take_events();
    if (fd_ < 0) {
        return store_.current_version(zone);
    }
    Entry& e = zones_[zone];
    if (e.known) {
        return e.version;
    }
    if (e.wd < 0) {
        const int wd = ::inotify_add_watch(fd_, store_.zone_dir(zone).c_str(), kZoneEvents);
        if (wd >= 0) {
            e.wd = wd;
            by_wd_[wd] = zone;
        } else if (errno != ENOENT || store_wd_ < 0) {
            // No watch (ENOSPC: the user's inotify watches are used up): read each time.
            return store_.current_version(zone);
        }
        // ENOENT with the store watched: the directory's creation is an event.
    }
    e.version = e.wd >= 0 ? store_.current_version(zone) : std::nullopt;
    e.known = true;
    return e.version;
}

void CurrentLinks::take_events() {
    if (fd_ < 0) {
        return;
    }
    alignas(struct inotify_event) char buf[4096];
    for (;;) {
        const ssize_t n = ::read(fd_, buf, sizeof buf);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            if (n < 0 && errno != EAGAIN) {
                log_warning("serve: reading inotify events failed (", std::strerror(errno),
                            "): each request reads its zone's current link from now on");
                stop_watching();
            }
            return;
        }
        for (ssize_t off = 0; off < n;) {
            const auto* ev = reinterpret_cast<const struct inotify_event*>(buf + off);
            off += static_cast<ssize_t>(sizeof(struct inotify_event) + ev->len);
            if ((ev->mask & IN_Q_OVERFLOW) != 0) {
                forget_all();
                continue;
            }
            if (ev->wd == store_wd_) {
                if ((ev->mask & (IN_DELETE_SELF | IN_MOVE_SELF | IN_IGNORED)) != 0) {
                    // The store's path names something else now: no watch is sure.
                    stop_watching();
                    return;
                }
                // A zone's directory made, replaced or removed: look again.
                // Entries are few and this is rare (a zone's first version).
                forget_all();
                continue;
            }
            const auto it = by_wd_.find(ev->wd);
            if (it == by_wd_.end()) {
                continue;  // a watch already dropped
            }
            Entry& e = zones_[it->second];
            e.known = false;
            if ((ev->mask & (IN_DELETE_SELF | IN_MOVE_SELF | IN_IGNORED)) != 0) {
                // The directory went (or moved away): watch the path anew.
                if ((ev->mask & IN_IGNORED) == 0) {
                    ::inotify_rm_watch(fd_, ev->wd);
                }
                e.wd = -1;
                by_wd_.erase(it);
            }
        }
    }
}

void CurrentLinks::forget_all() {
    // The zones' directories may have been replaced: every watch is made anew.
    for (auto& [wd, zone] : by_wd_) {
        ::inotify_rm_watch(fd_, wd);
    }
    by_wd_.clear();
    zones_.clear();
}

void CurrentLinks::stop_watching() {
    ::close(fd_);
    fd_ = -1;
    store_wd_ = -1;
    by_wd_.clear();
    zones_.clear();
}

}  // namespace acmezone::issuer
