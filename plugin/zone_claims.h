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

#include <optional>
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
    // True when `apex` is a challenge-zone (values anywhere below it).
    bool is_challenge_zone(const DnsName& apex) const;

private:
    std::unordered_set<DnsName> zones_;
    std::unordered_set<DnsName> challenge_zones_;
};

}  // namespace acmezone::plugin
