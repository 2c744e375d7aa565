// issuer_config: a complete file parses into the settings the issuer uses;
// each kind of mistake is refused with file, line and key in the message.
#include <gtest/gtest.h>

#include <filesystem>
#include <utility>

#include "common/error.h"
#include "common/file_io.h"
#include "issuer/cli/issuer_config.h"

using namespace acmezone;
using namespace acmezone::issuer;
namespace fs = std::filesystem;

namespace {

const char* kKeys = R"(key "acme-key" {
    algorithm hmac-sha256;
    secret "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3I=";
};
key "other" {
    algorithm hmac-sha512;
    secret "b3RoZXItb3RoZXItb3RoZXI=";
};
)";

const char* kGood = R"(# a complete configuration
[acme]
directory = https://127.0.0.1:14000/dir
ca-file = pebble-ca.pem
contact = mailto:hostmaster@example.com
state-dir = state
timeout = 20
[zones]
zone = example.com
zone = Example.NET.
zones-file = zones
[publish]
control = 127.0.0.1:5353
control = [::1]:5353
key = acme-key
keys = keys.conf
[dns]
resolver = 127.0.0.1:5300
check-server = 127.0.0.1:5300
propagation-timeout = 30
[certs]
dir = /var/lib/acmezone/certs
key-type = rsa-3072
parallel = 4
)";

}  // namespace

class IssuerConfigTest : public ::testing::Test {
  protected:
    void SetUp() override {
        char tmpl[] = "/tmp/acmezone-icfg-XXXXXX";
        dir = ::mkdtemp(tmpl);
        write_file_atomic(dir / "keys.conf", kKeys, 0600);
        write_file_atomic(dir / "zones", "# zones\n\nexample.org\n  example.info   # trailing\n");
    }
    void TearDown() override { fs::remove_all(dir); }

    IssuerConfig parse(const std::string& text) {
        return IssuerConfig::parse(text, "issuer.conf", dir);
    }
    // The ConfigError message for `text`, "" when it parses.
    std::string error(const std::string& text) {
        try {
            (void)parse(text);
        } catch (const ConfigError& e) {
            return e.what();
        }
        return "";
    }
    std::string replaced(const std::string& from, const std::string& to) {
        std::string s = kGood;
        auto pos = s.find(from);
        EXPECT_NE(pos, std::string::npos) << from;
        return s.replace(pos, from.size(), to);
    }
    fs::path dir;
};

TEST_F(IssuerConfigTest, ACompleteFile) {
    IssuerConfig c = parse(kGood);
    EXPECT_EQ(c.directory, "https://127.0.0.1:14000/dir");
    EXPECT_EQ(c.ca_file, dir / "pebble-ca.pem");
    EXPECT_EQ(c.contact, std::vector<std::string>{"mailto:hostmaster@example.com"});
    EXPECT_EQ(c.state_dir, dir / "state");
    EXPECT_EQ(c.account_key_path(), dir / "state/account.key");
    EXPECT_EQ(c.http_timeout, std::chrono::seconds(20));
    std::vector<std::string> zones;
    for (const DnsName& z : c.zones) {
        zones.push_back(z.text());
    }
    EXPECT_EQ(zones, (std::vector<std::string>{"example.com", "example.net", "example.org",
                                               "example.info"}));
    ASSERT_EQ(c.dns.controls.size(), 2u);
    EXPECT_EQ(c.dns.controls[1].to_string(), "[::1]:5353");
    EXPECT_EQ(c.dns.key.name.text(), "acme-key");
    EXPECT_EQ(c.dns.key.algorithm, TsigAlgorithm::hmac_sha256);
    EXPECT_EQ(c.dns.resolver.to_string(), "127.0.0.1:5300");
    ASSERT_EQ(c.dns.check_servers.size(), 1u);
    EXPECT_EQ(c.dns.propagation_timeout, std::chrono::seconds(30));
    EXPECT_EQ(c.certs_dir, "/var/lib/acmezone/certs");
    EXPECT_EQ(c.key_type, KeyType::rsa_3072);
    EXPECT_EQ(c.parallel, 4u);
    EXPECT_FALSE(c.trust_file.has_value());
}

