// Which names the plugin is authoritative for.
//
// `zone = example.com` claims, for every name N at or under example.com, the
// one-name zone `_acme-challenge.N` (its apex holds the TXT values, SOA, NS;
// nothing lies below it). `challenge-zone = acme.example.net` claims that
// whole zone: values may sit at any name at or under it.
//
// Catalog members (catalog_follower.h) are claimed exactly like `zone` lines.
// They change while named runs: set_members() builds a new member set and
// publishes it whole (published.h); every question reads one published set,
// so a reader sees the old members or the new ones, never a mix.
//
// is_apex() runs inside dlz_findzonedb, on almost every query named answers:
// it is a few hash look-ups (one per label at most), never a scan, with or
// without catalog members.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "common/dns_name.h"
#include "plugin/published.h"

namespace acmezone::plugin {

inline constexpr std::string_view kChallengeLabel = "_acme-challenge";

class ZoneClaims {
  public:
    ZoneClaims(const std::vector<DnsName>& zones, const std::vector<DnsName>& challenge_zones);

    // True when `name` is the apex of a zone the plugin serves.
    bool is_apex(const DnsName& name) const;
    // True when no name at or below `name` can be an apex (dlz_findzonedb's NOMORE).
    bool nothing_below(const DnsName& name) const;
    // The apex of the claimed zone that holds `owner`, if any.
    std::optional<DnsName> apex_of(const DnsName& owner) const;
    // The configured `zone` or `challenge-zone` that claims `owner` (the
    // nearest, when configured zones nest): what a per-zone quota counts
    // against. Every _acme-challenge.N under a `zone` is an apex of its
    // own, but they all share that zone.
    std::optional<DnsName> quota_zone_of(const DnsName& owner) const;
    // True when `apex` is a challenge-zone (values anywhere below it).
    bool is_challenge_zone(const DnsName& apex) const;

    // The member zones of every catalog, by catalog: replaces the previous
    // members whole. Any thread; readers never wait for it.
    void set_members(const std::map<DnsName, std::vector<DnsName>>& members_by_catalog);
    // True when `name` lies at or below a member zone of `catalog`.
    bool is_under_member_of(const DnsName& name, const DnsName& catalog) const;
    // How many member zones are claimed (all catalogs).
    std::size_t member_count() const;

    // For dlz_findzonedb, which gets text: `name` in canonical form (lower
    // case, no trailing dot). apex: a served apex; inside: below one (named
    // should try the shorter names); none: neither this name nor any
    // ancestor is served (named, which asks longest first, can stop).
    enum class Match { apex, inside, none };
    Match match(std::string_view name) const;

  private:
    // Text-keyed sets with heterogeneous look-up, so that a query name's
    // suffixes are looked up as string_views without building DnsNames.
    struct Hash {
        using is_transparent = void;
        std::size_t operator()(std::string_view s) const noexcept {
            return std::hash<std::string_view>{}(s);
        }
    };
    using NameSet = std::unordered_set<std::string, Hash, std::equal_to<>>;

    // Catalog members, replaced whole by set_members().
    struct Members {
        NameSet zones;
        NameSet above;  // every proper ancestor of a member zone
        std::unordered_map<std::string, std::vector<DnsName>, Hash, std::equal_to<>> catalogs;
    };

    // The nearest ancestor-or-self of `name` that is an apex; "" plus false when none.
    bool find_apex(std::string_view name, const Members& members, std::string_view* apex) const;
    bool is_zone(std::string_view name, const Members& members) const {
        return zones_.contains(name) || members.zones.contains(name);
    }

    Published<Members> members_{std::make_shared<const Members>()};
    NameSet zones_;
    NameSet challenge_zones_;
    NameSet above_;  // every proper ancestor of a zone or challenge-zone (for nothing_below)
};

}  // namespace acmezone::plugin
