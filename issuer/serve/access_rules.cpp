// See access_rules.h.
#include "issuer/serve/access_rules.h"

#include <algorithm>
#include <cctype>

namespace acmezone::issuer {
namespace {

std::string lower(std::string s) {
    std::transform(s.begin(), s.end(), s.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return s;
}

}  // namespace

void AccessRules::allow(const DnsName& zone, const std::string& host) {
    names_.emplace(zone.text(), zone);
    by_zone_[zone.text()].hosts.push_back(lower(host));
}

void AccessRules::allow_regex(const DnsName& zone, const std::string& expression) {
    std::regex compiled(expression, std::regex::ECMAScript | std::regex::icase);
    names_.emplace(zone.text(), zone);
    by_zone_[zone.text()].expressions.emplace_back(expression, std::move(compiled));
}

bool AccessRules::allowed(const DnsName& zone, const std::vector<std::string>& client_names) const {
    auto it = by_zone_.find(zone.text());
    if (it == by_zone_.end()) {
        return false;
    }
    const Rules& rules = it->second;
    for (const std::string& raw : client_names) {
        const std::string name = lower(raw);
        if (name.empty()) {
            continue;
        }
        if (std::find(rules.hosts.begin(), rules.hosts.end(), name) != rules.hosts.end()) {
            return true;
        }
        for (const auto& [text, re] : rules.expressions) {
            if (std::regex_match(name, re)) {
                return true;
            }
        }
    }
    return false;
}

std::vector<DnsName> AccessRules::zones() const {
    std::vector<DnsName> out;
    for (const auto& [text, name] : names_) {
        out.push_back(name);
    }
    return out;
}

}  // namespace acmezone::issuer
