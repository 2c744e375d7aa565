// The issuer's catalog members: see catalog_zones.h.
#include "issuer/cli/catalog_zones.h"

#include <algorithm>
#include <set>

#include "common/axfr_client.h"
#include "common/catalog_zone.h"
#include "common/file_io.h"
#include "common/log.h"
#include "common/name_path.h"

namespace acmezone::issuer {
namespace {

namespace fs = std::filesystem;

constexpr std::chrono::seconds kTransferTimeout{10};

fs::path state_file(const IssuerConfig& c, const DnsName& catalog, const char* what) {
    return c.state_dir / ("catalog-" + path_component(catalog) + what);
}

std::optional<std::vector<CatalogMember>> saved_members(const fs::path& file) {
    std::error_code ec;
    if (!fs::exists(file, ec)) {
        return std::nullopt;
    }
    std::string error;
    auto members = parse_members(read_file(file), &error);
    if (!members) {
        log_warning(file.string(), ": ", error, " (ignored)");
    }
    return members;
}

std::set<DnsName> read_left(const fs::path& file) {
    std::set<DnsName> out;
    std::error_code ec;
    if (!fs::exists(file, ec)) {
        return out;
    }
    std::string text = read_file(file);
    std::size_t start = 0;
    while (start < text.size()) {
        const auto nl = text.find('\n', start);
        const std::string line = text.substr(start, nl == std::string::npos ? nl : nl - start);
        if (auto z = DnsName::try_parse(line); z && !z->is_root()) {
            out.insert(*z);
        }
        if (nl == std::string::npos) {
            break;
        }
        start = nl + 1;
    }
    return out;
}

// The member set in force: transferred and saved, or the saved one.
std::vector<CatalogMember> current_members(const IssuerConfig& c,
                                           const IssuerConfig::Catalog& cat) {
    const fs::path members_file = state_file(c, cat.zone, ".members");
    const auto saved = saved_members(members_file);
    try {
        const auto records =
            transfer_zone(cat.server, cat.zone, cat.key ? &*cat.key : nullptr, kTransferTimeout);
        std::vector<const ldns_rr*> view;
        for (const auto& rr : records) {
            view.push_back(rr.get());
        }
        CatalogParse parsed = parse_catalog(cat.zone, view);
        if (!parsed.ok) {
            throw std::runtime_error("refused: " + parsed.error);
        }
        // Zones that left since the saved set: remembered; zones back: forgotten.
        const fs::path left_file = state_file(c, cat.zone, ".left");
        std::set<DnsName> left = read_left(left_file);
        const std::size_t left_before = left.size();
        std::set<DnsName> now;
        for (const auto& m : parsed.members) {
            now.insert(m.zone);
        }
        for (const auto& m : saved.value_or(std::vector<CatalogMember>{})) {
            if (now.count(m.zone) == 0 && left.insert(m.zone).second) {
                log_info("catalog ", cat.zone.text(), ": ", m.zone.text(),
                         " left the catalog: no longer renewed; its certificates stay in ",
                         (c.certs_dir / path_component(m.zone)).string());
            }
        }
        std::erase_if(left, [&](const DnsName& z) { return now.count(z) > 0; });
        fs::create_directories(c.state_dir);
        write_file_atomic(members_file, format_members(parsed.members), 0600);
        if (left.size() != left_before || !left.empty()) {
            std::string text;
            for (const auto& z : left) {
                text += z.text() + "\n";
            }
            write_file_atomic(left_file, text, 0600);
        }
        log_info("catalog ", cat.zone.text(), ": ", parsed.members.size(), " member(s), serial ",
                 parsed.serial);
        return std::move(parsed.members);
    } catch (const std::exception& e) {
        log_warning(
            "catalog ", cat.zone.text(), ": ", e.what(), "; using the ",
            saved ? std::to_string(saved->size()) + " member(s) saved in " + members_file.string()
                  : std::string("no members (none saved yet)"));
        return saved.value_or(std::vector<CatalogMember>{});
    }
}

bool wanted(const IssuerConfig::Catalog& cat, const CatalogMember& m) {
    if (cat.groups.empty()) {
        return true;
    }
    return std::any_of(cat.groups.begin(), cat.groups.end(), [&](const std::string& g) {
        return std::binary_search(m.groups.begin(), m.groups.end(), g);
    });
}

}  // namespace

void add_catalog_members(IssuerConfig& config) {
    for (const auto& cat : config.catalogs) {
        for (const CatalogMember& m : current_members(config, cat)) {
            if (!wanted(cat, m) ||
                std::find(config.zones.begin(), config.zones.end(), m.zone) != config.zones.end()) {
                continue;
            }
            config.zones.push_back(m.zone);
            config.catalog_of.emplace(m.zone, cat.zone);
            if (m.coo) {
                config.coo_of.emplace(m.zone, *m.coo);
            }
        }
        for (const DnsName& z : read_left(state_file(config, cat.zone, ".left"))) {
            if (std::find(config.zones.begin(), config.zones.end(), z) == config.zones.end()) {
                config.left.push_back({z, cat.zone});
            }
        }
    }
}

}  // namespace acmezone::issuer
