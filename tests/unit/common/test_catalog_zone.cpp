// parse_catalog (RFC 9432): a good catalog with groups, coo and properties
// acmezone ignores; each refusal with the record it names; the member set's
// state-file text round trip.
#include "common/catalog_zone.h"

#include <gtest/gtest.h>

#include <initializer_list>
#include <string>
#include <vector>

#include "common/ldns_ptr.h"

using namespace acmezone;

namespace {

const DnsName kCatalog = DnsName::parse("catalog.example");

// Records from master-file lines (absolute names), as a transfer gives them.
class Records {
  public:
    Records(std::initializer_list<const char*> lines) {
        for (const char* line : lines) {
            ldns_rr* rr = nullptr;
            EXPECT_EQ(ldns_rr_new_frm_str(&rr, line, 3600, nullptr, nullptr), LDNS_STATUS_OK)
                << line;
            owned_.emplace_back(rr);
            ptrs_.push_back(rr);
        }
    }
    std::span<const ldns_rr* const> span() const { return ptrs_; }

  private:
    std::vector<LdnsRr> owned_;
    std::vector<const ldns_rr*> ptrs_;
};

const char* kSoa = "catalog.example. 0 IN SOA invalid. invalid. 7 3600 600 86400 0";
const char* kNs = "catalog.example. 0 IN NS invalid.";
const char* kVersion = "version.catalog.example. 0 IN TXT \"2\"";

CatalogParse parse(std::initializer_list<const char*> lines) {
    Records r(lines);
    return parse_catalog(kCatalog, r.span());
}

}  // namespace

TEST(CatalogZone, ReadsMembersGroupsAndCoo) {
    const CatalogParse p = parse({
        kSoa,
        kNs,
        kVersion,
        "m1.zones.catalog.example. 0 IN PTR Example.COM.",
        "group.m1.zones.catalog.example. 0 IN TXT \"web\"",
        "group.m1.zones.catalog.example. 0 IN TXT \"mail\"",
        "m2.zones.catalog.example. 0 IN PTR example.net.",
        "coo.m2.zones.catalog.example. 0 IN PTR new-catalog.example.",
        "unknown.m2.zones.catalog.example. 0 IN A 192.0.2.1",
        "ext.catalog.example. 0 IN PTR custom.example.",
        "serial.ext.catalog.example. 0 IN TXT \"x\"",
        kSoa,
    });
    ASSERT_TRUE(p.ok) << p.error;
    EXPECT_EQ(p.serial, 7u);
    EXPECT_EQ(p.refresh, 3600u);
    ASSERT_EQ(p.members.size(), 2u);
    EXPECT_EQ(p.members[0].zone.text(), "example.com");
    EXPECT_EQ(p.members[0].id, "m1");
    EXPECT_EQ(p.members[0].groups, (std::vector<std::string>{"mail", "web"}));
    EXPECT_FALSE(p.members[0].coo);
    EXPECT_EQ(p.members[1].zone.text(), "example.net");
    ASSERT_TRUE(p.members[1].coo);
    EXPECT_EQ(p.members[1].coo->text(), "new-catalog.example");
    EXPECT_EQ(members_in_group(p.members, "web").size(), 1u);
    EXPECT_TRUE(members_in_group(p.members, "db").empty());
}

TEST(CatalogZone, AnEmptyCatalogHasNoMembers) {
    const CatalogParse p = parse({kSoa, kNs, kVersion});
    ASSERT_TRUE(p.ok) << p.error;
    EXPECT_TRUE(p.members.empty());
}

TEST(CatalogZone, RefusesAMissingVersion) {
    const CatalogParse p = parse({kSoa, "m1.zones.catalog.example. 0 IN PTR example.com."});
    EXPECT_FALSE(p.ok);
    EXPECT_EQ(p.error,
              "catalog catalog.example: no version property: expected TXT \"2\" at "
              "version.catalog.example.");
}

TEST(CatalogZone, RefusesAnotherVersion) {
    const CatalogParse p = parse({kSoa, "version.catalog.example. 0 IN TXT \"1\""});
    EXPECT_FALSE(p.ok);
    EXPECT_EQ(p.error,
              "catalog catalog.example: unsupported catalog version \"1\" at "
              "version.catalog.example. (acmezone reads version \"2\", RFC 9432)");
}

TEST(CatalogZone, RefusesTwoVersions) {
    const CatalogParse p = parse({kSoa, kVersion, "version.catalog.example. 0 IN TXT \"1\""});
    EXPECT_FALSE(p.ok);
    EXPECT_NE(p.error.find("2 TXT records at version.catalog.example."), std::string::npos)
        << p.error;
}

