// Following RFC 9432 catalog zones: the `catalog` lines of the plugin config.
//
// For each catalog the follower keeps its last good member set and claims
// every member in ZoneClaims (exactly like a `zone` line). It transfers the
// catalog (AXFR, common/axfr_client.h, TSIG-signed when the line names a key)
// and validates it (common/catalog_zone.h):
//   - at start, and at once when its server NOTIFYs the control socket for
//     it (notify(), called by the control handler: only for a followed
//     catalog, only from its server's address);
//   - otherwise every SOA REFRESH seconds of the last transfer, after an SOA
//     query: a serial equal to that of the member set in force needs no
//     transfer (a NOTIFY, or no set transferred since start, always does);
//   - after a failure, again after 1, 2, 4 ... seconds, at most 60 s apart.
// A transfer that fails, or a catalog that fails validation, leaves the
// previous member set in force; the log says why and how many members stay.
// A new member set is written to <state-dir>/catalog-<catalog>.members
// (atomic, 0600; not with an empty state-dir, as in unit tests) before it
// is claimed, and read back when the core starts:
// a restart with the primary unreachable changes nothing. The zones that
// left are handed to `on_left` (the core deletes their values).
//
// Log lines (named's log), e.g.
//   acmezone: catalog catalog.example: 4 member(s) (1 joined, 0 left), serial 12,
//     transferred and claimed in 3 ms
//   acmezone: catalog catalog.example: unsupported catalog version "1" at
//     version.catalog.example. (...); keeping the previous 3 members
//
// Threads: one of its own (start() to stop via the destructor), which runs
// every transfer; notify() and members() from any thread.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "common/catalog_zone.h"
#include "common/endpoint.h"
#include "common/tsig_keyring.h"
#include "plugin/plugin_config.h"
#include "plugin/zone_claims.h"

namespace acmezone::plugin {

class CatalogFollower {
  public:
    using Left = std::function<void(const DnsName& catalog, const std::vector<DnsName>& zones)>;
    // Reads each catalog's saved member set from `state_dir` and claims it
    // (a missing file: no members yet; an unreadable one is logged and
    // treated as missing). `claims` and `keyring` must outlive the follower.
    CatalogFollower(std::vector<CatalogSource> catalogs, const TsigKeyring& keyring,
                    std::filesystem::path state_dir, ZoneClaims& claims, Left on_left,
                    std::chrono::milliseconds transfer_timeout = std::chrono::seconds(5));
    ~CatalogFollower();
    CatalogFollower(const CatalogFollower&) = delete;
    CatalogFollower& operator=(const CatalogFollower&) = delete;

    // Starts the thread: the first transfer of every catalog is due at once.
    void start();

    enum class NotifyVerdict { accepted, unknown_catalog, unknown_sender };
    NotifyVerdict notify(const DnsName& zone, const Endpoint& peer);

    // The member set in force for `catalog` (empty for an unknown one).
    std::vector<CatalogMember> members(const DnsName& catalog) const;
    // How many transfers have been attempted (for tests waiting on one).
    std::size_t attempts() const;

    // The state file of `catalog` under `state_dir`.
    static std::filesystem::path members_file(const std::filesystem::path& state_dir,
                                              const DnsName& catalog);

  private:
    using Clock = std::chrono::steady_clock;
    struct Followed {
        CatalogSource source;
        std::vector<CatalogMember> members;
        std::optional<std::uint32_t> serial;  // of `members`, once transferred since start
        std::uint32_t refresh = 0;            // its SOA REFRESH
        Clock::time_point due;
        bool notified = false;
        std::chrono::seconds backoff{1};
        std::chrono::seconds retry{60};
    };

    void run();
    // One refresh of catalogs_[i], without mu_ held: an SOA query first when
    // `serial` (that of the set in force) is given, then, unless the serial
    // is that one, the transfer.
    void refresh(std::size_t i, const CatalogSource& source, std::optional<std::uint32_t> serial);
    // Whether the primary's serial is still `serial`: then the catalog is
    // due again at its refresh, and the log (debug) says so. Throws AxfrError.
    bool unchanged(std::size_t i, const CatalogSource& source, std::uint32_t serial);
    void publish_claims();  // with mu_ held

    std::vector<Followed> catalogs_;  // guarded by mu_ (the vector's shape is fixed)
    const TsigKeyring& keyring_;
    std::filesystem::path state_dir_;
    ZoneClaims& claims_;
    Left on_left_;
    std::chrono::milliseconds transfer_timeout_;

    mutable std::mutex mu_;
    std::condition_variable cv_;
    bool stopping_ = false;
    std::size_t attempts_ = 0;
    std::thread thread_;
};

}  // namespace acmezone::plugin
