// The [acme] options for rate limits, the fallback and the standby CA (issuer_config),
// and CaFailover's memory of when the first CA began failing.
#include <gtest/gtest.h>

#include <filesystem>

#include "common/error.h"
#include "common/file_io.h"
#include "common/utc_time.h"
#include "issuer/ca/ca_failover.h"
#include "issuer/ca/ca_session.h"
#include "issuer/cli/issuer_config.h"

namespace acmezone::issuer {
namespace {
namespace fs = std::filesystem;
using namespace std::chrono_literals;

const char* kKeys = R"(key "acme-key" {
    algorithm hmac-sha256;
    secret "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3I=";
};
)";

const std::string kBase = R"([acme]
directory = https://127.0.0.1:14000/dir
state-dir = state
)";
const std::string kRest = R"([zones]
zone = example.com
[publish]
control = 127.0.0.1:5353
key = acme-key
keys = keys.conf
[certs]
dir = certs
)";

class CaConfigTest : public ::testing::Test {
  protected:
    void SetUp() override {
        char tmpl[] = "/tmp/acmezone-cacfg-XXXXXX";
        dir = ::mkdtemp(tmpl);
        write_file_atomic(dir / "keys.conf", kKeys, 0600);
        write_file_atomic(dir / "eab.key", "zWNDZM6eQGHWpSRTPal5eIUYFTu7EajVIoguysqZ9wG4\n", 0600);
    }
    void TearDown() override { fs::remove_all(dir); }

    IssuerConfig parse(const std::string& acme_lines) {
        return IssuerConfig::parse(kBase + acme_lines + kRest, "issuer.conf", dir);
    }
    std::string error(const std::string& acme_lines) {
        try {
            parse(acme_lines);
        } catch (const ConfigError& e) {
            return e.what();
        }
        return "";
    }
    fs::path dir;
};

TEST_F(CaConfigTest, DefaultsAreLetsEncryptsLimitsAndNoFallback) {
    const IssuerConfig c = parse("");
    EXPECT_EQ(300u, c.rate_limits.orders_per_3h);
    EXPECT_EQ(50u, c.rate_limits.certs_per_domain_per_week);
    EXPECT_EQ(5u, c.rate_limits.certs_per_nameset_per_week);
    EXPECT_EQ(5u, c.rate_limits.failed_authz_per_name_per_hour);
    EXPECT_FALSE(c.fallback.has_value());
    EXPECT_EQ(dir / "state" / "rate-budget.json", c.rate_budget_path());
}

TEST_F(CaConfigTest, PresetsAndOverrides) {
    IssuerConfig c = parse("rate-limits = none\norders-per-3h = 2\n");
    EXPECT_EQ(2u, c.rate_limits.orders_per_3h);
    EXPECT_EQ(0u, c.rate_limits.certs_per_domain_per_week);
    c = parse("certs-per-nameset-per-week = 0\nfailed-authz-per-name-per-hour = 9\n");
    EXPECT_EQ(300u, c.rate_limits.orders_per_3h);
    EXPECT_EQ(0u, c.rate_limits.certs_per_nameset_per_week);
    EXPECT_EQ(9u, c.rate_limits.failed_authz_per_name_per_hour);
    EXPECT_EQ(
        "issuer.conf:4: acme.rate-limits: unknown rate limits \"zerossl\" (expected "
        "letsencrypt or none)",
        error("rate-limits = zerossl\n"));
    EXPECT_NE(std::string::npos,
              error("orders-per-3h = 2000000\n").find("issuer.conf:4: acme.orders-per-3h: value"));
}

TEST_F(CaConfigTest, FallbackWithEab) {
    const IssuerConfig c = parse(
        "fallback-directory = https://127.0.0.1:15000/dir\nfallback-ca-file = ca2.pem\n"
        "fallback-eab-kid = kid-1\nfallback-eab-key-file = eab.key\nfallback-after = 30m\n"
        "fallback-rate-limits = none\n");
    ASSERT_TRUE(c.fallback.has_value());
    EXPECT_EQ("https://127.0.0.1:15000/dir", c.fallback->directory);
    EXPECT_EQ(dir / "ca2.pem", c.fallback->ca_file);
    EXPECT_EQ("kid-1", c.fallback->eab_kid);
    EXPECT_EQ(dir / "eab.key", c.fallback->eab_key_file);
    EXPECT_EQ(1800s, c.fallback->after);
    EXPECT_TRUE(c.fallback->rate_limits.unlimited());
    EXPECT_EQ(dir / "state" / "account-fallback.key", c.fallback_account_key_path());
    EXPECT_EQ(3600s, parse("fallback-directory = https://b.example/dir\n").fallback->after);
    EXPECT_EQ(
        0s,
        parse("fallback-directory = https://b.example/dir\nfallback-after = 0\n").fallback->after);
    EXPECT_EQ(
        172800s,
        parse("fallback-directory = https://b.example/dir\nfallback-after = 2d\n").fallback->after);
}

