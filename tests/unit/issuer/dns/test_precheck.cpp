// The checks before ordering and gdnsd publishing, hermetic parts: CAA
// decisions (RFC 8659), the advice for a control socket's refusal by rcode,
// the test value, the gdnsdctl command (split, run with a timeout, argv it
// gets, errors), and their configuration options. The checks against real
// named, the plugin and Pebble are tests/integration/test_issuer_check.sh;
// against gdnsd, test_issuer_gdnsd.sh.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "common/dns_rcode.h"
#include "common/error.h"
#include "common/file_io.h"
#include "issuer/cli/issuer_config.h"
#include "issuer/dns/caa.h"
#include "issuer/dns/gdnsd_publisher.h"
#include "issuer/dns/precheck.h"
#include "tests/unit/temp_dir.h"

using namespace acmezone;
using namespace acmezone::issuer;
using acmezone::test_support::TempDir;
using ::testing::HasSubstr;
using ::testing::Not;
namespace fs = std::filesystem;

namespace {

const DnsName kZone = DnsName::parse("example.com");

CaaSet caa(std::vector<CaaRecord> records) {
    return CaaSet{DnsName::parse("example.com"), std::move(records), "", false};
}

CaaVerdict::Kind verdict(const CaaSet& set, bool wildcard, std::vector<std::string> ids) {
    return caa_decide(set, kZone, wildcard, ids).kind;
}

using K = CaaVerdict::Kind;

}  // namespace

TEST(Caa, IssuerDomainIsTheValueUpToTheFirstSemicolon) {
    EXPECT_EQ(caa_issuer_domain("letsencrypt.org"), "letsencrypt.org");
    EXPECT_EQ(caa_issuer_domain(" LetsEncrypt.org ; validationmethods=dns-01"), "letsencrypt.org");
    EXPECT_EQ(caa_issuer_domain(";"), "");
    EXPECT_EQ(caa_issuer_domain(""), "");
}

TEST(Caa, NoRecordsAllowEveryCa) {
    EXPECT_EQ(verdict(caa({}), false, {}), K::allowed);
    EXPECT_EQ(verdict(caa({}), true, {"pebble.test"}), K::allowed);
    // Only iodef: no issue property, so no restriction.
    CaaSet iodef = caa({{0, "iodef", "mailto:x@example.com"}});
    EXPECT_EQ(verdict(iodef, false, {"pebble.test"}), K::allowed);
    EXPECT_EQ(verdict(iodef, true, {}), K::allowed);
}

TEST(Caa, IssueMatchesTheCaIdentityCaseInsensitively) {
    CaaSet set = caa({{0, "issue", "other.example"}, {0, "issue", "Pebble.Test; x=y"}});
    EXPECT_EQ(verdict(set, false, {"pebble.test"}), K::allowed);
    EXPECT_EQ(verdict(set, true, {"pebble.test"}), K::allowed);  // no issuewild: issue rules
    CaaVerdict v = caa_decide(caa({{0, "issue", "other.example"}}), kZone, false, {"pebble.test"});
    EXPECT_EQ(v.kind, K::forbidden);
    EXPECT_THAT(v.detail, HasSubstr("allows only other.example"));
    EXPECT_THAT(v.detail, HasSubstr("pebble.test"));
}

TEST(Caa, IssuewildTakesPrecedenceForTheWildcard) {
    // issue allows us, issuewild allows someone else: Z yes, *.Z no.
    CaaSet set = caa({{0, "issue", "pebble.test"}, {0, "issuewild", "other.example"}});
    EXPECT_EQ(verdict(set, false, {"pebble.test"}), K::allowed);
    CaaVerdict v = caa_decide(set, kZone, true, {"pebble.test"});
    EXPECT_EQ(v.kind, K::forbidden);
    EXPECT_THAT(v.detail, HasSubstr("*.example.com"));
    // And the other way round.
    set = caa({{0, "issue", "other.example"}, {0, "issuewild", "pebble.test"}});
    EXPECT_EQ(verdict(set, false, {"pebble.test"}), K::forbidden);
    EXPECT_EQ(verdict(set, true, {"pebble.test"}), K::allowed);
}

