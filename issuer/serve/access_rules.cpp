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

// `lower` (lower-case) and `name` equal but for the case of `name`'s letters.
bool equal_ignoring_case(const std::string& lower, const std::string& name) {
    return lower.size() == name.size() &&
           std::equal(lower.begin(), lower.end(), name.begin(), [](char l, char c) {
               return l == static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
           });
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
    for (const std::string& name : client_names) {
        if (name.empty()) {
            continue;
        }
        // `hosts` are lower-case: compared without a lower-case copy per request.
        if (std::any_of(rules.hosts.begin(), rules.hosts.end(),
                        [&](const std::string& h) { return equal_ignoring_case(h, name); })) {
            return true;
        }
        if (rules.expressions.empty()) {
            continue;
        }
        const std::string lowered = lower(name);
        for (const auto& [text, re] : rules.expressions) {
            if (std::regex_match(lowered, re)) {
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