TEST_F(CaConfigTest, FallbackMistakesNameFileLineAndKey) {
    const std::string fb = "fallback-directory = https://b.example/dir\n";
    EXPECT_EQ(
        "issuer.conf:4: acme.fallback-directory: \"http://b.example/dir\" is not an "
        "https:// URL",
        error("fallback-directory = http://b.example/dir\n"));
    EXPECT_EQ("issuer.conf:4: acme.fallback-eab-kid: needs acme.fallback-directory",
              error("fallback-eab-kid = k\n"));
    EXPECT_EQ(
        "issuer.conf:5: acme.fallback-eab-kid: External Account Binding needs both "
        "fallback-eab-kid and fallback-eab-key-file",
        error(fb + "fallback-eab-kid = k\n"));
    EXPECT_EQ(
        "issuer.conf:5: acme.fallback-after: \"1w\" is not a duration (seconds, or a "
        "number with s, m, h or d)",
        error(fb + "fallback-after = 1w\n"));
    EXPECT_NE(std::string::npos,
              error(fb + "fallback-after = 31d\n").find("is longer than 30 days"));
    fs::permissions(dir / "eab.key", fs::perms(0644));
    const std::string e = error(fb + "fallback-eab-kid = k\nfallback-eab-key-file = eab.key\n");
    EXPECT_NE(std::string::npos, e.find("issuer.conf:6: acme.fallback-eab-key-file: EAB key file " +
                                        (dir / "eab.key").string() + " has mode 0644"))
        << e;
    EXPECT_NE(std::string::npos, e.find("chmod 600")) << e;
}

// [acme] eab-kid and eab-key-file: the first CA's External Account Binding,
// parsed and checked as the fallback's and the standby's (one parser), and
// what the first CA's session gets (acme_settings).
TEST_F(CaConfigTest, FirstCaWithEab) {
    IssuerConfig c = parse("");
    EXPECT_EQ("", c.eab_kid);
    EXPECT_FALSE(c.eab_key_file.has_value());
    c = parse("eab-kid = kid-0\neab-key-file = eab.key\n");
    EXPECT_EQ("kid-0", c.eab_kid);
    EXPECT_EQ(dir / "eab.key", c.eab_key_file);
    const AcmeSettings first = acme_settings(c, CaRole::first);
    ASSERT_TRUE(first.eab.has_value()) << "the first CA's session binds its account";
    EXPECT_EQ("kid-0", first.eab->kid());
    c = parse(
        "eab-kid = kid-0\neab-key-file = eab.key\nstandby-directory = https://b.example/dir\n");
    EXPECT_FALSE(acme_settings(c, CaRole::standby).eab.has_value()) << "the first CA's only";
    EXPECT_EQ(
        "issuer.conf:4: acme.eab-key-file: External Account Binding needs both eab-kid and "
        "eab-key-file",
        error("eab-key-file = eab.key\n"));
    EXPECT_EQ("issuer.conf:4: acme.eab-kid: is empty",
              error("eab-kid =\neab-key-file = eab.key\n"));
    fs::permissions(dir / "eab.key", fs::perms(0644));
    const std::string e = error("eab-kid = k\neab-key-file = eab.key\n");
    EXPECT_NE(std::string::npos, e.find("issuer.conf:5: acme.eab-key-file: EAB key file " +
                                        (dir / "eab.key").string() + " has mode 0644"))
        << e;
    EXPECT_NE(std::string::npos, e.find("chmod 600")) << e;
}

// [acme] standby-*: the options a fallback CA has (one parser for both), its
// own account key and renew-before (default [certs] renew-before).
TEST_F(CaConfigTest, StandbyWithEabAndItsOwnRenewBefore) {
    const IssuerConfig c = parse(
        "standby-directory = https://127.0.0.1:15001/dir\nstandby-ca-file = ca3.pem\n"
        "standby-eab-kid = kid-2\nstandby-eab-key-file = eab.key\n"
        "standby-rate-limits = none\nstandby-renew-before = 10d\n");
    ASSERT_TRUE(c.standby.has_value());
    EXPECT_FALSE(c.fallback.has_value());
    EXPECT_EQ("https://127.0.0.1:15001/dir", c.standby->directory);
    EXPECT_EQ(dir / "ca3.pem", c.standby->ca_file);
    EXPECT_EQ("kid-2", c.standby->eab_kid);
    EXPECT_EQ(dir / "eab.key", c.standby->eab_key_file);
    EXPECT_TRUE(c.standby->rate_limits.unlimited());
    EXPECT_FALSE(c.standby->renew_before.is_fraction);
    EXPECT_EQ(std::chrono::seconds(10 * 86400), c.standby->renew_before.fixed);
    EXPECT_EQ(dir / "state" / "account-standby.key", c.standby_account_key_path());
    const IssuerConfig d = parse("standby-directory = https://c.example/dir\n");
    EXPECT_TRUE(d.standby->renew_before.is_fraction);
    EXPECT_DOUBLE_EQ(1.0 / 3, d.standby->renew_before.fraction);
    EXPECT_FALSE(d.standby->rate_limits.unlimited());  // letsencrypt's
    EXPECT_EQ(std::chrono::seconds(86400), d.standby->grace);
    EXPECT_EQ(
        7200s,
        parse("standby-directory = https://c.example/dir\nstandby-grace = 2h\n").standby->grace);
}

