// Which names each TSIG key may write: the config's `grant` lines, resolved
// once against the zone claims.
//
//   grant = K zonesub Z   Z a `zone`:           _acme-challenge.N for any N at or under Z
//   grant = K zonesub Z   Z a `challenge-zone`: any name at or under Z
//   grant = K zonesub Z   Z neither:            nothing (plugin_config rejects it anyway)
//   grant = K name N                            N exactly
//   grant = K catalog C                         zonesub on each member of catalog C,
//                                               as the members are when asked
// Types are not part of a grant: the control socket changes TXT only.
// A key without any grant may write nothing. Built once, read-only after:
// any thread may call allows().
#pragma once

#include <optional>
#include <unordered_map>
#include <vector>

#include "common/dns_name.h"
#include "plugin/plugin_config.h"
#include "plugin/zone_claims.h"

namespace acmezone::plugin {

class GrantTable {
  public:
    GrantTable(const std::vector<Grant>& grants, const ZoneClaims& claims);

    bool allows(const DnsName& key, const DnsName& name) const;
    // The first of `names` that `key` may not write, if any.
    std::optional<DnsName> first_denied(const DnsName& key,
                                        const std::vector<DnsName>& names) const;

  private:
    enum class Scope { challenge_names_under, subtree, exact, catalog_members, none };
    struct Rule {
        Scope scope;
        DnsName target;
    };
    const ZoneClaims& claims_;                              // for catalog members, which change
    std::unordered_map<DnsName, std::vector<Rule>> rules_;  // by key name
};

}  // namespace acmezone::plugin
