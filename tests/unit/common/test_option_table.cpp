// OptionTable: one row per option drives the Boost declaration, the help's
// range and the checks; errors name file, line and key.
#include "common/option_table.h"

#include <gtest/gtest.h>

#include <sstream>
#include <stdexcept>
#include <string>

#include "common/error.h"

using namespace acmezone;

namespace {

const OptionTable& table() {
    static const OptionTable t(
        "test options",
        {
            OptionRow::required_text("a.name", "a name"),
            OptionRow::texts("a.item", "items (repeatable)"),
            OptionRow::text("a.mode", "a mode", "fast"),
            OptionRow::number("a.timeout", 30, {1, 600}, "seconds"),
            OptionRow::number("a.limit", std::nullopt, {0, 1000}, "at most", "0: no limit"),
            OptionRow::number("a.low", 10, {1, 100}, "lower"),
            OptionRow::number("a.high", 50, {1, 200}, "higher").at_least("a.low"),
            OptionRow::yes_no("a.flag", false, "yes: do it"),
        });
    return t;
}

ConfigFile parse(const std::string& text) {
    return ConfigFile::parse("[a]\nname = x\n" + text, "t.conf", table().description());
}

std::string error_of(const std::string& text, const char* key) {
    try {
        const ConfigFile cf = parse(text);
        const OptionRow& row = table().row(key);
        if (row.type == OptionRow::Type::number) {
            (void)table().number(cf, key);
        } else if (row.type == OptionRow::Type::yes_no) {
            (void)table().yes_no(cf, key);
        }
    } catch (const ConfigError& e) {
        return e.what();
    }
    return "";
}

}  // namespace

TEST(OptionTable, HelpShowsDefaultsAndRangesFromTheRow) {
    std::ostringstream help;
    help << table().description();
    const std::string h = help.str();
    EXPECT_NE(h.find("--a.timeout arg (=30)"), std::string::npos) << h;
    EXPECT_NE(h.find("seconds (1..600)"), std::string::npos) << h;
    EXPECT_NE(h.find("at most (0: no limit; 0..1000)"), std::string::npos) << h;
    EXPECT_NE(h.find("higher (low..200)"), std::string::npos) << h;
    EXPECT_NE(h.find("--a.flag arg (=no)"), std::string::npos) << h;
    EXPECT_NE(h.find("--a.mode arg (=fast)"), std::string::npos) << h;
}

TEST(OptionTable, ValuesAndDefaults) {
    const ConfigFile cf = parse("item = 1\nitem = 2\ntimeout = 600\nflag = Yes\n");
    EXPECT_EQ(table().text(cf, "a.name"), "x");
    EXPECT_EQ(table().text(cf, "a.mode"), "fast");
    EXPECT_EQ(table().texts(cf, "a.item"), (std::vector<std::string>{"1", "2"}));
    EXPECT_EQ(table().number(cf, "a.timeout"), 600u);
    EXPECT_FALSE(OptionTable::given(cf, "a.limit"));
    EXPECT_EQ(table().number(cf, "a.high"), 50u);
    EXPECT_TRUE(table().yes_no(cf, "a.flag"));
    EXPECT_FALSE(table().yes_no(parse(""), "a.flag"));
    EXPECT_TRUE(table().texts(parse(""), "a.item").empty());
}

TEST(OptionTable, RangeErrorsNameFileLineAndKey) {
    EXPECT_EQ(error_of("timeout = 601\n", "a.timeout"),
              "t.conf:3: a.timeout: value 601 out of range (1..600)");
    EXPECT_EQ(error_of("timeout = 0\n", "a.timeout"),
              "t.conf:3: a.timeout: value 0 out of range (1..600)");
    EXPECT_EQ(error_of("timeout = 1\n", "a.timeout"), "");
    EXPECT_EQ(error_of("limit = 1001\n", "a.limit"),
              "t.conf:3: a.limit: value 1001 out of range (0..1000)");
    // The lower bound of a.high is a.low's value.
    EXPECT_EQ(error_of("low = 60\nhigh = 59\n", "a.high"),
              "t.conf:4: a.high: value 59 out of range (60..200)");
    EXPECT_EQ(error_of("low = 60\nhigh = 60\n", "a.high"), "");
    // A default out of a lower bound another option raised is named too.
    EXPECT_EQ(error_of("low = 60\n", "a.high"), "t.conf: a.high: value 50 out of range (60..200)");
}

TEST(OptionTable, YesNoReadsEveryBooleanSpellingAndNothingElse) {
    for (const char* yes : {"yes", "YES", "true", "on", "1"}) {
        EXPECT_EQ(parse_yes_no(yes), true) << yes;
    }
    for (const char* no : {"no", "No", "false", "off", "0"}) {
        EXPECT_EQ(parse_yes_no(no), false) << no;
    }
    for (const char* other : {"", "maybe", "y", "2", "yes please"}) {
        EXPECT_EQ(parse_yes_no(other), std::nullopt) << other;
    }
    EXPECT_EQ(error_of("flag = maybe\n", "a.flag"),
              "t.conf:3: a.flag: \"maybe\": expected yes or no");
    EXPECT_EQ(error_of("flag =\n", "a.flag"), "t.conf:3: a.flag: \"\": expected yes or no");
}

TEST(OptionTable, AKeyOrTypeNotInTheTableIsAProgrammingError) {
    const ConfigFile cf = parse("");
    EXPECT_THROW((void)table().row("a.nope"), std::logic_error);
    EXPECT_THROW((void)table().number(cf, "a.mode"), std::logic_error);
    EXPECT_THROW((void)table().number(cf, "a.limit"), std::logic_error);  // no value, no default
}