TEST(CatalogZone, RefusesADuplicateMember) {
    const CatalogParse p = parse({kSoa, kVersion, "a.zones.catalog.example. 0 IN PTR example.com.",
                                  "b.zones.catalog.example. 0 IN PTR EXAMPLE.com."});
    EXPECT_FALSE(p.ok);
    EXPECT_EQ(p.error,
              "catalog catalog.example: the zone example.com. is listed twice, at "
              "a.zones.catalog.example. and at b.zones.catalog.example.: member zone names "
              "must be unique");
}

TEST(CatalogZone, RefusesTwoPtrsAtOneMemberNode) {
    const CatalogParse p = parse({kSoa, kVersion, "a.zones.catalog.example. 0 IN PTR example.com.",
                                  "a.zones.catalog.example. 0 IN PTR example.net."});
    EXPECT_FALSE(p.ok);
    EXPECT_NE(p.error.find("2 PTR records at a.zones.catalog.example.: a member node holds "
                           "exactly one"),
              std::string::npos)
        << p.error;
}

TEST(CatalogZone, RefusesAPtrOutsideZones) {
    const CatalogParse p =
        parse({kSoa, kVersion, "m1.zonez.catalog.example. 0 IN PTR example.com."});
    EXPECT_FALSE(p.ok);
    EXPECT_EQ(p.error,
              "catalog catalog.example: the PTR at m1.zonez.catalog.example. is outside "
              "zones.catalog.example.: member zones are listed as "
              "<unique-id>.zones.catalog.example.");
}

TEST(CatalogZone, RefusesAPtrAtZonesItself) {
    const CatalogParse p = parse({kSoa, kVersion, "zones.catalog.example. 0 IN PTR example.com."});
    EXPECT_FALSE(p.ok);
    EXPECT_NE(p.error.find("the PTR at zones.catalog.example. is outside"), std::string::npos)
        << p.error;
}

TEST(CatalogZone, RefusesARecordOutsideTheCatalog) {
    const CatalogParse p = parse({kSoa, kVersion, "www.example.com. 0 IN A 192.0.2.1"});
    EXPECT_FALSE(p.ok);
    EXPECT_EQ(p.error,
              "catalog catalog.example: the record at www.example.com. lies outside the "
              "catalog catalog.example.");
}

TEST(CatalogZone, RefusesARootMember) {
    const CatalogParse p = parse({kSoa, kVersion, "m1.zones.catalog.example. 0 IN PTR ."});
    EXPECT_FALSE(p.ok);
    EXPECT_NE(p.error.find("the PTR at m1.zones.catalog.example. points to ."), std::string::npos)
        << p.error;
}

TEST(CatalogZone, RefusesAnEscapedMemberName) {
    const CatalogParse p =
        parse({kSoa, kVersion, "m1.zones.catalog.example. 0 IN PTR ex\\032ample.com."});
    EXPECT_FALSE(p.ok);
    EXPECT_NE(p.error.find("not a zone name acmezone can use"), std::string::npos) << p.error;
}

TEST(CatalogZone, RefusesTwoCoos) {
    const CatalogParse p = parse({kSoa, kVersion, "a.zones.catalog.example. 0 IN PTR example.com.",
                                  "coo.a.zones.catalog.example. 0 IN PTR c1.example.",
                                  "coo.a.zones.catalog.example. 0 IN PTR c2.example."});
    EXPECT_FALSE(p.ok);
    EXPECT_NE(p.error.find("2 coo PTR records at coo.a.zones.catalog.example."), std::string::npos)
        << p.error;
}

TEST(CatalogZone, PropertiesWithoutAMemberAreIgnored) {
    const CatalogParse p =
        parse({kSoa, kVersion, "group.orphan.zones.catalog.example. 0 IN TXT \"web\""});
    ASSERT_TRUE(p.ok) << p.error;
    EXPECT_TRUE(p.members.empty());
}

TEST(CatalogZone, MembersRoundTripThroughTheirText) {
    CatalogMember a{DnsName::parse("example.com"), "m1", {"a b", "w%e\tb"}, std::nullopt};
    CatalogMember b{DnsName::parse("example.net"), "m2", {}, DnsName::parse("c.example")};
    const std::string text = format_members({a, b});
    std::string error;
    const auto back = parse_members(text, &error);
    ASSERT_TRUE(back) << error;
    EXPECT_EQ(*back, (std::vector<CatalogMember>{a, b}));
    EXPECT_FALSE(parse_members("example.com\tm1\n", &error));
    EXPECT_EQ(error, "line 1: expected zone, id and coo separated by TABs");
    EXPECT_FALSE(parse_members("example.com\tm1\t-", &error));
    EXPECT_EQ(error, "line 1: no new line at the end (a torn write?)");
    EXPECT_TRUE(parse_members("", &error));
}