TEST_F(IssuerConfigTest, Defaults) {
    IssuerConfig c = parse(
        "[acme]\ndirectory = https://ca/dir\nstate-dir = /s\n[zones]\nzone = a.example\n"
        "[publish]\ncontrol = 127.0.0.1:5353\nkey = other\nkeys = keys.conf\n[certs]\ndir = /c\n");
    EXPECT_EQ(c.key_type, KeyType::ecdsa_p256);
    EXPECT_EQ(c.parallel, 16u);
    EXPECT_EQ(c.dns.resolver.to_string(), "127.0.0.1:53");
    EXPECT_EQ(c.dns.propagation_timeout, std::chrono::seconds(120));
    EXPECT_EQ(c.retry_deadline, std::chrono::seconds(300));
    EXPECT_EQ(c.dns.key.algorithm, TsigAlgorithm::hmac_sha512);
    EXPECT_TRUE(c.contact.empty());
}

TEST_F(IssuerConfigTest, ErrorsNameFileLineAndKey) {
    EXPECT_EQ(error(kGood), "");
    auto e = error(replaced("key-type = rsa-3072", "key-type = ed25519"));
    EXPECT_NE(e.find("issuer.conf:23: certs.key-type"), std::string::npos) << e;
    EXPECT_NE(e.find("ecdsa-p256, ecdsa-p384"), std::string::npos) << e;

    e = error(replaced("parallel = 4", "parallel = 0"));
    EXPECT_NE(e.find("issuer.conf:24: certs.parallel"), std::string::npos) << e;
    EXPECT_NE(e.find("1..256"), std::string::npos) << e;

    e = error(replaced("key = acme-key", "key = nosuch"));
    EXPECT_NE(e.find("issuer.conf:15: publish.key"), std::string::npos) << e;
    EXPECT_NE(e.find("no key \"nosuch\""), std::string::npos) << e;

    e = error(replaced("control = [::1]:5353", "control = localhost:5353"));
    EXPECT_NE(e.find("issuer.conf:14: publish.control"), std::string::npos) << e;

    e = error(replaced("zone = Example.NET.", "zone = bad..name"));
    EXPECT_NE(e.find("issuer.conf:10: zones.zone"), std::string::npos) << e;

    e = error(replaced("zone = Example.NET.", "zone = EXAMPLE.com"));
    EXPECT_NE(e.find("issuer.conf:10: zones.zone"), std::string::npos) << e;
    EXPECT_NE(e.find("given twice"), std::string::npos) << e;

    e = error(replaced("directory = https://", "directory = http://"));
    EXPECT_NE(e.find("issuer.conf:3: acme.directory"), std::string::npos) << e;

    e = error(
        replaced("contact = mailto:hostmaster@example.com", "contact = hostmaster@example.com"));
    EXPECT_NE(e.find("issuer.conf:5: acme.contact"), std::string::npos) << e;

    e = error(replaced("timeout = 20", "tiemout = 20"));
    EXPECT_NE(e.find("issuer.conf:7"), std::string::npos) << e;
    EXPECT_NE(e.find("tiemout"), std::string::npos) << e;

    e = error(replaced("keys = keys.conf", "keys = missing.conf"));
    EXPECT_NE(e.find("publish.keys"), std::string::npos) << e;
    EXPECT_NE(e.find("missing.conf"), std::string::npos) << e;

    e = error(replaced("zones-file = zones", "zones-file = nozones"));
    EXPECT_NE(e.find("zones.zones-file"), std::string::npos) << e;
}

TEST_F(IssuerConfigTest, MissingRequiredAndNoZones) {
    auto e = error(replaced("state-dir = state\n", ""));
    EXPECT_NE(e.find("state-dir"), std::string::npos) << e;
    e = error(
        "[acme]\ndirectory = https://ca/dir\nstate-dir = /s\n"
        "[publish]\ncontrol = 127.0.0.1:5353\nkey = other\nkeys = keys.conf\n[certs]\ndir = /c\n");
    EXPECT_NE(e.find("no zones"), std::string::npos) << e;
}

TEST_F(IssuerConfigTest, ZonesFileErrorsNameThatFileAndLine) {
    write_file_atomic(dir / "zones", "example.org\n\n# c\nbad..zone\n");
    auto e = error(kGood);
    EXPECT_NE(e.find((dir / "zones").string() + ":4: invalid zone name \"bad..zone\""),
              std::string::npos)
        << e;
    write_file_atomic(dir / "zones", "example.org\nexample.com\n");
    e = error(kGood);
    EXPECT_NE(e.find("example.com given twice"), std::string::npos) << e;
    write_file_atomic(dir / "zones", "example.org other.org\n");
    e = error(kGood);
    EXPECT_NE(e.find(":1: expected one zone name"), std::string::npos) << e;
}

