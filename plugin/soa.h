// The SOA record of every zone the plugin claims, built in one place.
//
// Both the DLZ side (dlz_authority, dlz_allnodes: plugin-serving) and the
// control socket (SOA queries from nsupdate/certbot: control_server) answer
// with this record, so a secondary, a resolver and an RFC 2136 client all see
// the same fields. Call make_soa(); do not assemble SOA fields elsewhere.
//
// Fields:
//   MNAME    the first `nameserver` of the config
//   RNAME    `contact`
//   SERIAL   the store's serial (one counter for all claimed zones)
//   REFRESH  300, RETRY 60: secondaries get NOTIFY, these are a fallback
//   EXPIRE   86400: values live minutes; a day without the primary is plenty
//   MINIMUM  `ttl`: negative answers are cached no longer than values live
//   TTL      `ttl`
#pragma once

#include <cstdint>
#include <string>

#include "common/dns_name.h"
#include "plugin/plugin_config.h"

namespace acmezone::plugin {

struct SoaRecord {
    DnsName owner;  // the claimed apex
    DnsName mname;
    DnsName rname;
    std::uint32_t ttl = 0;
    std::uint32_t serial = 1;
    std::uint32_t refresh = 300;
    std::uint32_t retry = 60;
    std::uint32_t expire = 86400;
    std::uint32_t minimum = 0;

    // Master-file RDATA with absolute names, as dlz putrr wants it:
    // "ns1.example.com. hostmaster.example.com. 7 300 60 86400 0".
    std::string rdata_text() const;
    // The whole record: "<owner>. <ttl> IN SOA <rdata_text()>" (for ldns_rr_new_frm_str).
    std::string record_text() const;
};

// Precondition: config.nameservers is not empty (plugin_config guarantees it).
SoaRecord make_soa(const PluginConfig& config, const DnsName& apex, std::uint32_t serial);

}  // namespace acmezone::plugin
