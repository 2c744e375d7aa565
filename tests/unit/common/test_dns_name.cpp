// DnsName: canonical form, limits, and the relations between names.
#include "common/dns_name.h"

#include <gtest/gtest.h>

#include <string>
#include <unordered_set>

using acmezone::DnsName;

namespace {

std::string parse_error(std::string_view text) {
    std::string error;
    EXPECT_FALSE(DnsName::try_parse(text, &error).has_value()) << text;
    return error;
}

}  // namespace

TEST(DnsName, CanonicalFormIsLowerCaseWithoutTrailingDot) {
    EXPECT_EQ(DnsName::parse("Example.COM.").text(), "example.com");
    EXPECT_EQ(DnsName::parse("example.com").text(), "example.com");
    EXPECT_EQ(DnsName::parse("Example.COM."), DnsName::parse("example.com"));
    EXPECT_EQ(DnsName::parse("example.com").fqdn(), "example.com.");
    EXPECT_EQ(DnsName::parse("_ACME-Challenge.Example.com").text(), "_acme-challenge.example.com");
    std::unordered_set<DnsName> set{DnsName::parse("A.example.com")};
    EXPECT_EQ(set.count(DnsName::parse("a.EXAMPLE.com.")), 1u);
}

TEST(DnsName, Root) {
    DnsName root = DnsName::parse(".");
    EXPECT_TRUE(root.is_root());
    EXPECT_EQ(root, DnsName());
    EXPECT_EQ(root.text(), "");
    EXPECT_EQ(root.fqdn(), ".");
    EXPECT_EQ(root.label_count(), 0u);
    EXPECT_EQ(root.wire_length(), 1u);
    EXPECT_FALSE(root.parent().has_value());
    EXPECT_FALSE(DnsName::parse("com").is_root());
}

TEST(DnsName, EmptyTextIsRefused) {
    EXPECT_NE(parse_error("").find("empty"), std::string::npos);
}

TEST(DnsName, EmptyLabelsAreRefused) {
    for (const char* bad : {"a..b", ".a", "a.b..", "..", "..a"}) {
        std::string e = parse_error(bad);
        EXPECT_NE(e.find("empty label"), std::string::npos) << bad << ": " << e;
        EXPECT_NE(e.find(std::string("\"") + bad + "\""), std::string::npos) << e;
    }
    EXPECT_THROW(DnsName::parse("a..b"), std::invalid_argument);
}

TEST(DnsName, LabelLengthLimit) {
    std::string l63(63, 'a');
    std::string l64(64, 'a');
    EXPECT_EQ(DnsName::parse(l63 + ".com").labels().front().size(), 63u);
    std::string e = parse_error(l64 + ".com");
    EXPECT_NE(e.find("64 octets"), std::string::npos) << e;
    EXPECT_NE(e.find("at most 63"), std::string::npos) << e;
}

TEST(DnsName, WireLengthLimit) {
    // 4 labels of 63 = 4*64 + 1 = 257 > 255; 3*64 + 62 ("a"*61) + 1 = 255 fits.
    std::string l63(63, 'a');
    std::string fits = l63 + "." + l63 + "." + l63 + "." + std::string(61, 'b');
    DnsName n = DnsName::parse(fits);
    EXPECT_EQ(n.wire_length(), 255u);
    std::string too_long = fits + "b";  // 256 octets
    std::string e = parse_error(too_long);
    EXPECT_NE(e.find("256 octets"), std::string::npos) << e;
    EXPECT_NE(e.find("at most 255"), std::string::npos) << e;
    // The trailing dot does not count against the limit.
    EXPECT_NO_THROW(DnsName::parse(fits + "."));
}

TEST(DnsName, CharactersAndWildcard) {
    EXPECT_NO_THROW(DnsName::parse("*.example.com"));
    EXPECT_NO_THROW(DnsName::parse("0/25.2.0.192.in-addr.arpa"));
    EXPECT_NE(parse_error("a b.com").find("invalid character"), std::string::npos);
    EXPECT_NE(parse_error("a\"b.com").find("invalid character '\"'"), std::string::npos);
    EXPECT_NE(parse_error("a;b.com").find("invalid character ';'"), std::string::npos);
    EXPECT_NE(parse_error("a\\.b.com").find("escapes"), std::string::npos);
    EXPECT_NE(parse_error("a.*.com").find("leftmost"), std::string::npos);
    EXPECT_NE(parse_error("a*.com").find("label of its own"), std::string::npos);
    EXPECT_NE(parse_error(std::string("a\0b.com", 7)).find("byte 0x00"), std::string::npos);
    EXPECT_NE(parse_error("caf\xc3\xa9.com").find("byte 0xc3"), std::string::npos);
}

