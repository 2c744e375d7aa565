// What acmezone-fetch remembers between runs, for `acmezone-fetch status`:
// per zone, the last fetch (when, from which server), the last success and
// the last error. A small JSON file in the target directory,
// TARGET/.fetch-state.json, replaced atomically (common/file_io.h) after each
// zone's fetch; the installed versions and expiry are read from the store
// itself, never from this file. A missing or unreadable file reads as empty
// (the next fetch writes it again).
#pragma once

#include <filesystem>
#include <map>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "common/dns_name.h"

namespace acmezone::issuer {

struct ZoneFetchRecord {
    std::string last_fetch;    // UTC time of the last attempt, "" never
    std::string last_success;  // of the last attempt that ended well
    std::string last_error;    // "" when the last attempt ended well
    std::string server;        // that answered last
};

using FetchState = std::map<std::string, ZoneFetchRecord>;  // by zone name

std::filesystem::path fetch_state_path(const std::filesystem::path& target);
FetchState parse_fetch_state(std::string_view text);
FetchState read_fetch_state(const std::filesystem::path& target);
void write_fetch_state(const std::filesystem::path& target, const FetchState& state);

// `acmezone-fetch status`: each zone (`zones`, then any other the state
// names): installed version, expiry, last fetch, success and error. Returns
// 0 when every zone is installed and its last fetch ended well, else 1.
int print_fetch_status(const std::filesystem::path& target, const std::vector<DnsName>& zones,
                       bool json, std::ostream& out);

}  // namespace acmezone::issuer