TEST_F(IssuerConfigTest, AKeysFileOthersCanReadIsRefused) {
    fs::permissions(dir / "keys.conf", fs::perms(0644));
    auto e = error(kGood);
    EXPECT_NE(e.find("publish.keys"), std::string::npos) << e;
}

TEST_F(IssuerConfigTest, LoadReadsTheFileAndResolvesRelativeToIt) {
    write_file_atomic(dir / "issuer.conf", kGood);
    IssuerConfig c = IssuerConfig::load((dir / "issuer.conf").string());
    EXPECT_EQ(c.state_dir, dir / "state");
    try {
        (void)IssuerConfig::load((dir / "nope.conf").string());
        FAIL() << "a missing file loaded";
    } catch (const ConfigError& e) {
        EXPECT_NE(std::string(e.what()).find("nope.conf"), std::string::npos) << e.what();
    }
}

TEST_F(IssuerConfigTest, KeysChainsHooksAndStatus) {
    IssuerConfig d = parse(kGood);
    EXPECT_EQ(d.key_types, std::vector<KeyType>{KeyType::rsa_3072});
    EXPECT_FALSE(d.next_key);
    EXPECT_EQ(d.preferred_chain, "");
    EXPECT_EQ(d.deploy_hook, "");
    EXPECT_EQ(d.notify_hook, "");
    EXPECT_EQ(d.notify_expiring_days, 14u);
    EXPECT_EQ(d.hook_timeout, std::chrono::seconds(300));
    EXPECT_FALSE(d.metrics_file.has_value());

    IssuerConfig c =
        parse(replaced("key-type = rsa-3072",
                       "key-type = ecdsa-p256  rsa-2048\nnext-key = yes\n"
                       "preferred-chain = Pebble Root CA 1\n"
                       "[hooks]\ndeploy-hook = systemctl reload nginx\n"
                       "notify-hook = logger -t acmezone\nnotify-expiring-days = 7\n"
                       "timeout = 20\n[status]\nmetrics-file = acmezone.prom\n[certs]"));
    EXPECT_EQ(c.key_types, (std::vector<KeyType>{KeyType::ecdsa_p256, KeyType::rsa_2048}));
    EXPECT_EQ(c.key_type, KeyType::ecdsa_p256);
    EXPECT_TRUE(c.next_key);
    EXPECT_EQ(c.preferred_chain, "Pebble Root CA 1");
    EXPECT_EQ(c.deploy_hook, "systemctl reload nginx");
    EXPECT_EQ(c.notify_hook, "logger -t acmezone");
    EXPECT_EQ(c.notify_expiring_days, 7u);
    EXPECT_EQ(c.hook_timeout, std::chrono::seconds(20));
    EXPECT_EQ(c.metrics_file, dir / "acmezone.prom");

    auto e = error(replaced("key-type = rsa-3072", "key-type = rsa-2048 rsa-2048"));
    EXPECT_NE(e.find("issuer.conf:23: certs.key-type: key type rsa-2048 given twice"),
              std::string::npos)
        << e;
    e = error(replaced("key-type = rsa-3072", "key-type = ecdsa-p256 rsa-2048 rsa-4096"));
    EXPECT_NE(e.find("issuer.conf:23: certs.key-type: expected one or two key types"),
              std::string::npos)
        << e;
    e = error(replaced("key-type = rsa-3072", "key-type = ecdsa-p256 ed25519"));
    EXPECT_NE(e.find("issuer.conf:23: certs.key-type: unknown key type \"ed25519\""),
              std::string::npos)
        << e;
    e = error(replaced("parallel = 4", "parallel = 4\nnext-key = maybe"));
    EXPECT_NE(e.find("issuer.conf:25: certs.next-key: \"maybe\": expected yes or no"),
              std::string::npos)
        << e;
    e = error(replaced("parallel = 4", "parallel = 4\n[hooks]\ntimeout = 0"));
    EXPECT_NE(e.find("issuer.conf:26: hooks.timeout"), std::string::npos) << e;
}

