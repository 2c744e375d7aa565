// path_component / name_of_path_component: one safe file-name component per
// zone name, reversible (issue 20 item 1).
#include <gtest/gtest.h>

#include <stdexcept>

#include "common/name_path.h"

using namespace acmezone;

TEST(NamePath, PlainNamesMapToThemselves) {
    EXPECT_EQ(path_component(DnsName::parse("Example.COM.")), "example.com");
    EXPECT_EQ(path_component(DnsName::parse("_acme-challenge.a-b.example")),
              "_acme-challenge.a-b.example");
}

TEST(NamePath, SlashesAndStarsAreEncoded) {
    EXPECT_EQ(path_component(DnsName::parse("0/25.2.0.192.in-addr.arpa")),
              "0%2f25.2.0.192.in-addr.arpa");
    EXPECT_EQ(path_component(DnsName::parse("/var/lib/acmezone/ca-failover")),
              "%2fvar%2flib%2facmezone%2fca-failover");
    EXPECT_EQ(path_component(DnsName::parse("/etc/cron.d/x")), "%2fetc%2fcron.d%2fx");
    EXPECT_EQ(path_component(DnsName::parse("*.example.com")), "%2a.example.com");
}

TEST(NamePath, EveryComponentIsOneSafeComponent) {
    for (const char* text : {"/", "//", "a/", "/a", "a/./b", "a/.b/c", "x/y.z/", "*", "_/_",
                             "0/25.2.0.192.in-addr.arpa", "example.com/next"}) {
        const DnsName name = DnsName::parse(text);
        const std::string c = path_component(name);
        EXPECT_FALSE(c.empty()) << text;
        EXPECT_NE(c.front(), '.') << text;
        EXPECT_EQ(c.find('/'), std::string::npos) << text;
        EXPECT_EQ(c.find('\0'), std::string::npos) << text;
        auto back = name_of_path_component(c);
        ASSERT_TRUE(back.has_value()) << text;
        EXPECT_EQ(*back, name) << text;
    }
}

TEST(NamePath, NamesThatCannotBePathsNeverGetThisFar) {
    // ".." and escapes are not DNS names acmezone takes, so never components.
    for (const char* text : {"..", "a/../b", "../x", "x/..", "a\\.b", "a\\047b", "a\\000b"}) {
        EXPECT_FALSE(DnsName::try_parse(text).has_value()) << text;
    }
    EXPECT_THROW(path_component(DnsName()), std::invalid_argument);
}

TEST(NamePath, OnlyCanonicalEncodingsDecode) {
    EXPECT_EQ(name_of_path_component("0%2f25.example"), DnsName::parse("0/25.example"));
    for (const char* bad :
         {"", ".", "..", "0%2F25.example", "%61.example", "a%2", "a%", "a%zz", "Example.com",
          "example.com.", "a/b", "a%00b", "a%2e%2eb", ".json", "a..b"}) {
        EXPECT_FALSE(name_of_path_component(bad).has_value()) << bad;
    }
}

TEST(NamePath, PercentDecodeDecodesOnceEitherCase) {
    EXPECT_EQ(percent_decode("0%2f25.example"), "0/25.example");
    EXPECT_EQ(percent_decode("%2E%2e%2F"), "../");
    EXPECT_EQ(percent_decode("%252e"), "%2e");  // once: double encoding stays encoded
    EXPECT_EQ(percent_decode("a%00b"), std::string("a\0b", 3));
    EXPECT_EQ(percent_decode("plain"), "plain");
    for (const char* bad : {"%", "a%2", "%zz", "%2g", "a%"}) {
        EXPECT_FALSE(percent_decode(bad).has_value()) << bad;
    }
}
