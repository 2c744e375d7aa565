// The SOA record of the claimed zones: see soa.h for the choice of fields.
#include "plugin/soa.h"

namespace acmezone::plugin {

std::string SoaRecord::rdata_text() const {
    return mname.fqdn() + " " + rname.fqdn() + " " + std::to_string(serial) + " " +
           std::to_string(refresh) + " " + std::to_string(retry) + " " + std::to_string(expire) +
           " " + std::to_string(minimum);
}

std::string SoaRecord::record_text() const {
    return owner.fqdn() + " " + std::to_string(ttl) + " IN SOA " + rdata_text();
}

SoaRecord make_soa(const PluginConfig& config, const DnsName& apex, std::uint32_t serial) {
    SoaRecord soa;
    soa.owner = apex;
    soa.mname = config.nameservers.empty() ? apex : config.nameservers.front();
    soa.rname = config.contact;
    soa.ttl = config.ttl;
    soa.serial = serial;
    soa.minimum = config.ttl;
    return soa;
}

}  // namespace acmezone::plugin
