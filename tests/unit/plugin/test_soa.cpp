// The one SOA construction (plugin/soa.h) shared by dlz_authority and the
// control socket; the text must parse as a record for ldns and named alike.
#include "plugin/soa.h"

#include "tests/unit/control_packets.h"

namespace acmezone::plugin {
namespace {

TEST(Soa, FieldsComeFromTheConfigAndTheSerial) {
    PluginConfig config;
    config.nameservers = {DnsName::parse("ns1.example.com"), DnsName::parse("ns2.example.com")};
    config.contact = DnsName::parse("hostmaster.example.com");
    config.ttl = 5;
    const SoaRecord soa = make_soa(config, DnsName::parse("_acme-challenge.example.com"), 42);
    EXPECT_EQ(soa.rdata_text(), "ns1.example.com. hostmaster.example.com. 42 300 60 86400 5");
    EXPECT_EQ(soa.ttl, 5u);
    EXPECT_EQ(soa.minimum, 5u);  // negative answers cached no longer than values live

    ldns_rr* rr = testing::rr_from(soa.record_text());
    LdnsRr owned(rr);
    EXPECT_EQ(ldns_rr_get_type(rr), LDNS_RR_TYPE_SOA);
    EXPECT_EQ(ldns_rr_ttl(rr), 5u);
    EXPECT_EQ(ldns_rdf2native_int32(ldns_rr_rdf(rr, 2)), 42u);
    char* owner = ldns_rdf2str(ldns_rr_owner(rr));
    EXPECT_STREQ(owner, "_acme-challenge.example.com.");
    std::free(owner);
}

}  // namespace
}  // namespace acmezone::plugin