TEST_F(CaConfigTest, StandbyMistakesNameFileLineAndKey) {
    const std::string sb = "standby-directory = https://c.example/dir\n";
    EXPECT_EQ("issuer.conf:4: acme.standby-eab-key-file: needs acme.standby-directory",
              error("standby-eab-key-file = eab.key\n"));
    EXPECT_EQ("issuer.conf:4: acme.standby-renew-before: needs acme.standby-directory",
              error("standby-renew-before = 1/4\n"));
    EXPECT_EQ("issuer.conf:4: acme.standby-grace: needs acme.standby-directory",
              error("standby-grace = 1h\n"));
    EXPECT_EQ("issuer.conf:4: acme.standby-directory: is the same as acme.directory",
              error("standby-directory = https://127.0.0.1:14000/dir\n"));
    EXPECT_EQ(
        "issuer.conf:5: acme.standby-eab-kid: External Account Binding needs both "
        "standby-eab-kid and standby-eab-key-file",
        error(sb + "standby-eab-kid = k\n"));
    EXPECT_NE(std::string::npos,
              error("fallback-directory = https://c.example/dir\n" + sb)
                  .find("acme.standby-directory: is the same as acme.fallback-directory"));
    EXPECT_NE(std::string::npos,
              error(sb + "standby-renew-before = 0\n").find("must be more than 0"));
}

TEST(CaFailover, RemembersTheFirstFailureUntilASuccess) {
    char tmpl[] = "/tmp/acmezone-fo-XXXXXX";
    const fs::path dir = ::mkdtemp(tmpl);
    const fs::path file = dir / "ca-failover.json";
    const auto t0 = std::chrono::system_clock::time_point(std::chrono::seconds(1'800'000'000));
    {
        CaFailover f(file, "https://a/dir");
        EXPECT_FALSE(f.state().failing_since.has_value());
        EXPECT_EQ(t0, f.primary_failed("connection refused", t0));
        EXPECT_EQ(t0, f.primary_failed("connection refused again", t0 + 10min));
        f.fallback_used("https://b/dir", t0 + 10min);
    }
    CaFailoverState s = CaFailover::read(file, "https://a/dir");
    EXPECT_EQ(t0, s.failing_since);
    EXPECT_EQ("connection refused again", s.last_error);
    EXPECT_TRUE(s.used_fallback);
    EXPECT_EQ("https://b/dir", s.used);
    // About another first CA: not this one's failure.
    EXPECT_FALSE(CaFailover::read(file, "https://c/dir").failing_since.has_value());
    {
        CaFailover f(file, "https://a/dir");
        EXPECT_EQ(t0, f.primary_failed("still", t0 + 20min));
        f.primary_ok(t0 + 30min);
    }
    s = CaFailover::read(file, "https://a/dir");
    EXPECT_FALSE(s.failing_since.has_value());
    EXPECT_FALSE(s.used_fallback);
    write_file_atomic(file, "garbage", 0644);
    EXPECT_FALSE(CaFailover::read(file, "https://a/dir").failing_since.has_value());
    fs::remove_all(dir);
}

TEST(CaFailover, FarFutureTimesInTheFileAreClampedNotOverflowed) {
    char tmpl[] = "/tmp/acmezone-fo-XXXXXX";
    const fs::path dir = ::mkdtemp(tmpl);
    const fs::path file = dir / "ca-failover.json";
    write_file_atomic(file,
                      R"({"directory": "https://a/dir", "failing_since": 9223372036854775807,
                          "used_at": -9223372036854775807, "used": "https://b/dir",
                          "used_fallback": true})",
                      0644);
    const CaFailoverState s = CaFailover::read(file, "https://a/dir");
    ASSERT_TRUE(s.failing_since.has_value());
    EXPECT_EQ(format_utc(*s.failing_since), "2200-01-01T00:00:00Z");
    ASSERT_TRUE(s.used_at.has_value());
    EXPECT_EQ(format_utc(*s.used_at), "1970-01-01T00:00:00Z");
    fs::remove_all(dir);
}

}  // namespace
}  // namespace acmezone::issuer
