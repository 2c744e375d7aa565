// Which hosts may fetch which zone's keys: [serve] allow and allow-regex.
//
//     allow = example.com web1.example.net web2.example.net
//     allow-regex = example.com ^cp[0-9]+\.eqiad\.wmnet$
//
// A host is named by its client certificate (client_identity.h): its DNS
// SANs, or its CN when it has none, lower-case. It may fetch a zone when one
// of its names equals one of the zone's `allow` names (case-insensitive) or
// matches one of its `allow-regex` expressions over the whole name
// (std::regex_match, ECMAScript, case-insensitive; compiled once, when the
// configuration is loaded). Nothing is allowed by default.
#pragma once

#include <map>
#include <regex>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/dns_name.h"

namespace acmezone::issuer {

class AccessRules {
  public:
    // Lower-cases `host`.
    void allow(const DnsName& zone, const std::string& host);
    // Throws std::regex_error for an expression std::regex refuses.
    void allow_regex(const DnsName& zone, const std::string& expression);

    // Whether a client with these names may fetch `zone`.
    bool allowed(const DnsName& zone, const std::vector<std::string>& client_names) const;
    // Zones with at least one rule (for checking them against [zones]).
    std::vector<DnsName> zones() const;

  private:
    struct Rules {
        std::vector<std::string> hosts;
        std::vector<std::pair<std::string, std::regex>> expressions;  // text, compiled
    };
    std::unordered_map<std::string, Rules> by_zone_;  // by DnsName::text(), looked up per request
    std::map<std::string, DnsName> names_;
};

}  // namespace acmezone::issuer
