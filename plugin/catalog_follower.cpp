// Following catalog zones: see catalog_follower.h.
#include "plugin/catalog_follower.h"

#include <algorithm>
#include <set>

#include "common/axfr_client.h"
#include "common/file_io.h"
#include "common/log.h"
#include "common/name_path.h"

namespace acmezone::plugin {
namespace {

constexpr std::chrono::seconds kMaxRefresh{86400};

std::vector<CatalogMember> load_members(const std::filesystem::path& file, const DnsName& catalog) {
    std::error_code ec;
    if (!std::filesystem::exists(file, ec)) {
        return {};
    }
    try {
        std::string error;
        auto members = parse_members(read_file(file), &error);
        if (!members) {
            log_warning("acmezone: catalog ", catalog.text(), ": ignoring ", file.string(), ": ",
                        error, "; no members until the catalog is transferred");
            return {};
        }
        log_info("acmezone: catalog ", catalog.text(), ": ", members->size(), " member(s) from ",
                 file.string(), " until the catalog is transferred");
        return *members;
    } catch (const std::exception& e) {
        log_warning("acmezone: catalog ", catalog.text(), ": cannot read ", file.string(), ": ",
                    e.what(), "; no members until the catalog is transferred");
        return {};
    }
}

// When a catalog whose SOA says REFRESH seconds is due again.
std::chrono::steady_clock::time_point next_refresh(std::uint32_t refresh) {
    const auto every = refresh > 0 ? std::clamp(std::chrono::seconds(refresh),
                                                std::chrono::seconds(1), kMaxRefresh)
                                   : std::chrono::seconds(3600);
    return std::chrono::steady_clock::now() + every;
}

std::set<DnsName> zones_of(const std::vector<CatalogMember>& members) {
    std::set<DnsName> out;
    for (const auto& m : members) {
        out.insert(m.zone);
    }
    return out;
}

}  // namespace

std::filesystem::path CatalogFollower::members_file(const std::filesystem::path& state_dir,
                                                    const DnsName& catalog) {
    return state_dir / ("catalog-" + path_component(catalog) + ".members");
}

CatalogFollower::CatalogFollower(std::vector<CatalogSource> catalogs, const TsigKeyring& keyring,
                                 std::filesystem::path state_dir, ZoneClaims& claims, Left on_left,
                                 std::chrono::milliseconds transfer_timeout)
    : keyring_(keyring),
      state_dir_(std::move(state_dir)),
      claims_(claims),
      on_left_(std::move(on_left)),
      transfer_timeout_(transfer_timeout) {
    for (auto& source : catalogs) {
        Followed f;
        if (!state_dir_.empty()) {
            f.members = load_members(members_file(state_dir_, source.zone), source.zone);
        }
        f.source = std::move(source);
        catalogs_.push_back(std::move(f));
    }
    const std::lock_guard lock(mu_);
    publish_claims();
}

CatalogFollower::~CatalogFollower() {
    {
        const std::lock_guard lock(mu_);
        stopping_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) {
        thread_.join();
    }
}

void CatalogFollower::start() {
    if (catalogs_.empty()) {
        return;
    }
    {
        const std::lock_guard lock(mu_);
        for (auto& f : catalogs_) {
            f.due = Clock::now();
        }
    }
    thread_ = std::thread([this] { run(); });
}

CatalogFollower::NotifyVerdict CatalogFollower::notify(const DnsName& zone, const Endpoint& peer) {
    {
        const std::lock_guard lock(mu_);
        auto it = std::find_if(catalogs_.begin(), catalogs_.end(),
                               [&](const Followed& f) { return f.source.zone == zone; });
        if (it == catalogs_.end()) {
            return NotifyVerdict::unknown_catalog;
        }
        if (it->source.server.address() != peer.address()) {
            return NotifyVerdict::unknown_sender;
        }
        it->notified = true;
    }
    cv_.notify_all();
    return NotifyVerdict::accepted;
}

std::vector<CatalogMember> CatalogFollower::members(const DnsName& catalog) const {
    const std::lock_guard lock(mu_);
    for (const auto& f : catalogs_) {
        if (f.source.zone == catalog) {
            return f.members;
        }
    }
    return {};
}

std::size_t CatalogFollower::attempts() const {
    const std::lock_guard lock(mu_);
    return attempts_;
}

void CatalogFollower::publish_claims() {
    std::map<DnsName, std::vector<DnsName>> by_catalog;
    for (const auto& f : catalogs_) {
        auto& zones = by_catalog[f.source.zone];
        for (const auto& m : f.members) {
            zones.push_back(m.zone);
        }
    }
    claims_.set_members(by_catalog);
}

void CatalogFollower::run() {
    std::unique_lock lock(mu_);
    while (!stopping_) {  // bounded by the destructor: one round per wake-up
        auto next = Clock::time_point::max();
        for (const auto& f : catalogs_) {
            next = std::min(next, f.notified ? Clock::now() : f.due);
        }
        const auto woken = [&] {
            return stopping_ || std::any_of(catalogs_.begin(), catalogs_.end(),
                                            [](const Followed& f) { return f.notified; });
        };
        if (next == Clock::time_point::max()) {
            cv_.wait(lock, woken);  // (not reached: every catalog has a due time)
        } else {
            cv_.wait_until(lock, next, woken);
        }
        for (std::size_t i = 0; i < catalogs_.size() && !stopping_; ++i) {
            Followed& f = catalogs_[i];
            if (!f.notified && Clock::now() < f.due) {
                continue;
            }
            const std::optional<std::uint32_t> serial =
                f.notified ? std::nullopt : f.serial;  // a NOTIFY always transfers
            f.notified = false;
            ++attempts_;
            const CatalogSource source = f.source;
            lock.unlock();
            refresh(i, source, serial);
            lock.lock();
        }
    }
}

bool CatalogFollower::unchanged(std::size_t i, const CatalogSource& source, std::uint32_t serial) {
    const TsigKey* key = source.key ? keyring_.find(*source.key) : nullptr;
    const std::uint32_t now_serial =
        query_soa_serial(source.server, source.zone, key, transfer_timeout_);
    if (now_serial != serial) {
        return false;
    }
    const std::lock_guard lock(mu_);
    Followed& f = catalogs_[i];
    f.backoff = std::chrono::seconds(1);
    f.due = next_refresh(f.refresh);
    log_debug("acmezone: catalog ", source.zone.text(), ": serial ", serial, " unchanged at ",
              source.server.to_string(), ", no transfer; ", f.members.size(), " member(s)");
    return true;
}

void CatalogFollower::refresh(std::size_t i, const CatalogSource& source,
                              std::optional<std::uint32_t> serial) {
    const std::string who = "acmezone: catalog " + source.zone.text();
    const auto started = Clock::now();
    std::string failure;
    CatalogParse parsed;
    try {
        if (serial && unchanged(i, source, *serial)) {
            return;
        }
        const TsigKey* key = source.key ? keyring_.find(*source.key) : nullptr;
        const std::vector<LdnsRr> records =
            transfer_zone(source.server, source.zone, key, transfer_timeout_);
        std::vector<const ldns_rr*> view;
        view.reserve(records.size());
        for (const auto& rr : records) {
            view.push_back(rr.get());
        }
        parsed = parse_catalog(source.zone, view);
        if (!parsed.ok) {
            failure = "refused: " + parsed.error;
        } else if (!state_dir_.empty()) {
            write_file_atomic(members_file(state_dir_, source.zone), format_members(parsed.members),
                              0600);
        }
    } catch (const std::exception& e) {
        failure = e.what();
    }

    std::vector<DnsName> left;
    {
        const std::lock_guard lock(mu_);
        Followed& f = catalogs_[i];
        if (!failure.empty()) {
            log_warning(who, ": ", failure, "; keeping the previous ", f.members.size(),
                        " member(s)");
            f.due = Clock::now() + std::min(f.backoff, f.retry);
            f.backoff = std::min(f.backoff * 2, f.retry);
            return;
        }
        f.backoff = std::chrono::seconds(1);
        f.serial = parsed.serial;
        f.refresh = parsed.refresh;
        f.due = next_refresh(parsed.refresh);
        const std::set<DnsName> before = zones_of(f.members);
        const std::set<DnsName> after = zones_of(parsed.members);
        std::size_t joined = 0;
        for (const auto& z : after) {
            joined += before.count(z) == 0 ? 1 : 0;
        }
        for (const auto& z : before) {
            if (after.count(z) == 0) {
                left.push_back(z);
            }
        }
        const bool changed = f.members != parsed.members;
        f.members = std::move(parsed.members);
        if (changed) {
            publish_claims();
            const auto took =
                std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - started);
            log_info(who, ": ", f.members.size(), " member(s) (", joined, " joined, ", left.size(),
                     " left), serial ", parsed.serial, ", transferred and claimed in ",
                     took.count(), " ms");
        } else {
            log_debug(who, ": ", f.members.size(), " member(s), unchanged, serial ", parsed.serial);
        }
    }
    if (!left.empty() && on_left_) {
        on_left_(source.zone, left);
    }
}

}  // namespace acmezone::plugin
