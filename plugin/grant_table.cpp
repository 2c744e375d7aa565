// Per-key scope of the control socket: see grant_table.h.
#include "plugin/grant_table.h"

namespace acmezone::plugin {

GrantTable::GrantTable(const std::vector<Grant>& grants, const ZoneClaims& claims)
    : claims_(claims) {
    for (const Grant& g : grants) {
        Scope scope = Scope::exact;
        if (g.kind == Grant::Kind::catalog) {
            scope = Scope::catalog_members;
        } else if (g.kind == Grant::Kind::zonesub) {
            if (claims.is_challenge_zone(g.target)) {
                scope = Scope::subtree;
            } else if (claims.is_apex(g.target.child(kChallengeLabel))) {
                scope = Scope::challenge_names_under;
            } else {
                scope = Scope::none;
            }
        }
        rules_[g.key].push_back(Rule{scope, g.target});
    }
}

bool GrantTable::allows(const DnsName& key, const DnsName& name) const {
    const auto it = rules_.find(key);
    if (it == rules_.end()) {
        return false;
    }
    for (const Rule& r : it->second) {
        switch (r.scope) {
            case Scope::exact:
                if (name == r.target) {
                    return true;
                }
                break;
            case Scope::subtree:
                if (name.is_at_or_below(r.target)) {
                    return true;
                }
                break;
            case Scope::challenge_names_under: {
                const auto labels = name.labels();
                const auto parent = name.parent();
                if (!labels.empty() && labels.front() == kChallengeLabel && parent &&
                    parent->is_at_or_below(r.target)) {
                    return true;
                }
                break;
            }
            case Scope::catalog_members: {
                const auto labels = name.labels();
                const auto parent = name.parent();
                if (!labels.empty() && labels.front() == kChallengeLabel && parent &&
                    claims_.is_under_member_of(*parent, r.target)) {
                    return true;
                }
                break;
            }
            case Scope::none:
                break;
        }
    }
    return false;
}

std::optional<DnsName> GrantTable::first_denied(const DnsName& key,
                                                const std::vector<DnsName>& names) const {
    for (const DnsName& n : names) {
        if (!allows(key, n)) {
            return n;
        }
    }
    return std::nullopt;
}

}  // namespace acmezone::plugin