TEST_F(IssuerConfigTest, ScheduleOptions) {
    IssuerConfig d = parse(kGood);
    EXPECT_TRUE(d.schedule.renew_before.is_fraction);
    EXPECT_NEAR(d.schedule.renew_before.fraction, 1.0 / 3, 1e-12);
    EXPECT_NEAR(d.schedule.renew_spread.fraction, 1.0 / 20, 1e-12);
    EXPECT_TRUE(d.ari);
    EXPECT_EQ(d.schedule.retry_min, std::chrono::seconds(300));
    EXPECT_EQ(d.schedule.retry_max, std::chrono::seconds(21600));
    EXPECT_EQ(d.daemon_max_sleep, std::chrono::seconds(3600));
    EXPECT_EQ(d.stop_grace, std::chrono::seconds(60));

    IssuerConfig c = parse(replaced("parallel = 4\n",
                                    "parallel = 4\nrenew-before = 30d\nrenew-spread = 0\nari = no\n"
                                    "retry-min = 60\nretry-max = 600\n[daemon]\nmax-sleep = 600\n"
                                    "stop-grace = 0\n"));
    EXPECT_FALSE(c.schedule.renew_before.is_fraction);
    EXPECT_EQ(c.schedule.renew_before.fixed, std::chrono::hours(30 * 24));
    EXPECT_FALSE(c.ari);
    EXPECT_EQ(c.schedule.retry_min, std::chrono::seconds(60));
    EXPECT_EQ(c.schedule.retry_max, std::chrono::seconds(600));
    EXPECT_EQ(c.daemon_max_sleep, std::chrono::seconds(600));
    EXPECT_EQ(c.stop_grace, std::chrono::seconds(0));

    auto e = error(replaced("parallel = 4\n", "parallel = 4\nrenew-before = 3/2\n"));
    EXPECT_NE(e.find("issuer.conf:25: certs.renew-before"), std::string::npos) << e;
    EXPECT_NE(e.find("less than 1"), std::string::npos) << e;
    e = error(replaced("parallel = 4\n", "parallel = 4\nrenew-before = 0d\n"));
    EXPECT_NE(e.find("issuer.conf:25: certs.renew-before"), std::string::npos) << e;
    EXPECT_NE(e.find("more than 0"), std::string::npos) << e;
    e = error(replaced("parallel = 4\n", "parallel = 4\nrenew-spread = soon\n"));
    EXPECT_NE(e.find("issuer.conf:25: certs.renew-spread"), std::string::npos) << e;
    e = error(replaced("parallel = 4\n", "parallel = 4\nari = maybe\n"));
    EXPECT_NE(e.find("issuer.conf:25: certs.ari: \"maybe\": expected yes or no"), std::string::npos)
        << e;
    e = error(replaced("parallel = 4\n", "parallel = 4\nretry-min = 600\nretry-max = 60\n"));
    EXPECT_NE(e.find("issuer.conf:26: certs.retry-max"), std::string::npos) << e;
    EXPECT_NE(e.find("600..604800"), std::string::npos) << e;
    e = error(replaced("parallel = 4\n", "parallel = 4\n[daemon]\nmax-sleep = 1\n"));
    EXPECT_NE(e.find("issuer.conf:26: daemon.max-sleep"), std::string::npos) << e;
}

// Every yes/no option reads the same words: what next-key took as a boolean
// (true, on, 1) and what ari took (yes, no).
TEST_F(IssuerConfigTest, YesNoOptionsReadTheSameWords) {
    const std::pair<const char*, bool> words[] = {{"yes", true},  {"true", true}, {"On", true},
                                                  {"1", true},    {"no", false},  {"false", false},
                                                  {"off", false}, {"0", false}};
    for (const char* key : {"ari", "next-key"}) {
        for (const auto& [word, value] : words) {
            IssuerConfig c = parse(replaced(
                "parallel = 4\n", "parallel = 4\n" + std::string(key) + " = " + word + "\n"));
            EXPECT_EQ(std::string(key) == "ari" ? c.ari : c.next_key, value) << key << " " << word;
        }
    }
}

