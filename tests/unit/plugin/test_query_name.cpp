// parse_query_name: named's presentation format at the DLZ boundary (issue 20
// item 5), and what ZoneClaims then decides for such names.
#include "plugin/query_name.h"

#include <gtest/gtest.h>

#include <array>
#include <string>

#include "plugin/zone_claims.h"

using namespace acmezone;
using namespace acmezone::plugin;

namespace {

struct Parsed {
    bool ok;
    std::string text;
    bool whole;
};

Parsed parse(const char* name) {
    std::array<char, 1024> buf{};
    QueryName q;
    const bool ok = parse_query_name(name, buf, &q);
    return {ok, std::string(q.text), q.whole};
}

void expect(const char* name, const std::string& text, bool whole) {
    const Parsed p = parse(name);
    ASSERT_TRUE(p.ok) << name;
    EXPECT_EQ(p.text, text) << name;
    EXPECT_EQ(p.whole, whole) << name;
}

}  // namespace

TEST(QueryName, PlainNamesAreLowerCasedWithoutTheTrailingDot) {
    expect("_acme-challenge.Example.COM.", "_acme-challenge.example.com", true);
    expect("0/25.2.0.192.in-addr.arpa", "0/25.2.0.192.in-addr.arpa", true);
    expect("*.example.com", "*.example.com", true);
    expect(".", "", true);
    expect("", "", true);
}

TEST(QueryName, AnEscapedDotIsPartOfItsLabel) {
    // "x.example" is one label: the name lies under com, not example.com.
    expect("_acme-challenge.x\\.example.com", "com", false);
    expect("_acme-challenge.x\\046example.com", "com", false);
    expect("_acme-challenge.www\\.x.example.com", "example.com", false);
    expect("a\\.b._acme-challenge.example.com", "_acme-challenge.example.com", false);
    expect("a.b\\.c", "", false);  // the last label: nothing is left
}

TEST(QueryName, EscapedOctetsThatNamesMayHoldAreDecoded) {
    expect("\\095acme-challenge.example.com", "_acme-challenge.example.com", true);
    expect("\\065\\066.example.com", "ab.example.com", true);  // \065 = 'A', lower-cased
    expect("a\\-b.example.com", "a-b.example.com", true);
}

TEST(QueryName, OtherEscapedOctetsRuleTheirLabelOut) {
    for (const char* name : {"a\\;b.example.com", "a\\\"b.example.com", "a\\\\b.example.com",
                             "a\\@b.example.com", "a\\$b.example.com", "a\\000b.example.com",
                             "a\\032b.example.com", "a\\255b.example.com"}) {
        expect(name, "example.com", false);
    }
}

TEST(QueryName, MalformedTextIsRefused) {
    for (const char* name : {"a\\", "a\\25", "a\\2x5.com", "a\\256.com", "a..b", ".a", ".."}) {
        EXPECT_FALSE(parse(name).ok) << name;
    }
    std::array<char, 8> small{};
    QueryName q;
    EXPECT_FALSE(parse_query_name("example.com", small, &q));
    EXPECT_TRUE(parse_query_name("example", small, &q));
}

// What dlz_findzonedb answers: SUCCESS only for a whole name that is an apex.
TEST(QueryName, EscapedNamesAreNeverClaimedAsApexes) {
    const ZoneClaims claims({DnsName::parse("example.com")}, {DnsName::parse("acme.example.net")});
    const auto decide = [&](const char* name) {
        std::array<char, 1024> buf{};
        QueryName q;
        EXPECT_TRUE(parse_query_name(name, buf, &q)) << name;
        return match_query(claims, q);
    };
    EXPECT_EQ(decide("_acme-challenge.example.com"), ZoneClaims::Match::apex);
    EXPECT_EQ(decide("_acme-challenge.x\\.example.com"), ZoneClaims::Match::none);
    EXPECT_EQ(decide("_acme-challenge.www\\.x.example.com"), ZoneClaims::Match::none);
    EXPECT_EQ(decide("a\\.b._acme-challenge.example.com"), ZoneClaims::Match::inside);
    EXPECT_EQ(decide("a\\.b.acme.example.net"), ZoneClaims::Match::inside);
    EXPECT_EQ(decide("acme.example.net"), ZoneClaims::Match::apex);
}
