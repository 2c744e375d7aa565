// What `acmezone-issuer serve` answers, apart from how bytes move (server.h).
//
//     GET /v1/zones          200 {"zones": [{"zone", "version", "not_after"}...]}
//                            the configured zones this host may fetch that have
//                            a version to serve
//     GET /v1/zones/<zone>   200 {"zone", "version", "written", "not_after",
//                                 "default_key_type",
//                                 "keys": {"<key type>": {"cert", "chain",
//                                          "fullchain", "privkey"}...}}
//                            every key type's files of one version, PEM
//                            strings, read from that version's directory (one
//                            consistent set); ETag "<version>"; default_key_type:
//                            the type whose files are also at the version's top
//                            (the first configured one when stored)
//                            304 when If-None-Match names that version
//                            404 {"error": "no such zone"} for a zone that is
//                            not configured, has no version yet, or this host
//                            may not fetch: the same bytes in every case
//
// Which version is served: staging.h. The version is the store's number N of
// .v-N (cert_store.h), growing per zone.
#pragma once

#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "common/dns_name.h"
#include "issuer/certs/cert_store.h"
#include "issuer/cli/issuer_config.h"
#include "issuer/serve/current_links.h"

namespace acmezone::issuer {

struct Answer {
    unsigned status = 404;
    std::string body;     // JSON ("" for 304)
    std::string version;  // "" when none was served
    std::string etag;     // "\"<version>\"" with 200 and 304
};

class ZoneAnswers {
  public:
    // `config.serve` must be set. With `watch_store`, the zones' `current`
    // links are read once and again only when they change (current_links.h:
    // for serve, which asks per request); without, on every question.
    explicit ZoneAnswers(const IssuerConfig& config, bool watch_store = false);
    ZoneAnswers(const ZoneAnswers&) = delete;
    ZoneAnswers& operator=(const ZoneAnswers&) = delete;

    // The version of `zone` served now (staging.h), nullopt when it has none
    // or is not configured.
    std::optional<unsigned long> served_version(const DnsName& zone) const;
    // Whether a host with these names may fetch `zone` (a configured zone).
    bool may_fetch(const DnsName& zone, const std::vector<std::string>& client_names) const;

    Answer zone_list(const std::vector<std::string>& client_names) const;
    Answer zone(const DnsName& zone, const std::vector<std::string>& client_names,
                const std::string& if_none_match) const;
    static Answer not_found();
    static Answer error(unsigned status, const std::string& message);

  private:
    // The notAfter of version `v` of `zone`, its leaf parsed once per version
    // (OpenSSL 3 spends about a millisecond on one certificate).
    std::string not_after(const DnsName& zone, const StoredVersion& v) const;

    std::optional<unsigned long> current_version(const DnsName& zone) const;

    const IssuerConfig& config_;
    CertStore store_;
    // With watch_store. serve answers on one thread (server.h): no lock.
    mutable std::optional<CurrentLinks> links_;
    std::unordered_set<DnsName> configured_;  // config_.zones, looked up per request
    // Per zone: the version whose notAfter is known, and it. serve answers on
    // one thread (server.h), so the cache needs no lock.
    mutable std::unordered_map<DnsName, std::pair<unsigned long, std::string>> not_after_;
    // Version `n` of `zone` read, the key type of a version without key-type
    // subdirectories taken from the last read of that very version (its
    // number and written time) instead of parsing its certificate again.
    std::optional<StoredVersion> read_version(const DnsName& zone, unsigned long n) const;
    struct TopType {
        unsigned long number = 0;
        std::chrono::system_clock::time_point written;
        KeyType type;
    };
    mutable std::unordered_map<DnsName, TopType> top_type_;
};

// Whether an If-None-Match header value names `etag` (a list, weak or not, or *).
bool etag_matches(const std::string& if_none_match, const std::string& etag);

}  // namespace acmezone::issuer
