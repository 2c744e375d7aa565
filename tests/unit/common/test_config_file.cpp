// ConfigFile: INI syntax, Program_options validation, and errors that name
// file, line and key.
#include "common/config_file.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <cstdint>
#include <filesystem>
#include <initializer_list>
#include <string>
#include <vector>

#include "common/error.h"
#include "common/file_io.h"
#include "tests/unit/temp_dir.h"

using namespace acmezone;
using acmezone::test_support::TempDir;
namespace fs = std::filesystem;

namespace {

const po::options_description& options() {
    static const po::options_description opts = [] {
        po::options_description o("test options");
        o.add_options()                                                                     //
            ("zone", po::value<std::vector<std::string>>()->composing(), "zones")           //
            ("nameserver", po::value<std::vector<std::string>>()->required(), "NS names")   //
            ("state-dir", po::value<std::string>()->required(), "state directory")          //
            ("contact", po::value<std::string>(), "SOA RNAME")                              //
            ("ttl", po::value<std::uint32_t>()->default_value(0), "TTL")                    //
            ("lifetime", po::value<int>()->default_value(600), "seconds")                   //
            ("control.listen", po::value<std::vector<std::string>>()->composing(), "addr")  //
            ("control.fudge", po::value<std::uint16_t>()->default_value(300), "seconds")    //
            ("control.allow-hmac-md5", po::value<bool>()->default_value(false), "MD5");
        return o;
    }();
    return opts;
}

// The two required keys, so that other tests need not repeat them.
const std::string kRequired = "nameserver = ns1.example.com\nstate-dir = /var/lib/x\n";

void expect_error(const std::string& text, const std::string& prefix,
                  std::initializer_list<std::string> parts) {
    try {
        ConfigFile::parse(text, "plugin.conf", options());
        ADD_FAILURE() << "parsed without error:\n" << text;
    } catch (const ConfigError& e) {
        std::string msg = e.what();
        EXPECT_EQ(msg.rfind(prefix, 0), 0u) << "expected prefix \"" << prefix << "\" in: " << msg;
        for (const auto& p : parts) {
            EXPECT_NE(msg.find(p), std::string::npos) << "missing \"" << p << "\" in: " << msg;
        }
    }
}

}  // namespace

TEST(ConfigFile, GoodFileWithSectionsCommentsAndRepeats) {
    const std::string text =
        "# plugin configuration\n"                  // 1
        "; another comment style\n"                 // 2
        "\n"                                        // 3
        "zone = example.com        # first zone\n"  // 4
        "zone=example.net\n"                        // 5
        "  nameserver = ns1.example.com\n"          // 6
        "state-dir = /var/lib/bind/acmezone\n"      // 7
        "contact = host#master.example.com\n"       // 8
        "ttl = 5\t# tab before the comment\n"       // 9
        "[control]\n"                               // 10
        "listen = 127.0.0.1:5353\n"                 // 11
        "listen = [::1]:5353 # second\n"            // 12
        "allow-hmac-md5 = yes\n"                    // 13
        "[ other ]\n";                              // 14
    ConfigFile cf = ConfigFile::parse(text, "plugin.conf", options());
    const auto& v = cf.values();
    EXPECT_EQ(cf.origin(), "plugin.conf");
    EXPECT_EQ(v["zone"].as<std::vector<std::string>>(),
              (std::vector<std::string>{"example.com", "example.net"}));
    EXPECT_EQ(v["nameserver"].as<std::vector<std::string>>(),
              (std::vector<std::string>{"ns1.example.com"}));
    EXPECT_EQ(v["state-dir"].as<std::string>(), "/var/lib/bind/acmezone");
    EXPECT_EQ(v["contact"].as<std::string>(),
              "host#master.example.com");  // no space: not a comment
    EXPECT_EQ(v["ttl"].as<std::uint32_t>(), 5u);
    EXPECT_EQ(v["control.listen"].as<std::vector<std::string>>(),
              (std::vector<std::string>{"127.0.0.1:5353", "[::1]:5353"}));
    EXPECT_TRUE(v["control.allow-hmac-md5"].as<bool>());
    // Defaults.
    EXPECT_EQ(v["lifetime"].as<int>(), 600);
    EXPECT_TRUE(v["lifetime"].defaulted());
    EXPECT_EQ(v["control.fudge"].as<std::uint16_t>(), 300);
    EXPECT_FALSE(v["ttl"].defaulted());
}

TEST(ConfigFile, Where) {
    const std::string text = kRequired +                // lines 1-2
                             "\n"                       // 3
                             "[control]\n"              // 4
                             "listen = 127.0.0.1:1\n"   // 5
                             "# comment\n"              // 6
                             "listen = 127.0.0.1:2\n";  // 7
    ConfigFile cf = ConfigFile::parse(text, "plugin.conf", options());
    EXPECT_EQ(cf.where("control.listen"), "plugin.conf:5: control.listen");
    EXPECT_EQ(cf.where("control.listen", 1), "plugin.conf:7: control.listen");
    EXPECT_EQ(cf.where("state-dir"), "plugin.conf:2: state-dir");
    EXPECT_EQ(cf.where("lifetime"), "plugin.conf: lifetime");  // a default
}

TEST(ConfigFile, Fail) {
    ConfigFile cf = ConfigFile::parse(kRequired +
                                          "[control]\nlisten = 127.0.0.1:1\n"
                                          "listen = 127.0.0.1:2\n",
                                      "plugin.conf", options());
    try {
        cf.fail("control.listen", 1, "address already in use");
        FAIL() << "fail() returned";
    } catch (const ConfigError& e) {
        EXPECT_STREQ(e.what(), "plugin.conf:5: control.listen: address already in use");
    }
    EXPECT_THROW(cf.fail("ttl", 0, "too big"), ConfigError);
}

