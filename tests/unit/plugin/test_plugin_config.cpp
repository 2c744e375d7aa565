// PluginConfig: the plugin's options and the checks only the plugin can make;
// every error must name file, line and key.
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "common/error.h"
#include "plugin/plugin_config.h"

namespace acmezone::plugin {
namespace {

namespace fs = std::filesystem;

constexpr const char* kKeys = R"(key "acme-key" {
	algorithm hmac-sha256;
	secret "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3JldA==";
};
key "lab-key" {
	algorithm hmac-sha512;
	secret "bGFiLWxhYi1sYWItbGFiLWxhYi1sYWItbGFiLWxhYg==";
};
)";

class PluginConfigTest : public ::testing::Test {
  protected:
    void SetUp() override {
        std::string templ = (fs::temp_directory_path() / "acmezone-cfg-XXXXXX").string();
        ASSERT_NE(::mkdtemp(templ.data()), nullptr);
        dir_ = templ;
        write_keys(0600);
    }
    void TearDown() override {
        std::error_code ec;
        fs::remove_all(dir_, ec);
    }
    void write_keys(mode_t mode) {
        auto path = dir_ / "keys.conf";
        std::ofstream(path) << kKeys;
        ::chmod(path.c_str(), mode);
    }
    std::string origin() const { return (dir_ / "plugin.conf").string(); }

    // A valid file with `extra` lines appended to the top part and `control`
    // lines appended to [control].
    std::string text(const std::string& top_extra = "", const std::string& control_extra = "",
                     bool with_zone = true, bool with_ns = true) const {
        std::string t;
        if (with_zone) {
            t += "zone = example.com\nchallenge-zone = acme.example.net\n";  // lines 1-2
        } else {
            t += "# no zone\n# none\n";
        }
        t += with_ns ? "nameserver = ns1.example.com\n" : "# no ns\n";  // line 3
        t += "state-dir = state\n";                                     // line 4
        t += top_extra;
        t += "[control]\nlisten = 127.0.0.1:5353\nkeys = keys.conf\n";
        t += "grant = acme-key zonesub example.com\n";
        t += control_extra;
        return t;
    }

    // Expects a ConfigError whose text starts with `where` and contains `what`.
    void expect_error(const std::string& config, const std::string& where,
                      const std::string& what) {
        try {
            PluginConfig::parse(config, origin());
            ADD_FAILURE() << "accepted a bad config; expected " << where << ": ..." << what;
        } catch (const ConfigError& e) {
            std::string msg = e.what();
            EXPECT_EQ(msg.rfind(origin() + where, 0), 0u)
                << "message: " << msg << "\nexpected to start with " << origin() + where;
            EXPECT_NE(msg.find(what), std::string::npos)
                << "message: " << msg << "\nexpected to contain " << what;
        }
    }

    fs::path dir_;
};

TEST_F(PluginConfigTest, AValidFileGivesEverySetting) {
    auto c = PluginConfig::parse(
        text("nameserver = ns2.example.com\ncontact = admin.example.com\nttl = 5\nlifetime = "
             "120\nmax-values-per-name = 8\nmax-values = 100\n",
             "listen = [::1]:5354\nnotify = 127.0.0.1:5400\nnotify = ::1\n"
             "grant = lab-key name _acme-challenge.www.example.com\n"
             "grant = acme-key zonesub acme.example.net\nallow-hmac-md5 = true\nfudge = 60\n"
             "max-tcp-connections = 16\nmax-tcp-connections-per-address = 2\n"
             "replay-memory = 500000\n"
             "tcp-idle-timeout = 3\n"),
        origin());
    ASSERT_EQ(c.zones.size(), 1u);
    EXPECT_EQ(c.zones[0].text(), "example.com");
    ASSERT_EQ(c.challenge_zones.size(), 1u);
    EXPECT_EQ(c.challenge_zones[0].text(), "acme.example.net");
    ASSERT_EQ(c.nameservers.size(), 2u);
    EXPECT_EQ(c.nameservers[0].text(), "ns1.example.com");
    EXPECT_EQ(c.contact.text(), "admin.example.com");
    EXPECT_EQ(c.ttl, 5u);
    EXPECT_EQ(c.lifetime, std::chrono::seconds(120));
    EXPECT_EQ(c.state_dir, dir_ / "state");
    EXPECT_EQ(c.max_values_per_name, 8u);
    EXPECT_EQ(c.max_values, 100u);
    ASSERT_EQ(c.control.listen.size(), 2u);
    EXPECT_EQ(c.control.listen[1].to_string(), "[::1]:5354");
    ASSERT_EQ(c.control.notify.size(), 2u);
    EXPECT_EQ(c.control.notify[1].to_string(), "[::1]:53");
    EXPECT_EQ(c.control.keys_file, (dir_ / "keys.conf").string());
    EXPECT_EQ(c.control.keyring.size(), 2u);
    ASSERT_EQ(c.control.grants.size(), 3u);
    EXPECT_EQ(c.control.grants[1].key.text(), "lab-key");
    EXPECT_EQ(c.control.grants[1].kind, Grant::Kind::name);
    EXPECT_EQ(c.control.grants[1].target.text(), "_acme-challenge.www.example.com");
    EXPECT_EQ(c.control.grants[2].kind, Grant::Kind::zonesub);
    EXPECT_TRUE(c.control.allow_hmac_md5);
    EXPECT_EQ(c.control.fudge, 60);
    EXPECT_EQ(c.control.replay_memory, 500000u);
    EXPECT_EQ(c.control.max_tcp_connections, 16u);
    EXPECT_EQ(c.control.max_tcp_connections_per_address, 2u);
    EXPECT_EQ(c.control.tcp_idle_timeout, std::chrono::seconds(3));
}

