// access_rules: exact names and full-match expressions per zone; nothing is
// allowed by default; a host allowed one zone is not allowed another.
#include <gtest/gtest.h>

#include "issuer/serve/access_rules.h"

using namespace acmezone;
using namespace acmezone::issuer;

namespace {

const DnsName kZone = DnsName::parse("example.com");
const DnsName kOther = DnsName::parse("example.net");

}  // namespace

TEST(AccessRules, NothingIsAllowedByDefault) {
    AccessRules rules;
    EXPECT_FALSE(rules.allowed(kZone, {"web1.example.net"}));
    EXPECT_FALSE(rules.allowed(kZone, {}));
}

TEST(AccessRules, ExactNamesCaseInsensitive) {
    AccessRules rules;
    rules.allow(kZone, "Web1.Example.NET");
    EXPECT_TRUE(rules.allowed(kZone, {"web1.example.net"}));
    EXPECT_TRUE(rules.allowed(kZone, {"other.example.net", "WEB1.example.net"}));
    EXPECT_FALSE(rules.allowed(kZone, {"web1.example.net.evil.org"}));
    EXPECT_FALSE(rules.allowed(kZone, {"xweb1.example.net"}));
    EXPECT_FALSE(rules.allowed(kOther, {"web1.example.net"}));  // per zone
}

TEST(AccessRules, ExpressionsMatchTheWholeName) {
    AccessRules rules;
    rules.allow_regex(kZone, R"(cp[0-9]+\.eqiad\.wmnet)");
    EXPECT_TRUE(rules.allowed(kZone, {"cp1001.eqiad.wmnet"}));
    EXPECT_TRUE(rules.allowed(kZone, {"CP1001.EQIAD.WMNET"}));
    // A partial match is not enough: no prefix, no suffix.
    EXPECT_FALSE(rules.allowed(kZone, {"cp1001.eqiad.wmnet.evil.org"}));
    EXPECT_FALSE(rules.allowed(kZone, {"evil-cp1001.eqiad.wmnet"}));
    EXPECT_FALSE(rules.allowed(kZone, {"cpX.eqiad.wmnet"}));
    EXPECT_FALSE(rules.allowed(kOther, {"cp1001.eqiad.wmnet"}));
}

TEST(AccessRules, AnchoredExpressionsToo) {
    AccessRules rules;
    rules.allow_regex(kZone, R"(^cp[0-9]+\.eqiad\.wmnet$)");
    EXPECT_TRUE(rules.allowed(kZone, {"cp1.eqiad.wmnet"}));
    EXPECT_FALSE(rules.allowed(kZone, {"cp1.eqiad.wmnetx"}));
}

TEST(AccessRules, ABadExpressionIsRefusedWhenAdded) {
    AccessRules rules;
    EXPECT_THROW(rules.allow_regex(kZone, "cp[0-9"), std::regex_error);
    EXPECT_THROW(rules.allow_regex(kZone, "(a"), std::regex_error);
}

TEST(AccessRules, ZonesWithRules) {
    AccessRules rules;
    rules.allow(kZone, "a.example.net");
    rules.allow_regex(kOther, "b.*");
    EXPECT_EQ(rules.zones().size(), 2u);
}