TEST(ConfigFile, UnknownOption) {
    expect_error(kRequired + "\n[control]\nlistne = 127.0.0.1:53\n",
                 "plugin.conf:5: ", {"control.listne: unknown option"});
    // A key valid only in a section is unknown outside it.
    expect_error(kRequired + "listen = 127.0.0.1:53\n",
                 "plugin.conf:3: ", {"listen: unknown option"});
}

TEST(ConfigFile, InvalidValues) {
    expect_error(kRequired + "ttl = ten\n", "plugin.conf:3: ",
                 {"ttl: invalid value \"ten\"", "expected an integer from 0 to 4294967295"});
    expect_error(kRequired + "ttl = -1\n",
                 "plugin.conf:3: ", {"ttl: invalid value \"-1\"", "from 0 to"});
    expect_error(kRequired + "lifetime = 12x\n",
                 "plugin.conf:3: ", {"lifetime: invalid value \"12x\"", "an integer"});
    expect_error(kRequired + "[control]\nfudge = 70000\n",
                 "plugin.conf:4: ", {"control.fudge: invalid value \"70000\"", "from 0 to 65535"});
    expect_error(kRequired + "[control]\nallow-hmac-md5 = maybe\n", "plugin.conf:4: ",
                 {"control.allow-hmac-md5: invalid value \"maybe\"", "true or false"});
    expect_error(kRequired + "[control]\nallow-hmac-md5 =\n",
                 "plugin.conf:4: ", {"control.allow-hmac-md5", "empty"});
    expect_error(kRequired + "ttl = # nothing\n", "plugin.conf:3: ", {"ttl", "empty"});
}

TEST(ConfigFile, GivenTwice) {
    expect_error("\n\n\nlifetime = 10\n" + kRequired + "\n\nlifetime = 20\n",
                 "plugin.conf:9: ", {"lifetime: given twice (first at line 4)"});
    expect_error(kRequired + "state-dir = /other\n",
                 "plugin.conf:3: ", {"state-dir: given twice (first at line 2)"});
}

TEST(ConfigFile, RepeatableVectorWithoutComposing) {
    // nameserver is a std::vector without ->composing(): still repeatable.
    ConfigFile cf = ConfigFile::parse(
        "nameserver = ns1.example.com\nnameserver = ns2.example.com\nstate-dir = /x\n",
        "plugin.conf", options());
    EXPECT_EQ(cf.values()["nameserver"].as<std::vector<std::string>>(),
              (std::vector<std::string>{"ns1.example.com", "ns2.example.com"}));
    EXPECT_EQ(cf.where("nameserver", 1), "plugin.conf:2: nameserver");
}

TEST(ConfigFile, RequiredMissing) {
    expect_error("state-dir = /x\n", "plugin.conf: ", {"nameserver: required option missing"});
    expect_error("ttl = 5\n",
                 "plugin.conf: ", {"required options missing", "nameserver", "state-dir"});
}

TEST(ConfigFile, SyntaxErrors) {
    const std::string expected = "syntax error";
    expect_error(kRequired + "just some words\n", "plugin.conf:3: ",
                 {"syntax error: expected \"key = value\", \"[section]\" or a comment"});
    expect_error("\n= value\n", "plugin.conf:2: ", {expected});
    expect_error("[control\n", "plugin.conf:1: ", {expected, "[name]"});
    expect_error("[bad name!]\n", "plugin.conf:1: ", {expected, "bad name!"});
    expect_error("[]\n", "plugin.conf:1: ", {expected});
    expect_error("key with space = 1\n", "plugin.conf:1: ", {expected});
}

TEST(ConfigFile, CrLfLineEndings) {
    ConfigFile cf = ConfigFile::parse("nameserver = a\r\nstate-dir = /x\r\nttl = 7\r\n",
                                      "plugin.conf", options());
    EXPECT_EQ(cf.values()["state-dir"].as<std::string>(), "/x");
    EXPECT_EQ(cf.values()["ttl"].as<std::uint32_t>(), 7u);
    EXPECT_EQ(cf.where("ttl"), "plugin.conf:3: ttl");
}

TEST(ConfigFile, LoadFromDisk) {
    const TempDir tmp("conf");
    const fs::path& dir = tmp.path();
    fs::path p = dir / "plugin.conf";
    write_file_atomic(p, kRequired + "ttl = bad\n");
    try {
        ConfigFile::load(p.string(), options());
        ADD_FAILURE() << "no exception";
    } catch (const ConfigError& e) {
        EXPECT_EQ(std::string(e.what()).rfind(p.string() + ":3: ttl: invalid value", 0), 0u)
            << e.what();
    }
    write_file_atomic(p, kRequired + "ttl = 9\n");
    EXPECT_EQ(ConfigFile::load(p.string(), options()).values()["ttl"].as<std::uint32_t>(), 9u);
    fs::path missing = dir / "missing.conf";
    try {
        ConfigFile::load(missing.string(), options());
        ADD_FAILURE() << "no exception";
    } catch (const ConfigError& e) {
        EXPECT_NE(std::string(e.what()).find(missing.string()), std::string::npos) << e.what();
        EXPECT_NE(std::string(e.what()).find("No such file"), std::string::npos) << e.what();
    }
}