TEST_F(PluginConfigTest, DefaultsAreThoseDocumented) {
    auto c = PluginConfig::parse(text(), origin());
    EXPECT_EQ(c.ttl, 0u);
    EXPECT_EQ(c.lifetime, std::chrono::seconds(600));
    EXPECT_EQ(c.max_values_per_name, 64u);
    EXPECT_EQ(c.max_values_per_zone, 10000u);
    EXPECT_EQ(c.max_values, 100000u);
    EXPECT_EQ(c.contact.text(), "hostmaster.example.com");
    EXPECT_FALSE(c.control.allow_hmac_md5);
    EXPECT_EQ(c.control.fudge, 300);
    EXPECT_EQ(c.control.replay_memory, 100000u);
    EXPECT_EQ(c.control.max_tcp_connections, 256u);
    EXPECT_EQ(c.control.max_tcp_connections_per_address, 64u);
    EXPECT_TRUE(c.control.notify.empty());
}

TEST_F(PluginConfigTest, LoadReadsTheFile) {
    std::ofstream(origin()) << text();
    auto c = PluginConfig::load(origin());
    EXPECT_EQ(c.zones.size(), 1u);
}

TEST_F(PluginConfigTest, OptionsAreDeclaredOnceWithHelp) {
    const auto& o = PluginConfig::options();
    for (const char* key : {"zone",
                            "challenge-zone",
                            "nameserver",
                            "contact",
                            "ttl",
                            "lifetime",
                            "state-dir",
                            "max-values-per-name",
                            "max-values",
                            "control.listen",
                            "control.keys",
                            "control.grant",
                            "control.notify",
                            "control.allow-hmac-md5",
                            "control.fudge",
                            "control.replay-memory",
                            "control.max-tcp-connections",
                            "control.max-tcp-connections-per-address",
                            "control.tcp-idle-timeout",
                            "max-values-per-zone"}) {
        const auto* d = o.find_nothrow(key, false);
        ASSERT_NE(d, nullptr) << key;
        EXPECT_FALSE(d->description().empty()) << key;
    }
}

TEST_F(PluginConfigTest, NeedsAZone) {
    expect_error(text("", "", false), ": zone", "at least one zone, challenge-zone or catalog");
}

TEST_F(PluginConfigTest, CatalogLinesAndCatalogGrants) {
    std::ofstream(origin()) << text(
        "catalog = catalog.example 127.0.0.1:5300 key acme-key\n"
        "catalog = other.example\n",
        "grant = acme-key catalog catalog.example\n");
    const auto c = PluginConfig::load(origin());
    ASSERT_EQ(c.catalogs.size(), 2u);
    EXPECT_EQ(c.catalogs[0].server.to_string(), "127.0.0.1:5300");
    EXPECT_EQ(c.catalogs[0].key, DnsName::parse("acme-key"));
    EXPECT_EQ(c.catalogs[1].server.to_string(), "127.0.0.1:53");
    EXPECT_FALSE(c.catalogs[1].key);
    ASSERT_EQ(c.control.grants.size(), 2u);
    EXPECT_EQ(c.control.grants[1].kind, Grant::Kind::catalog);
    expect_error(text("catalog = catalog.example 127.0.0.1 key nokey\n"), ":5: catalog",
                 "key \"nokey\" is not in");
    expect_error(text("catalog = catalog.example 127.0.0.1 secret x\n"), ":5: catalog",
                 "expected \"CATALOG [SERVER[:PORT] [key KEY]]\"");
    expect_error(text("catalog = catalog.example\ncatalog = catalog.example\n"), ":6: catalog",
                 "given twice");
    expect_error(text("", "grant = acme-key catalog nowhere.example\n"), ":9: control.grant",
                 "\"nowhere.example\" is not a catalog of this configuration");
}

TEST_F(PluginConfigTest, NeedsANameserver) {
    expect_error(text("", "", true, false), ": nameserver", "at least one nameserver");
}