TEST(Caa, AnEmptyIssuerAllowsNoCaEvenWithoutIdentities) {
    CaaSet set = caa({{0, "issue", ";"}});
    EXPECT_EQ(verdict(set, false, {}), K::forbidden);
    EXPECT_EQ(verdict(set, false, {"pebble.test"}), K::forbidden);
    // issuewild ";" forbids only the wildcard.
    set = caa({{0, "issuewild", ";"}});
    EXPECT_EQ(verdict(set, false, {"pebble.test"}), K::allowed);
    EXPECT_EQ(verdict(set, true, {"pebble.test"}), K::forbidden);
}

TEST(Caa, WithoutIdentitiesNamedCasCannotBeMatched) {
    CaaVerdict v = caa_decide(caa({{0, "issue", "letsencrypt.org"}}), kZone, false, {});
    EXPECT_EQ(v.kind, K::unknown);
    EXPECT_THAT(v.detail, HasSubstr("letsencrypt.org"));
}

TEST(Caa, AnUnknownCriticalPropertyForbids) {
    CaaSet set = caa({{128, "tbs", "x"}, {0, "issue", "pebble.test"}});
    EXPECT_EQ(verdict(set, false, {"pebble.test"}), K::forbidden);
    // Not critical: ignored.
    set = caa({{0, "tbs", "x"}, {0, "issue", "pebble.test"}});
    EXPECT_EQ(verdict(set, false, {"pebble.test"}), K::allowed);
}

TEST(Caa, AResolverRefusingTheZoneLeavesItUnknown) {
    CaaSet set{kZone, {}, "resolver refused", true};
    EXPECT_EQ(verdict(set, false, {"pebble.test"}), K::unknown);
}

TEST(Precheck, RefusalAdviceByRcode) {
    const DnsName owner = DnsName::parse("_acme-challenge.other.org");
    const DnsName zone = DnsName::parse("other.org");
    const DnsName key = DnsName::parse("acme-key");
    Finding f = control_refusal_finding(DnsError("x", kRcodeNotAuth), "127.0.0.1:5353", zone, owner,
                                        false, std::nullopt, key);
    EXPECT_EQ(f.result, Finding::Result::failed);
    EXPECT_EQ(f.what,
              "_acme-challenge.other.org has no CNAME and other.org is not a zone of the control "
              "socket at 127.0.0.1:5353 (answered NOTAUTH)");
    EXPECT_THAT(f.fix, HasSubstr("add `zone = other.org` to plugin.conf's zones"));
    EXPECT_THAT(f.fix, HasSubstr("or CNAME _acme-challenge.other.org to a name in your challenge"));

    const DnsName target = DnsName::parse("other.org.chal.example.net");
    f = control_refusal_finding(DnsError("x", kRcodeNotAuth), "127.0.0.1:5353", zone, target, true,
                                std::nullopt, key);
    EXPECT_THAT(f.what, HasSubstr("is a CNAME to other.org.chal.example.net, which is in no zone"));
    EXPECT_THAT(f.fix, HasSubstr("challenge-zone ="));

    // REFUSED: the grant, naming the zone the plugin reports (a `zone`'s
    // claim is its _acme-challenge name; a challenge zone is itself).
    f = control_refusal_finding(DnsError("x", kRcodeRefused), "127.0.0.1:5353", zone, owner, false,
                                owner, key);
    EXPECT_THAT(f.what, HasSubstr("answered REFUSED"));
    EXPECT_THAT(f.what, HasSubstr("key acme-key is not granted _acme-challenge.other.org"));
    EXPECT_THAT(f.fix, HasSubstr("add `grant = acme-key zonesub other.org` to the [control]"));
    EXPECT_THAT(f.fix, HasSubstr("named's log names the plugin's reason"));
    EXPECT_THAT(f.fix, HasSubstr("replay-memory"));
    f = control_refusal_finding(DnsError("x", kRcodeRefused), "127.0.0.1:5353", zone, target, true,
                                DnsName::parse("chal.example.net"), key);
    EXPECT_THAT(f.fix, HasSubstr("`grant = acme-key zonesub chal.example.net`"));

    // Anything else: the message as it came, no made-up advice.
    f = control_refusal_finding(DnsError("control socket x answered SERVFAIL", kRcodeServFail),
                                "127.0.0.1:5353", zone, owner, false, std::nullopt, key);
    EXPECT_EQ(f.what, "control socket x answered SERVFAIL");
    EXPECT_THAT(f.fix, HasSubstr("acmezone-issuer check other.org"));
}

