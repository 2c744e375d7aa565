// Which names the plugin is authoritative for.
//
// `zone = example.com` claims, for every name N at or under example.com, the
// one-name zone `_acme-challenge.N` (its apex holds the TXT values, SOA, NS;
// nothing lies below it). `challenge-zone = acme.example.net` claims that
// whole zone: values may sit at any name at or under it.
//
// is_apex() runs inside dlz_findzonedb, on almost every query named answers:
// it is a few hash look-ups (one per label at most), never a scan.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "common/dns_name.h"

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

    // The nearest ancestor-or-self of `name` that is an apex; "" plus false when none.
    bool find_apex(std::string_view name, std::string_view* apex) const;

    NameSet zones_;
    NameSet challenge_zones_;
    NameSet above_;  // every proper ancestor of a zone or challenge-zone (for nothing_below)
};

}  // namespace acmezone::plugin