TEST_F(PluginConfigTest, BadNamesAreNamedWithTheirLine) {
    expect_error(text("zone = bad name.com\n"), ":5: zone", "bad name.com");
    expect_error(text("nameserver = ns..example.com\n"), ":5: nameserver", "ns..example.com");
    expect_error(text("zone = example.com\n"), ":5: zone", "given twice");
}

TEST_F(PluginConfigTest, NumbersOutOfRangeAreNamed) {
    expect_error(text("ttl = 86401\n"), ":5: ttl", "out of range (expected 0..86400)");
    expect_error(text("ttl = -1\n"), ":5: ttl", "out of range");
    expect_error(text("lifetime = 0\n"), ":5: lifetime", "out of range");
    expect_error(text("max-values-per-name = 0\n"), ":5: max-values-per-name", "out of range");
    expect_error(text("max-values-per-name = 10\nmax-values = 5\n"), ":6: max-values",
                 "at least max-values-per-name");
    expect_error(text("", "fudge = 0\n"), ":9: control.fudge", "out of range");
    expect_error(text("", "replay-memory = 999\n"), ":9: control.replay-memory",
                 "out of range (expected 1000..10000000)");
    expect_error(text("", "tcp-idle-timeout = 100000\n"), ":9: control.tcp-idle-timeout",
                 "out of range");
}

TEST_F(PluginConfigTest, UnknownKeysAreNamed) {
    expect_error(text("", "listne = 127.0.0.1:53\n"), ":9: control.listne", "");
}

TEST_F(PluginConfigTest, EndpointsMustParse) {
    expect_error(text("", "listen = localhost:5353\n"), ":9: control.listen", "localhost");
    expect_error(text("", "listen = 127.0.0.1\n"), ":9: control.listen", "127.0.0.1");
    expect_error(text("", "notify = 127.0.0.1:99999\n"), ":9: control.notify", "99999");
}

TEST_F(PluginConfigTest, GrantsMustNameAKeyAndAServedTarget) {
    expect_error(text("", "grant = other-key zonesub example.com\n"), ":9: control.grant",
                 "key \"other-key\" is not in");
    expect_error(text("", "grant = acme-key zonesub example.org\n"), ":9: control.grant",
                 "\"example.org\" is neither a zone nor a challenge-zone");
    expect_error(text("", "grant = acme-key name www.example.com\n"), ":9: control.grant",
                 "\"www.example.com\" is not served");
    expect_error(text("", "grant = acme-key everything example.com\n"), ":9: control.grant",
                 "expected \"zonesub\", \"name\" or \"catalog\"");
    expect_error(text("", "grant = acme-key zonesub\n"), ":9: control.grant",
                 "expected \"KEY zonesub ZONE\", \"KEY name NAME\" or \"KEY catalog CATALOG\"");
    expect_error(text("", "grant = acme-key zonesub example.com extra\n"), ":9: control.grant",
                 "expected \"KEY zonesub ZONE\"");
    // A name inside a challenge-zone is fine.
    EXPECT_NO_THROW(
        PluginConfig::parse(text("", "grant = lab-key name x.acme.example.net\n"), origin()));
}

TEST_F(PluginConfigTest, TheKeyFileIsCheckedAndMayBeGroupReadable) {
    write_keys(0640);
    EXPECT_NO_THROW(PluginConfig::parse(text(), origin()));
    write_keys(0644);
    expect_error(text(), ":7: control.keys", "keys.conf");
    fs::remove(dir_ / "keys.conf");
    expect_error(text(), ":7: control.keys", "keys.conf");
}

TEST_F(PluginConfigTest, KeysAreRequired) {
    std::string t =
        "zone = example.com\nnameserver = ns1.example.com\n[control]\n"
        "listen = 127.0.0.1:5353\n";
    expect_error(t, ": control.keys", "required");
}

TEST_F(PluginConfigTest, AListenAddressIsRequired) {
    std::string t =
        "zone = example.com\nnameserver = ns1.example.com\n[control]\n"
        "keys = keys.conf\n";
    expect_error(t, ": control.listen", "at least one address");
}

TEST_F(PluginConfigTest, TheShippedExampleIsValid) {
    // zones-example/ is documentation and test data: it must stay loadable.
    fs::path example = fs::path(ACMEZONE_SOURCE_DIR) / "zones-example";
    fs::copy_file(example / "plugin.conf", dir_ / "plugin.conf");
    fs::copy_file(example / "keys.conf", dir_ / "keys.conf", fs::copy_options::overwrite_existing);
    ::chmod((dir_ / "keys.conf").c_str(), 0600);  // git cannot store 0600
    auto c = PluginConfig::load(origin());        // every check of the plugin passes
    EXPECT_FALSE(c.zones.empty());
    EXPECT_FALSE(c.challenge_zones.empty());
    EXPECT_FALSE(c.control.grants.empty());
    EXPECT_FALSE(c.control.listen.empty());
    EXPECT_NE(c.control.keyring.find(DnsName::parse("acme-key")), nullptr);
}

}  // namespace
}  // namespace acmezone::plugin
