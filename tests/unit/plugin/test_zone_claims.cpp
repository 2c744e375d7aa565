// ZoneClaims: which names the plugin serves (plugin/zone_claims.h).
#include <gtest/gtest.h>

#include "plugin/zone_claims.h"

namespace acmezone::plugin {
namespace {

DnsName N(const char* text) {
    return DnsName::parse(text);
}

class ZoneClaimsTest : public ::testing::Test {
  protected:
    ZoneClaims claims{{N("example.com"), N("example.org")}, {N("acme.example.net")}};
};

TEST_F(ZoneClaimsTest, ChallengeNamesAtAndUnderAZoneAreApexes) {
    EXPECT_TRUE(claims.is_apex(N("_acme-challenge.example.com")));
    EXPECT_TRUE(claims.is_apex(N("_acme-challenge.www.example.com")));
    EXPECT_TRUE(claims.is_apex(N("_acme-challenge.a.b.c.example.org")));
}

TEST_F(ZoneClaimsTest, OtherNamesAreNotApexes) {
    EXPECT_FALSE(claims.is_apex(N("example.com")));
    EXPECT_FALSE(claims.is_apex(N("www.example.com")));
    EXPECT_FALSE(claims.is_apex(N("_acme-challenge.com")));           // com is above the zone
    EXPECT_FALSE(claims.is_apex(N("_acme-challenge.example.info")));  // not configured
    EXPECT_FALSE(claims.is_apex(N("x._acme-challenge.example.com")));
    EXPECT_FALSE(claims.is_apex(N("_acme-challengex.example.com")));
    EXPECT_FALSE(claims.is_apex(N("foo.acme.example.net")));
    EXPECT_FALSE(claims.is_apex(N("example.net")));
}

TEST_F(ZoneClaimsTest, ChallengeZoneIsAnApex) {
    EXPECT_TRUE(claims.is_apex(N("acme.example.net")));
    EXPECT_TRUE(claims.is_challenge_zone(N("acme.example.net")));
    EXPECT_FALSE(claims.is_challenge_zone(N("_acme-challenge.example.com")));
}

TEST_F(ZoneClaimsTest, ApexOfFindsTheNearestServedZone) {
    EXPECT_EQ(claims.apex_of(N("_acme-challenge.www.example.com")),
              N("_acme-challenge.www.example.com"));
    EXPECT_EQ(claims.apex_of(N("x._acme-challenge.example.com")), N("_acme-challenge.example.com"));
    EXPECT_EQ(claims.apex_of(N("a.b.acme.example.net")), N("acme.example.net"));
    EXPECT_EQ(claims.apex_of(N("www.example.com")), std::nullopt);
    EXPECT_EQ(claims.apex_of(N("example.net")), std::nullopt);
}

TEST_F(ZoneClaimsTest, QuotaZoneOfIsTheConfiguredZoneOrChallengeZone) {
    // Every _acme-challenge.N under example.com is its own apex, but all of
    // them share the configured zone's quota.
    EXPECT_EQ(claims.quota_zone_of(N("_acme-challenge.www.example.com")), N("example.com"));
    EXPECT_EQ(claims.quota_zone_of(N("_acme-challenge.a.b.example.com")), N("example.com"));
    EXPECT_EQ(claims.quota_zone_of(N("_acme-challenge.example.com")), N("example.com"));
    EXPECT_EQ(claims.quota_zone_of(N("a.b.acme.example.net")), N("acme.example.net"));
    EXPECT_EQ(claims.quota_zone_of(N("www.example.com")), std::nullopt);
}

TEST_F(ZoneClaimsTest, MatchTellsFindzonedbWhatToAnswer) {
    using M = ZoneClaims::Match;
    EXPECT_EQ(claims.match("_acme-challenge.example.com"), M::apex);
    EXPECT_EQ(claims.match("acme.example.net"), M::apex);
    EXPECT_EQ(claims.match("x.y.acme.example.net"), M::inside);
    EXPECT_EQ(claims.match("x._acme-challenge.example.com"), M::inside);
    // named asks longest first: none of these or their ancestors is served.
    EXPECT_EQ(claims.match("www.example.com"), M::none);
    EXPECT_EQ(claims.match("example.com"), M::none);
    EXPECT_EQ(claims.match("com"), M::none);
    EXPECT_EQ(claims.match("_acme-challenge.nothing.test"), M::none);
    EXPECT_EQ(claims.match(""), M::none);
}

TEST_F(ZoneClaimsTest, NothingBelowIsTrueOnlyWhereNoApexCanFollow) {
    EXPECT_FALSE(claims.nothing_below(N("com")));  // above example.com
    EXPECT_FALSE(claims.nothing_below(N("example.com")));
    EXPECT_FALSE(claims.nothing_below(N("www.example.com")));  // _acme-challenge.www below
    EXPECT_FALSE(claims.nothing_below(N("net")));
    EXPECT_FALSE(claims.nothing_below(N("acme.example.net")));
    EXPECT_TRUE(claims.nothing_below(N("foo.acme.example.net")));
    EXPECT_TRUE(claims.nothing_below(N("other.net")));
    EXPECT_TRUE(claims.nothing_below(N("example.info")));
}

TEST(ZoneClaims, OverlappingClaimsPreferTheLongerZone) {
    ZoneClaims claims({N("example.com")}, {N("acme.example.com")});
    EXPECT_EQ(claims.apex_of(N("_acme-challenge.acme.example.com")),
              N("_acme-challenge.acme.example.com"));
    EXPECT_EQ(claims.apex_of(N("x.acme.example.com")), N("acme.example.com"));
    EXPECT_TRUE(claims.is_apex(N("acme.example.com")));
}

TEST(ZoneClaims, LongNamesAreBounded) {
    ZoneClaims claims({N("example.com")}, {});
    std::string name;
    for (int i = 0; i < 60; ++i) {
        name += "a.";
    }
    name += "_acme-challenge.example.com";
    EXPECT_EQ(claims.match(name), ZoneClaims::Match::inside);  // below _acme-challenge.example.com
    std::string huge(2000, 'a');
    EXPECT_EQ(claims.match(huge), ZoneClaims::Match::none);
}

}  // namespace
TEST(ZoneClaims, CatalogMembersAreClaimedLikeZonesUntilTheyLeave) {
    const auto n = [](const char* t) { return DnsName::parse(t); };
    ZoneClaims claims({n("example.com")}, {});
    EXPECT_EQ(claims.match("_acme-challenge.member.example"), ZoneClaims::Match::none);
    EXPECT_TRUE(claims.nothing_below(n("example")));
    claims.set_members({{n("catalog.example"), {n("member.example"), n("b.example.org")}}});
    EXPECT_EQ(claims.member_count(), 2u);
    EXPECT_EQ(claims.match("_acme-challenge.member.example"), ZoneClaims::Match::apex);
    EXPECT_EQ(claims.match("_acme-challenge.www.member.example"), ZoneClaims::Match::apex);
    EXPECT_EQ(claims.match("x._acme-challenge.member.example"), ZoneClaims::Match::inside);
    EXPECT_EQ(claims.match("www.member.example"), ZoneClaims::Match::none);
    EXPECT_FALSE(claims.nothing_below(n("example")));
    EXPECT_FALSE(claims.nothing_below(n("org")));
    EXPECT_EQ(claims.quota_zone_of(n("_acme-challenge.www.member.example")), n("member.example"));
    EXPECT_TRUE(claims.is_under_member_of(n("www.member.example"), n("catalog.example")));
    EXPECT_FALSE(claims.is_under_member_of(n("www.member.example"), n("other.example")));
    // The configured zone stays whatever the members are.
    claims.set_members({});
    EXPECT_EQ(claims.match("_acme-challenge.member.example"), ZoneClaims::Match::none);
    EXPECT_TRUE(claims.nothing_below(n("org")));
    EXPECT_EQ(claims.match("_acme-challenge.example.com"), ZoneClaims::Match::apex);
}

}  // namespace acmezone::plugin