TEST(Precheck, FailureTextListsOnlyFailedFindings) {
    PrecheckReport r;
    r.zone = kZone;
    r.findings = {{"challenge name", Finding::Result::ok, "fine", ""},
                  {"CAA", Finding::Result::warning, "hmm", "maybe"},
                  {"publish", Finding::Result::failed, "refused", "grant it"}};
    EXPECT_TRUE(r.failed());
    EXPECT_EQ(r.failure_text(), "publish: refused (fix: grant it)");
    r.findings.pop_back();
    EXPECT_FALSE(r.failed());
}

TEST(Precheck, TestValuesAreLabelledFreshAnd43Base64urlCharacters) {
    std::string a = precheck_test_value();
    std::string b = precheck_test_value();
    EXPECT_NE(a, b);
    for (const std::string& v : {a, b}) {
        EXPECT_EQ(v.size(), 43u);
        EXPECT_TRUE(v.starts_with("acmezone-precheck-")) << v;
        EXPECT_EQ(v.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                      "0123456789-_"),
                  std::string::npos)
            << v;
    }
}

TEST(Gdnsdctl, SplitCommand) {
    std::string error;
    auto argv = split_command("  /usr/bin/gdnsdctl\t-s 127.0.0.1:3506 ", &error);
    ASSERT_TRUE(argv);
    EXPECT_EQ(*argv, (std::vector<std::string>{"/usr/bin/gdnsdctl", "-s", "127.0.0.1:3506"}));
    EXPECT_FALSE(split_command("   ", &error));
    EXPECT_EQ(error, "no command given");
    EXPECT_FALSE(split_command("gdnsdctl -c \"/etc/my gdnsd\"", &error));
    EXPECT_THAT(error, HasSubstr("without a shell"));
}

TEST(Gdnsdctl, RunCommandCapturesOutputStatusAndTimeout) {
    CommandResult r =
        run_command({"/bin/sh", "-c", "echo out; echo err >&2; exit 3"}, std::chrono::seconds(10));
    EXPECT_FALSE(r.timed_out);
    EXPECT_EQ(r.exit_status, 3);
    EXPECT_THAT(r.output, HasSubstr("out"));
    EXPECT_THAT(r.output, HasSubstr("err"));

    auto start = std::chrono::steady_clock::now();
    r = run_command({"/bin/sleep", "20"}, std::chrono::milliseconds(300));
    EXPECT_TRUE(r.timed_out);
    EXPECT_EQ(r.signal, SIGKILL);
    EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));

    EXPECT_THROW(run_command({"/nonexistent/gdnsdctl"}, std::chrono::seconds(5)),
                 std::system_error);
}

class GdnsdctlPublisherTest : public ::testing::Test {
  protected:
    TempDir tmp{"gdnsdctl"};
    fs::path dir = tmp.path();
    // A stand-in for gdnsdctl that writes each argument on a line of its own.
    std::vector<std::string> recorder(int status) const {
        return {"/bin/sh", "-c",
                "for a in \"$@\"; do echo \"$a\"; done >>" + (dir / "args").string() +
                    "; echo 'error: no daemon' >&2; exit " + std::to_string(status),
                "gdnsdctl"};
    }
};

TEST_F(GdnsdctlPublisherTest, PassesOptionsEndThenPairs) {
    GdnsdctlPublisher p(recorder(0), std::chrono::seconds(10));
    const DnsName owner = DnsName::parse("_acme-challenge.example.com");
    p.publish(owner, {"-startsWithDash", "value2"});
    const std::string want =
        "--\nacme-dns-01\n_acme-challenge.example.com\n-startsWithDash\n"
        "_acme-challenge.example.com\nvalue2\n";
    EXPECT_EQ(read_file(dir / "args"), want);
    // gdnsd cannot remove single values: nothing runs.
    p.unpublish(owner, {"value2"});
    EXPECT_EQ(read_file(dir / "args"), want);
}

