// issuer/json/json_text: parse_json never throws, bounds the nesting, and
// says why on one line.
#include "issuer/json/json_text.h"

#include <gtest/gtest.h>

#include <string>

namespace acmezone::issuer {
namespace {

std::string nested(int depth) {
    return std::string(static_cast<std::size_t>(depth), '[') +
           std::string(static_cast<std::size_t>(depth), ']');
}

// fuzz_acme_json and fuzz_ari found it first (tests/fuzz/crashes/): jsoncpp
// throws Json::RuntimeError ("Exceeded stackLimit") for nesting deeper than
// its limit; it escaped the client's retry loop, which catches HttpError
// only. fuzz_fetch_answer found the same in acmezone-fetch's own reader
// (CI at 9964cd0): the answer of a distribution server ended the program.
TEST(JsonText, NestingBeyondTheLimitIsNotJsonInsteadOfThrowing) {
    std::string why;
    EXPECT_FALSE(parse_json(std::string(1200, '['), &why).has_value());
    EXPECT_NE(why.find("stackLimit"), std::string::npos) << why;
    EXPECT_FALSE(parse_json(nested(65)).has_value());
    EXPECT_FALSE(parse_json(nested(21), nullptr, {.max_depth = 20}).has_value());
    EXPECT_FALSE(parse_json(nested(21), nullptr, {.max_depth = 20, .strict = true}).has_value());
    const auto shallow = parse_json(nested(20), nullptr, {.max_depth = 20, .strict = true});
    ASSERT_TRUE(shallow.has_value());
    EXPECT_TRUE(shallow->isArray());
    EXPECT_TRUE(parse_json(nested(64)).has_value());
}

TEST(JsonText, WhyIsOneShortLine) {
    std::string why;
    EXPECT_FALSE(parse_json("{\"a\": ", &why).has_value());
    EXPECT_EQ(why.find('\n'), std::string::npos) << why;
    EXPECT_NE(why.find("Line 1"), std::string::npos) << why;
    EXPECT_LE(why.size(), 160u);
    EXPECT_FALSE(parse_json("", &why).has_value());
    EXPECT_FALSE(why.empty());
}

TEST(JsonText, StrictRefusesWhatTheDefaultReadsPast) {
    EXPECT_TRUE(parse_json("{\"a\": 1} trailing").has_value());
    EXPECT_FALSE(parse_json("{\"a\": 1} trailing", nullptr, {.strict = true}).has_value());
    EXPECT_FALSE(parse_json("{\"a\": 1, \"a\": 2}", nullptr, {.strict = true}).has_value());
    EXPECT_FALSE(parse_json("// c\n{}", nullptr, {.strict = true}).has_value());
    const auto v = parse_json("{\"a\": [1, 2]}", nullptr, {.strict = true});
    ASSERT_TRUE(v.has_value());
    EXPECT_EQ((*v)["a"][1].asInt(), 2);
}

}  // namespace
}  // namespace acmezone::issuer
