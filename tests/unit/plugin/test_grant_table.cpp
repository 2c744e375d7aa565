// Per-key scope: zonesub on a zone, zonesub on a challenge-zone, name grants.
#include "plugin/grant_table.h"

#include <gtest/gtest.h>

namespace acmezone::plugin {
namespace {

DnsName n(const char* text) {
    return DnsName::parse(text);
}

class GrantTableTest : public ::testing::Test {
  protected:
    ZoneClaims claims{{n("example.com"), n("example.org")}, {n("acme.example.net")}};
    GrantTable table{{Grant{n("acme-key"), Grant::Kind::zonesub, n("example.com")},
                      Grant{n("acme-key"), Grant::Kind::zonesub, n("acme.example.net")},
                      Grant{n("lab-key"), Grant::Kind::name, n("_acme-challenge.www.example.com")},
                      Grant{n("odd-key"), Grant::Kind::zonesub, n("unclaimed.example")}},
                     claims};
};

TEST_F(GrantTableTest, ZonesubOnAZoneCoversChallengeNamesOnly) {
    EXPECT_TRUE(table.allows(n("acme-key"), n("_acme-challenge.example.com")));
    EXPECT_TRUE(table.allows(n("acme-key"), n("_acme-challenge.www.example.com")));
    EXPECT_TRUE(table.allows(n("acme-key"), n("_acme-challenge.a.b.example.com")));
    EXPECT_FALSE(table.allows(n("acme-key"), n("example.com")));
    EXPECT_FALSE(table.allows(n("acme-key"), n("www.example.com")));
    EXPECT_FALSE(table.allows(n("acme-key"), n("x._acme-challenge.example.com")));
    EXPECT_FALSE(table.allows(n("acme-key"), n("_acme-challenge.example.org")));  // other zone
    EXPECT_FALSE(table.allows(n("acme-key"), n("_acme-challenge.com")));          // above it
}

TEST_F(GrantTableTest, ZonesubOnAChallengeZoneCoversTheWholeZone) {
    EXPECT_TRUE(table.allows(n("acme-key"), n("acme.example.net")));
    EXPECT_TRUE(table.allows(n("acme-key"), n("x.acme.example.net")));
    EXPECT_TRUE(table.allows(n("acme-key"), n("a.b.c.acme.example.net")));
    EXPECT_FALSE(table.allows(n("acme-key"), n("example.net")));
    EXPECT_FALSE(table.allows(n("acme-key"), n("xacme.example.net")));
}

TEST_F(GrantTableTest, NameGrantCoversExactlyThatName) {
    EXPECT_TRUE(table.allows(n("lab-key"), n("_acme-challenge.www.example.com")));
    EXPECT_FALSE(table.allows(n("lab-key"), n("_acme-challenge.example.com")));
    EXPECT_FALSE(table.allows(n("lab-key"), n("x._acme-challenge.www.example.com")));
    EXPECT_FALSE(table.allows(n("lab-key"), n("_acme-challenge.a.www.example.com")));
}

TEST_F(GrantTableTest, KeysWithoutGrantsOrWithUnclaimedTargetsGetNothing) {
    EXPECT_FALSE(table.allows(n("nobody"), n("_acme-challenge.example.com")));
    EXPECT_FALSE(table.allows(n("odd-key"), n("unclaimed.example")));
    EXPECT_FALSE(table.allows(n("odd-key"), n("_acme-challenge.unclaimed.example")));
}

TEST_F(GrantTableTest, FirstDeniedNamesTheOffendingName) {
    EXPECT_EQ(table.first_denied(n("lab-key"), {n("_acme-challenge.www.example.com")}),
              std::nullopt);
    const auto denied = table.first_denied(
        n("lab-key"), {n("_acme-challenge.www.example.com"), n("_acme-challenge.example.com")});
    ASSERT_TRUE(denied);
    EXPECT_EQ(denied->text(), "_acme-challenge.example.com");
    // Key names compare case-insensitively (DnsName is canonical).
    EXPECT_TRUE(table.allows(n("ACME-Key"), n("_ACME-challenge.Example.COM")));
}

TEST(GrantTableCatalog, CatalogGrantFollowsTheMembersAsTheyChange) {
    ZoneClaims claims{{n("example.com")}, {}};
    GrantTable table{{Grant{n("cat-key"), Grant::Kind::catalog, n("catalog.example")}}, claims};
    EXPECT_FALSE(table.allows(n("cat-key"), n("_acme-challenge.member.example")));
    claims.set_members({{n("catalog.example"), {n("member.example")}},
                        {n("other-catalog.example"), {n("other.example")}}});
    EXPECT_TRUE(table.allows(n("cat-key"), n("_acme-challenge.member.example")));
    EXPECT_TRUE(table.allows(n("cat-key"), n("_acme-challenge.www.member.example")));
    EXPECT_FALSE(table.allows(n("cat-key"), n("member.example")));
    EXPECT_FALSE(table.allows(n("cat-key"), n("_acme-challenge.other.example")));  // other catalog
    EXPECT_FALSE(table.allows(n("cat-key"), n("_acme-challenge.example.com")));    // a zone line
    claims.set_members({});
    EXPECT_FALSE(table.allows(n("cat-key"), n("_acme-challenge.member.example")));
}

}  // namespace
}  // namespace acmezone::plugin