TEST(DnsName, Labels) {
    DnsName n = DnsName::parse("_acme-challenge.www.example.com");
    ASSERT_EQ(n.label_count(), 4u);
    auto labels = n.labels();
    ASSERT_EQ(labels.size(), 4u);
    EXPECT_EQ(labels[0], "_acme-challenge");
    EXPECT_EQ(labels[3], "com");
    EXPECT_EQ(n.wire_length(), n.text().size() + 2);
}

TEST(DnsName, Parent) {
    DnsName n = DnsName::parse("www.example.com");
    ASSERT_TRUE(n.parent().has_value());
    EXPECT_EQ(n.parent()->text(), "example.com");
    EXPECT_EQ(n.parent()->parent()->text(), "com");
    EXPECT_TRUE(n.parent()->parent()->parent()->is_root());
}

TEST(DnsName, Child) {
    DnsName zone = DnsName::parse("example.com");
    EXPECT_EQ(zone.child("_ACME-challenge").text(), "_acme-challenge.example.com");
    EXPECT_EQ(DnsName().child("com").text(), "com");
    EXPECT_EQ(zone.child("*").text(), "*.example.com");
    EXPECT_THROW(zone.child(""), std::invalid_argument);
    EXPECT_THROW(zone.child("a.b"), std::invalid_argument);
    EXPECT_THROW(zone.child(std::string(64, 'x')), std::invalid_argument);
    EXPECT_THROW(DnsName::parse("*.example.com").child("a"), std::invalid_argument);
    // A child that would pass 255 octets.
    std::string l63(63, 'a');
    DnsName big = DnsName::parse(l63 + "." + l63 + "." + l63 + "." + std::string(59, 'b'));
    EXPECT_NO_THROW(big.child("c"));  // 253 + 2 = 255
    EXPECT_THROW(big.child("cc"), std::invalid_argument);
    try {
        zone.child("a b");
        FAIL() << "no exception";
    } catch (const std::invalid_argument& e) {
        EXPECT_NE(std::string(e.what()).find("example.com"), std::string::npos) << e.what();
    }
}

TEST(DnsName, IsAtOrBelow) {
    DnsName zone = DnsName::parse("example.com");
    EXPECT_TRUE(DnsName::parse("example.com").is_at_or_below(zone));
    EXPECT_TRUE(DnsName::parse("a.b.example.com").is_at_or_below(zone));
    EXPECT_FALSE(DnsName::parse("badexample.com").is_at_or_below(zone));
    EXPECT_FALSE(DnsName::parse("com").is_at_or_below(zone));
    EXPECT_FALSE(DnsName::parse("example.org").is_at_or_below(zone));
    EXPECT_TRUE(zone.is_at_or_below(DnsName()));
    EXPECT_TRUE(DnsName().is_at_or_below(DnsName()));
    EXPECT_FALSE(DnsName().is_at_or_below(zone));
}

TEST(DnsName, IsBelow) {
    DnsName zone = DnsName::parse("example.com");
    EXPECT_FALSE(zone.is_below(zone));
    EXPECT_TRUE(DnsName::parse("www.example.com").is_below(zone));
    EXPECT_FALSE(DnsName::parse("xexample.com").is_below(zone));
    EXPECT_TRUE(zone.is_below(DnsName()));
}

TEST(DnsName, RelativeTo) {
    DnsName zone = DnsName::parse("example.com");
    EXPECT_EQ(DnsName::parse("www.example.com").relative_to(zone), "www");
    EXPECT_EQ(DnsName::parse("_acme-challenge.a.example.com").relative_to(zone),
              "_acme-challenge.a");
    EXPECT_EQ(zone.relative_to(zone), "@");
    EXPECT_EQ(zone.relative_to(DnsName()), "example.com");
    EXPECT_THROW(DnsName::parse("example.org").relative_to(zone), std::invalid_argument);
    EXPECT_THROW(DnsName::parse("badexample.com").relative_to(zone), std::invalid_argument);
}

TEST(DnsName, Ordering) {
    EXPECT_LT(DnsName::parse("a.com"), DnsName::parse("b.com"));
    EXPECT_EQ(DnsName::parse("A.com") <=> DnsName::parse("a.COM"), std::strong_ordering::equal);
}