TEST_F(GdnsdctlPublisherTest, SplitsAtAHundredPairsARun) {
    GdnsdctlPublisher p(recorder(0), std::chrono::seconds(10));
    std::vector<std::string> values;
    for (int i = 0; i < 150; ++i) {
        values.push_back("v" + std::to_string(i));
    }
    p.publish(DnsName::parse("_acme-challenge.example.com"), values);
    std::string args = read_file(dir / "args");
    std::size_t runs = 0;
    for (std::size_t at = 0; (at = args.find("acme-dns-01\n", at)) != std::string::npos; ++at) {
        ++runs;
    }
    EXPECT_EQ(runs, 2u);
    EXPECT_THAT(args, HasSubstr("\nv149\n"));
}

TEST_F(GdnsdctlPublisherTest, FailuresNameTheCommandStatusAndOutput) {
    GdnsdctlPublisher p(recorder(1), std::chrono::seconds(10));
    try {
        p.publish(DnsName::parse("_acme-challenge.example.com"), {"v"});
        FAIL() << "no error";
    } catch (const DnsError& e) {
        EXPECT_THAT(e.what(), HasSubstr("sh -c"));
        EXPECT_THAT(e.what(), HasSubstr("exited with status 1"));
        EXPECT_THAT(e.what(), HasSubstr("error: no daemon"));
        EXPECT_FALSE(e.rcode());
    }
    // A name gdnsd cannot serve values at: refused before anything runs.
    const std::string before = read_file(dir / "args");
    EXPECT_THROW(p.publish(DnsName::parse("other.chal.example.net"), {"v"}), DnsError);
    EXPECT_EQ(read_file(dir / "args"), before);
}

class OpsConfigTest : public ::testing::Test {
  protected:
    TempDir tmp{"opscfg"};
    fs::path dir = tmp.path();
    std::string error(const std::string& text) const {
        try {
            IssuerConfig::parse(text, "issuer.conf", dir);
        } catch (const ConfigError& e) {
            return e.what();
        }
        return "";
    }
};

namespace {
const std::string kAcme = "[acme]\ndirectory = https://ca/dir\nstate-dir = /s\n";
const std::string kZones = "[zones]\nzone = a.example\n";
const std::string kHead = kAcme + kZones;
const std::string kTail = "[certs]\ndir = /c\n";
}  // namespace

TEST_F(OpsConfigTest, GdnsdctlAloneNeedsNoKey) {
    IssuerConfig c = IssuerConfig::parse(
        kAcme + "caa-identity = LetsEncrypt.org\n" + kZones +
            "[publish]\n"
            "gdnsdctl = /usr/bin/gdnsdctl -s 127.0.0.1:3506\ngdnsdctl-timeout = 7\n" +
            kTail,
        "issuer.conf", dir);
    ASSERT_EQ(c.dns.gdnsdctl.size(), 1u);
    EXPECT_EQ(c.dns.gdnsdctl[0],
              (std::vector<std::string>{"/usr/bin/gdnsdctl", "-s", "127.0.0.1:3506"}));
    EXPECT_EQ(c.dns.command_timeout, std::chrono::seconds(7));
    EXPECT_TRUE(c.dns.controls.empty());
    EXPECT_EQ(c.caa_identities, (std::vector<std::string>{"letsencrypt.org"}));
}

TEST_F(OpsConfigTest, BadInputNamesFileLineAndKey) {
    EXPECT_THAT(error(kHead + "[publish]\n" + kTail), HasSubstr("needs control = IP:PORT"));
    std::string e = error(kHead + "[publish]\ngdnsdctl = gdnsdctl -c \"/a b\"\n" + kTail);
    EXPECT_THAT(e, HasSubstr("issuer.conf:7: publish.gdnsdctl"));
    EXPECT_THAT(e, HasSubstr("without a shell"));
    e = error(kHead + "[publish]\ngdnsdctl = gdnsdctl\ngdnsdctl-timeout = 0\n" + kTail);
    EXPECT_THAT(e, HasSubstr("issuer.conf:8: publish.gdnsdctl-timeout"));
    e = error(kAcme + "caa-identity = bad..name\n" + kZones + "[publish]\ngdnsdctl = gdnsdctl\n" +
              kTail);
    EXPECT_THAT(e, HasSubstr("issuer.conf:4: acme.caa-identity"));
    e = error(kHead + "[publish]\ncontrol = 127.0.0.1:5353\n" + kTail);
    EXPECT_THAT(e, HasSubstr("issuer.conf:7: publish.control: needs publish.key"));
    EXPECT_THAT(e, Not(HasSubstr("gdnsdctl")));
}
