// issuer/json/json_styled: the same text as jsoncpp's StreamWriterBuilder
// (indentation "  ") for values of every kind, strings with every kind of
// character jsoncpp escapes, nested at any depth.
#include "issuer/json/json_styled.h"

#include <gtest/gtest.h>
#include <json/writer.h>

#include <cmath>
#include <initializer_list>
#include <limits>
#include <string>

namespace acmezone::issuer {
namespace {

std::string jsoncpp_text(const Json::Value& v, unsigned precision) {
    Json::StreamWriterBuilder w;
    w["indentation"] = "  ";
    w["precision"] = precision;
    return Json::writeString(w, v);
}

std::string styled(const Json::Value& v, const StyledJsonOptions& options = {}) {
    std::string out;
    append_styled_json(out, v, options);
    return out;
}

void expect_same(const Json::Value& v, unsigned precision = 17) {
    EXPECT_EQ(styled(v, {.precision = precision}), jsoncpp_text(v, precision));
}

Json::Value strings() {
    Json::Value list(Json::arrayValue);
    for (const std::string& s : std::initializer_list<std::string>{
             "", "plain", "quote \" backslash \\ slash /", "\b\f\n\r\t", std::string("nul \0 x", 7),
             "\x01\x1f\x7f", "caf\xc3\xa9", "\xe2\x82\xac euro", "\xf0\x9f\x94\x92 lock",
             "bad \xc3", "bad \xe2\x82", "bad \xf0\x9f\x94", "lone \x80 cont", "over \xc0\xaf",
             "surrogate \xed\xa0\x80", "\xf8\x88\x80\x80\x80 five", "\xff"}) {
        list.append(s);
    }
    return list;
}

TEST(JsonStyled, ScalarsAsJsoncppWritesThem) {
    for (const Json::Value& v :
         {Json::Value(), Json::Value(true), Json::Value(false), Json::Value(0), Json::Value(-17),
          Json::Value(Json::Int64{std::numeric_limits<Json::Int64>::min()}),
          Json::Value(Json::UInt64{std::numeric_limits<Json::UInt64>::max()}), Json::Value(0.0),
          Json::Value(1.0), Json::Value(9.9), Json::Value(-0.1), Json::Value(1e300),
          Json::Value(1.5e-7), Json::Value(123456789012345678.0), Json::Value(std::nan("")),
          Json::Value(std::numeric_limits<double>::infinity()),
          Json::Value(-std::numeric_limits<double>::infinity()), Json::Value("text")}) {
        expect_same(v);
        expect_same(v, 15);
    }
}

TEST(JsonStyled, StringsEscapedAsJsoncppEscapesThem) {
    const Json::Value list = strings();
    expect_same(list);
    for (const Json::Value& s : list) {
        expect_same(s);
    }
    Json::Value names(Json::objectValue);  // member names are escaped the same way
    for (const Json::Value& s : list) {
        names[s.asString()] = s;
    }
    expect_same(names);
}

TEST(JsonStyled, NestedValuesLaidOutAsJsoncppLaysThemOut) {
    Json::Value z(Json::objectValue);
    z["zone"] = "example.com";
    z["empty_list"] = Json::Value(Json::arrayValue);
    z["empty_object"] = Json::Value(Json::objectValue);
    z["names"].append("*.example.com");
    z["names"].append("example.com");
    z["days_left"] = 89.9;
    z["certificates"].append(Json::Value(Json::objectValue));
    z["certificates"][0]["scts"].append(Json::Value(Json::objectValue));
    z["certificates"][0]["scts"][0]["log"] = "a log";
    z["certificates"][0]["scts"].append(Json::Value(Json::objectValue));
    z["certificates"].append(Json::Value(Json::arrayValue));
    z["certificates"].append(strings());
    z["certificates"].append(Json::Value());
    z["nested"]["deeper"]["deepest"] = Json::Value(Json::arrayValue);
    z["nested"]["deeper"]["deepest"].append(Json::Value(Json::arrayValue));
    z["nested"]["deeper"]["deepest"][0].append(1);
    expect_same(z);
    expect_same(z, 15);
    expect_same(z["names"]);
    expect_same(Json::Value(Json::arrayValue));
    expect_same(Json::Value(Json::objectValue));
}

// `depth`: as the value would be inside enclosing values, its first line
// the caller's (status writes each zone's object inside the top-level array).
TEST(JsonStyled, DepthIndentsTheLinesAfterTheFirst) {
    Json::Value z(Json::objectValue);
    z["zone"] = "example.com";
    z["names"].append("example.com");
    Json::Value list(Json::arrayValue);
    list.append(z);
    std::string inside = "[\n  ";
    append_styled_json(inside, z, {.depth = 1});
    inside += "\n]";
    EXPECT_EQ(inside, jsoncpp_text(list, 17));
    EXPECT_EQ(styled(z, {.depth = 1}),
              "{\n    \"names\" : \n    [\n      \"example.com\"\n    ],\n"
              "    \"zone\" : \"example.com\"\n  }");
}

}  // namespace
}  // namespace acmezone::issuer