// [serve]: optional as a whole; with listen, its files (the key mode-checked),
// access rules against configured zones, and a bad expression named.
TEST_F(IssuerConfigTest, ServeSection) {
    EXPECT_FALSE(parse(kGood).serve);
    write_file_atomic(dir / "serve.key", "not read here beyond its mode\n", 0600);
    const std::string serve =
        std::string(kGood) +
        "[serve]\nlisten = 127.0.0.1:8443\ncert = serve.crt\nkey = serve.key\n"
        "client-ca = hosts-ca.pem\n"
        "allow = example.com web1.example.net Web2.Example.NET\n"
        "allow-regex = example.org ^cp[0-9]+\\.eqiad\\.wmnet$\n";
    IssuerConfig c = parse(serve);
    ASSERT_TRUE(c.serve);
    EXPECT_EQ(c.serve->listen.to_string(), "127.0.0.1:8443");
    EXPECT_EQ(c.serve->key_file, dir / "serve.key");
    EXPECT_EQ(c.serve->client_ca, dir / "hosts-ca.pem");
    EXPECT_FALSE(c.serve->client_crl);
    EXPECT_EQ(c.serve->stage_for.count(), 0);
    EXPECT_EQ(c.serve->max_connections, 512u);
    EXPECT_EQ(c.serve->idle_timeout.count(), 30);
    const DnsName com = DnsName::parse("example.com");
    const DnsName org = DnsName::parse("example.org");
    EXPECT_TRUE(c.serve->access.allowed(com, {"web2.example.net"}));
    EXPECT_FALSE(c.serve->access.allowed(org, {"web2.example.net"}));
    EXPECT_TRUE(c.serve->access.allowed(org, {"cp1001.eqiad.wmnet"}));
    EXPECT_FALSE(c.serve->access.allowed(com, {"cp1001.eqiad.wmnet"}));

    EXPECT_EQ(parse(serve + "stage-for = 1h\n").serve->stage_for.count(), 3600);
    auto e = error(serve + "allow-regex = example.com cp[0-9\n");
    EXPECT_NE(e.find("issuer.conf:32: serve.allow-regex: bad regular expression \"cp[0-9\""),
              std::string::npos)
        << e;
    e = error(serve + "allow = example.nope web1.example.net\n");
    EXPECT_NE(e.find("serve.allow: \"example.nope\" is not a configured zone"), std::string::npos)
        << e;
    e = error(serve + "allow = example.com\n");
    EXPECT_NE(e.find("expected a zone then at least one host"), std::string::npos) << e;
    e = error(std::string(kGood) + "[serve]\nallow = example.com web1.example.net\n");
    EXPECT_NE(e.find("serve.allow: needs serve.listen"), std::string::npos) << e;
    e = error(std::string(kGood) + "[serve]\nlisten = 127.0.0.1:8443\ncert = c\nkey = serve.key\n");
    EXPECT_NE(e.find("needs serve.client-ca too"), std::string::npos) << e;
    fs::permissions(dir / "serve.key", fs::perms(0644));
    e = error(serve);
    EXPECT_NE(e.find("serve.key"), std::string::npos) << e;
    EXPECT_NE(e.find("chmod 600"), std::string::npos) << e;
}

TEST_F(IssuerConfigTest, CertificateTransparencyOptions) {
    IssuerConfig d = parse(kGood);
    EXPECT_FALSE(d.ct_mode.has_value());
    EXPECT_FALSE(d.ct_log_list.has_value());
    EXPECT_EQ(d.ct_mode_for(d.directory), CtMode::off);  // Pebble on 127.0.0.1
    EXPECT_EQ(d.ct_mode_for("https://acme-v02.api.letsencrypt.org/directory"), CtMode::require);

    write_file_atomic(dir / "logs.cnf",
                      "enabled_logs = pilot\n[pilot]\ndescription = Google Pilot log\nkey = "
                      "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEfahLEimAoz2t01p3uMziiLOl/"
                      "fHTDM0YDOhBRuiBARsV4UvxG2LdNgoIGLrtCzWE0J5APC2em4JlvR8EEEFMoA==\n");
    IssuerConfig c =
        parse(replaced("parallel = 4", "parallel = 4\nct = warn\nct-log-list = logs.cnf"));
    EXPECT_EQ(c.ct_mode, CtMode::warn);
    EXPECT_EQ(c.ct_mode_for(c.directory), CtMode::warn);
    EXPECT_EQ(c.ct_log_list, dir / "logs.cnf");

    auto e = error(replaced("parallel = 4", "parallel = 4\nct = maybe"));
    EXPECT_NE(e.find("issuer.conf:25: certs.ct: unknown mode \"maybe\" (expected require, warn "
                     "or off)"),
              std::string::npos)
        << e;
    write_file_atomic(dir / "bad.cnf", "enabled_logs = a\n[a]\ndescription = A\n");
    e = error(replaced("parallel = 4", "parallel = 4\nct-log-list = bad.cnf"));
    EXPECT_NE(e.find("issuer.conf:25: certs.ct-log-list: CT log list " +
                     (dir / "bad.cnf").string() + " does not load"),
              std::string::npos)
        << e;
}
