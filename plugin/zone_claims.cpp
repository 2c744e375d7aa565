// Which names the plugin serves: see zone_claims.h.
//
// Every question is answered by walking the labels of one name: its
// suffixes are string_views into the name's text, looked up in hash sets
// that accept string_views, so no allocation happens on the query path.
// A name has at most 127 labels, so the walk is bounded.
#include "plugin/zone_claims.h"

#include <array>
#include <cstdint>

namespace acmezone::plugin {

namespace {

// Offsets of each label's first character: "a.bc.d" -> {0, 2, 5}.
struct LabelStarts {
    std::array<std::uint16_t, 128> at{};
    std::size_t count = 0;
};

bool split_labels(std::string_view name, LabelStarts* out) {
    out->count = 0;
    if (name.empty()) {
        return true;  // the root: no labels
    }
    if (name.size() > 255) {
        return false;
    }
    out->at[out->count++] = 0;
    for (std::size_t i = 0; i < name.size(); ++i) {
        if (name[i] == '.') {
            if (out->count == out->at.size()) {
                return false;
            }
            out->at[out->count++] = static_cast<std::uint16_t>(i + 1);
        }
    }
    return true;
}

}  // namespace

ZoneClaims::ZoneClaims(const std::vector<DnsName>& zones,
                       const std::vector<DnsName>& challenge_zones) {
    auto add_ancestors = [this](const DnsName& name) {
        for (auto p = name.parent(); p; p = p->parent()) {
            above_.insert(p->text());
        }
    };
    for (const auto& z : zones) {
        zones_.insert(z.text());
        add_ancestors(z);
    }
    for (const auto& z : challenge_zones) {
        challenge_zones_.insert(z.text());
        add_ancestors(z);
    }
}

bool ZoneClaims::find_apex(std::string_view name, const Members& members,
                           std::string_view* apex) const {
    LabelStarts labels;
    if (!split_labels(name, &labels) || labels.count == 0) {
        return false;
    }
    // under[k]: the suffix starting at label k is at or under a `zone`.
    std::array<bool, 129> under{};
    bool seen = false;
    for (std::size_t k = labels.count; k-- > 0;) {
        seen = seen || is_zone(name.substr(labels.at[k]), members);
        under[k] = seen;
    }
    for (std::size_t k = 0; k < labels.count; ++k) {
        std::string_view suffix = name.substr(labels.at[k]);
        bool found = challenge_zones_.contains(suffix);
        if (!found && k + 1 < labels.count && under[k + 1]) {
            std::string_view first = suffix.substr(0, labels.at[k + 1] - labels.at[k] - 1);
            found = first == kChallengeLabel;
        }
        if (found) {
            *apex = suffix;
            return true;
        }
    }
    return false;
}

ZoneClaims::Match ZoneClaims::match(std::string_view name) const {
    const auto members = members_.load();
    std::string_view apex;
    if (!find_apex(name, *members, &apex)) {
        return Match::none;
    }
    return apex.size() == name.size() ? Match::apex : Match::inside;
}

bool ZoneClaims::is_apex(const DnsName& name) const {
    return match(name.text()) == Match::apex;
}

std::optional<DnsName> ZoneClaims::apex_of(const DnsName& owner) const {
    const auto members = members_.load();
    std::string_view apex;
    if (!find_apex(owner.text(), *members, &apex)) {
        return std::nullopt;
    }
    return DnsName::parse(apex);
}

std::optional<DnsName> ZoneClaims::quota_zone_of(const DnsName& owner) const {
    const auto members = members_.load();
    std::string_view apex;
    if (!find_apex(owner.text(), *members, &apex)) {
        return std::nullopt;
    }
    if (challenge_zones_.contains(apex)) {
        return DnsName::parse(apex);
    }
    // apex is _acme-challenge.N: the nearest configured zone at or above N.
    std::string_view rest = apex.substr(kChallengeLabel.size() + 1);
    for (;;) {  // bounded: each pass drops a label; find_apex saw a zone above
        if (is_zone(rest, *members)) {
            return DnsName::parse(rest);
        }
        const auto dot = rest.find('.');
        if (dot == std::string_view::npos) {
            return std::nullopt;
        }
        rest.remove_prefix(dot + 1);
    }
}

bool ZoneClaims::is_challenge_zone(const DnsName& apex) const {
    return challenge_zones_.contains(apex.text());
}

bool ZoneClaims::nothing_below(const DnsName& name) const {
    const auto members = members_.load();
    const std::string& text = name.text();
    // An ancestor of a zone or challenge-zone has that zone's apexes below it.
    if (above_.contains(text) || members->above.contains(text)) {
        return false;
    }
    // At or under a `zone`: _acme-challenge.<name> is an apex below it.
    LabelStarts labels;
    if (!split_labels(text, &labels)) {
        return true;
    }
    for (std::size_t k = 0; k < labels.count; ++k) {
        if (is_zone(std::string_view(text).substr(labels.at[k]), *members)) {
            return false;
        }
    }
    // A challenge-zone itself is an apex.
    return !challenge_zones_.contains(text);
}

void ZoneClaims::set_members(const std::map<DnsName, std::vector<DnsName>>& members_by_catalog) {
    auto next = std::make_shared<Members>();
    for (const auto& [catalog, zones] : members_by_catalog) {
        for (const DnsName& z : zones) {
            next->zones.insert(z.text());
            next->catalogs[z.text()].push_back(catalog);
            for (auto p = z.parent(); p; p = p->parent()) {
                next->above.insert(p->text());
            }
        }
    }
    members_.store(std::move(next));
}

bool ZoneClaims::is_under_member_of(const DnsName& name, const DnsName& catalog) const {
    const auto members = members_.load();
    std::optional<DnsName> at = name;
    for (; at; at = at->parent()) {  // bounded: one pass per label
        const auto it = members->catalogs.find(at->text());
        if (it != members->catalogs.end()) {
            for (const DnsName& c : it->second) {
                if (c == catalog) {
                    return true;
                }
            }
        }
    }
    return false;
}

std::size_t ZoneClaims::member_count() const {
    return members_.load()->zones.size();
}

}  // namespace acmezone::plugin
