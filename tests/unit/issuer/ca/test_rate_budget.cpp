// RateBudget: sliding windows with an injected clock, registered domains by
// the Public Suffix List, planning a pass, persistence and a corrupt ledger.
#include "issuer/ca/rate_budget.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <thread>
#include <vector>

#include "common/file_io.h"
#include "common/log.h"
#include "common/utc_time.h"
#include "tests/unit/temp_dir.h"

namespace acmezone::issuer {
namespace {
namespace fs = std::filesystem;
using namespace std::chrono_literals;
using Clock = std::chrono::system_clock;

using acmezone::test_support::TempDir;

std::vector<DnsName> zone_names(const std::string& zone) {
    return {DnsName::parse(zone), DnsName::parse("*." + zone)};
}

OrderRequest request(const std::string& zone, Renewal r = Renewal::no) {
    return {zone_names(zone), r};
}

const Clock::time_point kT0 = Clock::time_point(std::chrono::seconds(1'800'000'000));
const std::string kCa = "https://acme.test/dir";

RateLimits only_orders(unsigned n) {
    RateLimits l = RateLimits::none();
    l.orders_per_3h = n;
    return l;
}

TEST(RegisteredDomain, FollowsThePublicSuffixList) {
    EXPECT_EQ("example.com", registered_domain(DnsName::parse("a.b.example.com")));
    EXPECT_EQ("example.com", registered_domain(DnsName::parse("*.example.com")));
    EXPECT_EQ("example.com", registered_domain(DnsName::parse("example.com")));
    EXPECT_EQ("example.co.uk", registered_domain(DnsName::parse("example.co.uk")));
    EXPECT_EQ("example.co.uk", registered_domain(DnsName::parse("new.blog.example.co.uk")));
    // A public suffix itself has no registrable part: it stands for itself.
    EXPECT_EQ("co.uk", registered_domain(DnsName::parse("co.uk")));
}

TEST(RateBudget, OrdersWindowSlidesAndNamesTheEarliestTime) {
    TempDir tmp("budget");
    RateBudget b(tmp.path() / "rate-budget.json", kCa, only_orders(2));
    EXPECT_TRUE(b.check(request("a.example"), kT0).allowed);
    b.record_order(zone_names("a.example"), kT0);
    b.record_order(zone_names("b.example"), kT0 + 10min);

    BudgetDecision d = b.check(request("c.example"), kT0 + 20min);
    EXPECT_FALSE(d.allowed);
    EXPECT_EQ(kT0 + 3h, d.not_before);  // the oldest order leaves the window
    EXPECT_NE(std::string::npos, d.limit.find("orders-per-3h (2 of 2 used in 3 h)")) << d.limit;

    EXPECT_FALSE(b.check(request("c.example"), kT0 + 3h - 1s).allowed);
    EXPECT_TRUE(b.check(request("c.example"), kT0 + 3h).allowed);
    b.record_order(zone_names("c.example"), kT0 + 3h);
    d = b.check(request("d.example"), kT0 + 3h);
    EXPECT_FALSE(d.allowed);
    EXPECT_EQ(kT0 + 10min + 3h, d.not_before);
}

TEST(RateBudget, CertificatesPerNameSetAndPerRegisteredDomain) {
    TempDir tmp("budget");
    RateLimits l = RateLimits::none();
    l.certs_per_nameset_per_week = 2;
    l.certs_per_domain_per_week = 3;
    RateBudget b(tmp.path() / "rb.json", kCa, l);
    b.record_issued(zone_names("a.example.co.uk"), Renewal::no, kT0);
    b.record_issued(zone_names("a.example.co.uk"), Renewal::yes, kT0 + 1h);
    // Same set twice in the week: the third waits for the first to leave it.
    BudgetDecision d = b.check(request("a.example.co.uk", Renewal::yes), kT0 + 2h);
    EXPECT_FALSE(d.allowed);
    EXPECT_EQ(kT0 + 24h * 7, d.not_before);
    EXPECT_NE(std::string::npos, d.limit.find("certs-per-nameset-per-week")) << d.limit;

    b.record_issued(zone_names("b.example.co.uk"), Renewal::no, kT0 + 2h);
    // example.co.uk has 3 certificates this week: a new name set waits...
    d = b.check(request("c.example.co.uk"), kT0 + 3h);
    EXPECT_FALSE(d.allowed);
    EXPECT_NE(std::string::npos,
              d.limit.find("certs-per-domain-per-week for example.co.uk (3 of 3 used"))
        << d.limit;
    EXPECT_EQ(kT0 + 24h * 7, d.not_before);
    // ... a renewal does not (Let's Encrypt's renewal exemption) ...
    EXPECT_TRUE(b.check(request("b.example.co.uk", Renewal::yes), kT0 + 3h).allowed);
    // ... nor does another registered domain.
    EXPECT_TRUE(b.check(request("other.co.uk"), kT0 + 3h).allowed);
}

TEST(RateBudget, FailedAuthorizationsPerName) {
    TempDir tmp("budget");
    RateLimits l = RateLimits::none();
    l.failed_authz_per_name_per_hour = 2;
    RateBudget b(tmp.path() / "rb.json", kCa, l);
    b.record_failed_authorization(DnsName::parse("*.a.example"), kT0);
    EXPECT_TRUE(b.check(request("a.example"), kT0 + 1min).allowed);
    b.record_failed_authorization(DnsName::parse("a.example"), kT0 + 5min);
    BudgetDecision d = b.check(request("a.example"), kT0 + 6min);
    EXPECT_FALSE(d.allowed);
    EXPECT_EQ(kT0 + 1h, d.not_before);
    EXPECT_NE(std::string::npos, d.limit.find("failed-authz-per-name-per-hour for a.example"));
    EXPECT_TRUE(b.check(request("b.example"), kT0 + 6min).allowed);
}

TEST(RateBudget, AriRenewalsSkipTheOrderAndDomainLimitsOnly) {
    TempDir tmp("budget");
    RateBudget b(tmp.path() / "rb.json", kCa, only_orders(1));
    b.record_order(zone_names("a.example"), kT0);
    EXPECT_FALSE(b.check(request("a.example", Renewal::yes), kT0).allowed);
    EXPECT_TRUE(b.check(request("a.example", Renewal::ari), kT0).allowed);
    b.record_ca_refusal(zone_names("a.example"), kT0 + 30min, "too many", kT0);
    BudgetDecision d = b.check(request("a.example", Renewal::ari), kT0 + 1min);
    EXPECT_FALSE(d.allowed);
    EXPECT_EQ(kT0 + 30min, d.not_before);
    EXPECT_NE(std::string::npos, d.limit.find("the CA answered rateLimited (too many)"));
    EXPECT_TRUE(b.check(request("a.example", Renewal::ari), kT0 + 30min).allowed);

    // Not the registered domain's limit either; but the set of names' and
    // the failed authorizations' limits hold an ARI renewal back too.
    RateLimits lim = RateLimits::none();
    lim.certs_per_domain_per_week = 1;
    lim.certs_per_nameset_per_week = 2;
    lim.failed_authz_per_name_per_hour = 1;
    RateBudget c(tmp.path() / "rb2.json", kCa, lim);
    c.record_issued(zone_names("b.example"), Renewal::no, kT0);
    EXPECT_FALSE(c.check(request("new.b.example"), kT0).allowed);  // the domain's one used
    EXPECT_TRUE(c.check(request("b.example", Renewal::ari), kT0).allowed);
    c.record_issued(zone_names("b.example"), Renewal::ari, kT0);
    d = c.check(request("b.example", Renewal::ari), kT0);
    EXPECT_FALSE(d.allowed);
    EXPECT_NE(std::string::npos, d.limit.find("certs-per-nameset-per-week (2 of 2")) << d.limit;
    c.record_failed_authorization(DnsName::parse("c.example"), kT0);
    d = c.check(request("c.example", Renewal::ari), kT0);
    EXPECT_FALSE(d.allowed);
    EXPECT_NE(std::string::npos, d.limit.find("failed-authz-per-name-per-hour for c.example"))
        << d.limit;
}

TEST(RateBudget, RemainingPerLimitAndScopeForTheMetrics) {
    TempDir tmp("budget");
    RateLimits lim = RateLimits::letsencrypt();
    lim.failed_authz_per_name_per_hour = 0;  // no limit: left out
    RateBudget b(tmp.path() / "rb.json", kCa, lim);
    b.record_order(zone_names("a.example.com"), kT0);
    b.record_order(zone_names("a.example.com"), kT0);
    b.record_issued(zone_names("a.example.com"), Renewal::no, kT0);
    b.record_issued(zone_names("a.example.com"), Renewal::no, kT0);
    b.record_issued(zone_names("b.example.com"), Renewal::no, kT0);
    const auto r =
        b.remaining({zone_names("a.example.com"), zone_names("b.example.com")}, kT0 + 1min);
    auto find = [&](const std::string& limit, const std::string& scope) {
        for (const auto& x : r) {
            if (x.limit == limit && x.scope == scope) {
                return std::optional<RateBudget::Remaining>(x);
            }
        }
        return std::optional<RateBudget::Remaining>();
    };
    ASSERT_EQ(r.size(), 4u);  // orders; one domain; two name sets
    ASSERT_TRUE(find("orders-per-3h", "account"));
    EXPECT_EQ(find("orders-per-3h", "account")->left, 298u);
    EXPECT_EQ(find("orders-per-3h", "account")->max, 300u);
    ASSERT_TRUE(find("certs-per-domain-per-week", "example.com"));
    EXPECT_EQ(find("certs-per-domain-per-week", "example.com")->left, 47u);
    ASSERT_TRUE(find("certs-per-nameset-per-week", "*.a.example.com,a.example.com"));
    EXPECT_EQ(find("certs-per-nameset-per-week", "*.a.example.com,a.example.com")->left, 3u);
    EXPECT_EQ(find("certs-per-nameset-per-week", "*.b.example.com,b.example.com")->left, 4u);
    // Three hours on, the orders are out of their window.
    EXPECT_EQ(b.remaining({}, kT0 + 3h)[0].left, 300u);
}

TEST(RateBudget, NoneLimitsNothing) {
    TempDir tmp("budget");
    RateBudget b(tmp.path() / "rb.json", kCa, RateLimits::none());
    for (int i = 0; i < 400; ++i) {
        b.record_order(zone_names("a.example"), kT0);
    }
    b.flush(kT0);
    EXPECT_TRUE(b.check(request("a.example"), kT0).allowed);
    EXPECT_TRUE(RateLimits::none().unlimited());
    EXPECT_FALSE(RateLimits::letsencrypt().unlimited());
    EXPECT_EQ(300u, RateLimits::letsencrypt().orders_per_3h);
}

TEST(RateBudget, PlanAdmitsInTheOrderGivenAndDefersTheRest) {
    TempDir tmp("budget");
    RateBudget b(tmp.path() / "rb.json", kCa, only_orders(3));
    b.record_order(zone_names("old.example"), kT0 - 1h);
    const auto decisions = b.plan({request("urgent.example"), request("next.example"),
                                   request("later.example"), request("last.example")},
                                  kT0);
    ASSERT_EQ(4u, decisions.size());
    EXPECT_TRUE(decisions[0].allowed);
    EXPECT_TRUE(decisions[1].allowed);
    EXPECT_FALSE(decisions[2].allowed);
    EXPECT_FALSE(decisions[3].allowed);
    EXPECT_EQ(kT0 + 2h, decisions[2].not_before);
    // plan() records nothing.
    EXPECT_TRUE(b.check(request("later.example"), kT0).allowed);
}

TEST(RateBudget, PersistsPerCaAndPrunesOldEvents) {
    TempDir tmp("budget");
    const fs::path file = tmp.path() / "rate-budget.json";
    {
        RateBudget b(file, kCa, only_orders(1));
        b.record_order(zone_names("a.example"), kT0 - 4h);  // pruned at the next write
        b.record_order(zone_names("b.example"), kT0);
        RateBudget other(file, "https://other.example/dir", only_orders(1));
        other.record_order(zone_names("c.example"), kT0);
    }  // the destructors write what the last second's recordings left unwritten
    const std::string text = read_file(file);
    EXPECT_EQ(std::string::npos, text.find("a.example")) << text;
    RateBudget again(file, kCa, only_orders(1));
    BudgetDecision d = again.check(request("d.example"), kT0 + 1min);
    EXPECT_FALSE(d.allowed);
    EXPECT_EQ(kT0 + 3h, d.not_before);
    RateBudget other(file, "https://other.example/dir", only_orders(1));
    EXPECT_FALSE(other.check(request("d.example"), kT0 + 1min).allowed);
    RateBudget fresh(file, "https://third.example/dir", only_orders(1));
    EXPECT_TRUE(fresh.check(request("d.example"), kT0 + 1min).allowed);
}

// Every zone in flight records through one budget, and the first CA's and
// the fallback's budgets share one file: recordings from many threads at once
// are all kept, in memory and, after the last write, in the file.
TEST(RateBudget, ConcurrentRecordingsIntoTwoBudgetsOfOneFileAreAllKept) {
    TempDir tmp("budget");
    const fs::path file = tmp.path() / "rate-budget.json";
    const std::string fallback = "https://fallback.example/dir";
    constexpr int kThreads = 4;
    constexpr int kEach = 1000;
    const std::string domain = registered_domain(DnsName::parse("z.shared.example"));
    {
        RateBudget first(file, kCa, RateLimits::none());
        RateBudget second(file, fallback, RateLimits::none());
        std::vector<std::thread> threads;
        for (int t = 0; t < kThreads; ++t) {
            threads.emplace_back([&, t] {
                for (int i = 0; i < kEach; ++i) {
                    const std::string zone =
                        "z" + std::to_string(t) + "-" + std::to_string(i) + ".shared.example";
                    first.record_order(zone_names(zone), kT0);
                    second.record_issued(zone_names(zone), Renewal::no, kT0);
                    (void)first.check(request(zone), kT0);
                    (void)second.remaining({zone_names(zone)}, kT0);
                }
            });
        }
        for (std::thread& t : threads) {
            t.join();
        }
        EXPECT_EQ(kThreads * kEach, static_cast<int>(first.usage(domain, kT0).orders_3h));
        EXPECT_EQ(kThreads * kEach, static_cast<int>(second.usage(domain, kT0).certs_domain_week));
    }
    RateBudget first(file, kCa, RateLimits::none());
    RateBudget second(file, fallback, RateLimits::none());
    EXPECT_EQ(kThreads * kEach, static_cast<int>(first.usage(domain, kT0).orders_3h));
    EXPECT_EQ(kThreads * kEach, static_cast<int>(second.usage(domain, kT0).certs_domain_week));
}

// The file is written by hand, not through Json::Value: what a CA's refusal
// says (quotes, backslashes, control characters, UTF-8) reads back the same.
TEST(RateBudget, RefusalDetailsRoundTripThroughTheFile) {
    TempDir tmp("budget");
    const fs::path file = tmp.path() / "rate-budget.json";
    const std::string detail = "too \"many\" \\ orders\n\tfor caf\xc3\xa9.example \x01";
    {
        RateBudget b(file, kCa, RateLimits::none());
        b.record_ca_refusal(zone_names("a.example"), kT0 + 1h, detail, kT0);
    }
    RateBudget again(file, kCa, RateLimits::none());
    const BudgetDecision d = again.check(request("a.example"), kT0 + 1min);
    EXPECT_FALSE(d.allowed);
    EXPECT_EQ(kT0 + 1h, d.not_before);
    EXPECT_EQ("the CA answered rateLimited (" + detail + ")", d.limit);
}

// A write serialises the writer's own section and keeps the file's other
// sections as they were loaded: it does not parse the file again (it did on
// every write, once a second during a pass: at 20,000 events a few MiB, and
// the issuer's RSS grew to 1,175 MiB in bench case 5's 20th run of 1,000
// zones). So a file spoiled after loading is replaced whole, the other CA's
// section intact; with the old re-read, that section was lost.
TEST(RateBudget, AWriteKeepsTheOtherSectionsAsLoadedWithoutReadingTheFileAgain) {
    TempDir tmp("budget");
    const fs::path file = tmp.path() / "rate-budget.json";
    const std::string other = "https://other.example/dir";
    {
        RateBudget o(file, other, only_orders(1));
        o.record_order(zone_names("o.example"), kT0);
    }
    RateBudget b(file, kCa, only_orders(1));
    write_file_atomic(file, "{ spoiled after it was loaded", 0644);
    b.record_order(zone_names("b.example"), kT0);
    b.flush(kT0);
    RateBudget o(file, other, only_orders(1));
    EXPECT_FALSE(o.check(request("x.example"), kT0 + 1min).allowed) << read_file(file);
    RateBudget again(file, kCa, only_orders(1));
    EXPECT_FALSE(again.check(request("x.example"), kT0 + 1min).allowed) << read_file(file);
}

// Recording appends to the journal beside the file and the section is
// written once, at flush(): what a crash leaves (the section of the last
// flush and the journal's lines) loads as every event recorded, and a flush
// folds the journal into the section and removes it.
TEST(RateBudget, RecordingsBetweenFlushesSurviveACrashThroughTheJournal) {
    TempDir tmp("budget");
    const fs::path file = tmp.path() / "rate-budget.json";
    const fs::path journal = tmp.path() / "rate-budget.journal";
    const fs::path crashed = tmp.path() / "crashed";
    fs::create_directory(crashed);
    {
        RateBudget b(file, kCa, only_orders(3));
        b.record_order(zone_names("a.example"), kT0);
    }
    EXPECT_FALSE(fs::exists(journal));
    {
        RateBudget b(file, kCa, only_orders(3));
        b.record_order(zone_names("b.example"), kT0);  // nothing appended in the last second: now
        ASSERT_TRUE(fs::exists(journal));
        EXPECT_EQ(std::string::npos, read_file(file).find("b.example")) << read_file(file);
        // The process dies here: what is on disk is copied before the destructor flushes.
        fs::copy_file(file, crashed / "rate-budget.json");
        fs::copy_file(journal, crashed / "rate-budget.journal");
    }
    EXPECT_FALSE(fs::exists(journal)) << read_file(journal);
    EXPECT_NE(std::string::npos, read_file(file).find("b.example"));

    RateBudget after(crashed / "rate-budget.json", kCa, only_orders(3));
    EXPECT_EQ(2u, after.usage("a.example", kT0).orders_3h);
    after.record_order(zone_names("c.example"), kT0);
    EXPECT_FALSE(after.check(request("d.example"), kT0).allowed);
}

// A crash after the section is written and before the journal loses the
// lines it now holds: a load skips them by their generation, so no event
// counts twice; lines of another CA and of the section's generation count.
TEST(RateBudget, JournalLinesTheSectionAlreadyHoldsAreNotCountedTwice) {
    TempDir tmp("budget");
    const fs::path file = tmp.path() / "rate-budget.json";
    write_file_atomic(file, R"({"cas": {")" + kCa + R"(": {"generation": 2, "orders": [
        {"time": 1800000000, "names": ["a.example", "*.a.example"]}]}}})",
                      0644);
    const std::string line = R"({"ca":")" + kCa + R"(","g":%G,"list":"orders","event":)" +
                             R"({"time":1800000000,"names":["%Z.example"]}})" + "\n";
    auto journal_line = [&](int g, const std::string& zone) {
        std::string l = line;
        l.replace(l.find("%G"), 2, std::to_string(g));
        l.replace(l.find("%Z"), 2, zone);
        return l;
    };
    write_file_atomic(tmp.path() / "rate-budget.journal",
                      journal_line(1, "a") + journal_line(2, "b") + journal_line(2, "c"), 0644);
    RateBudget b(file, kCa, only_orders(10));
    EXPECT_EQ(3u, b.usage("x.example", kT0).orders_3h);
    RateBudget other(file, "https://other.example/dir", only_orders(10));
    EXPECT_EQ(0u, other.usage("x.example", kT0).orders_3h);
}

// A line cut short by a crash is reported and skipped; the next append
// starts on a line of its own, so the first event after the crash is kept.
TEST(RateBudget, ALineCutShortByACrashIsSkippedAndSpoilsNoOther) {
    TempDir tmp("budget");
    const fs::path file = tmp.path() / "rate-budget.json";
    const fs::path journal = tmp.path() / "rate-budget.journal";
    write_file_atomic(journal, R"({"ca":")" + kCa + R"(","g":0,"list":"orders","event":{"ti)",
                      0644);
    std::vector<std::string> lines;
    set_log_sink([&](LogLevel, const std::string& l) { lines.push_back(l); });
    {
        RateBudget b(file, kCa, only_orders(10));
        b.record_order(zone_names("a.example"), kT0);
        fs::copy_file(journal, tmp.path() / "crashed.journal");
    }
    fs::copy_file(tmp.path() / "crashed.journal", journal);
    fs::remove(file);
    RateBudget again(file, kCa, only_orders(10));
    set_log_sink(nullptr);
    EXPECT_EQ(1u, again.usage("a.example", kT0).orders_3h) << read_file(journal);
    ASSERT_EQ(2u, lines.size()) << lines.back();
    EXPECT_NE(std::string::npos, lines[0].find(journal.string() + ":1: skipping a line"))
        << lines[0];
}

TEST(RateBudget, FarFutureTimesInTheFileAreClampedNotOverflowed) {
    // Any int64 may be in the file; in system_clock's nanoseconds most
    // overflow. They clamp to 2200 (utc_time.h): an order "in the future"
    // still counts, and nothing wraps round into the past.
    TempDir tmp("budget");
    const fs::path file = tmp.path() / "rate-budget.json";
    write_file_atomic(file, R"({"cas": {")" + kCa + R"(": {"orders": [
        {"time": 9223372036854775807, "names": ["a.example", "*.a.example"]},
        {"time": 253402300799, "names": ["b.example", "*.b.example"]}]}}})",
                      0644);
    RateBudget b(file, kCa, only_orders(2));
    const BudgetDecision d = b.check(request("c.example"), kT0);
    EXPECT_FALSE(d.allowed);
    EXPECT_EQ(Clock::time_point(std::chrono::seconds(kLatestUnixSeconds)) + 3h, d.not_before);
}

TEST(RateBudget, CorruptFileIsReportedAndReplaced) {
    TempDir tmp("budget");
    const fs::path file = tmp.path() / "rate-budget.json";
    write_file_atomic(file, "{ this is not json", 0644);
    std::vector<std::string> lines;
    set_log_sink([&](LogLevel, const std::string& line) { lines.push_back(line); });
    RateBudget b(file, kCa, only_orders(1));
    set_log_sink(nullptr);
    ASSERT_EQ(1u, lines.size());
    EXPECT_NE(std::string::npos, lines[0].find(file.string() + ": rate budget unreadable"))
        << lines[0];
    EXPECT_TRUE(b.check(request("a.example"), kT0).allowed);
    b.record_order(zone_names("a.example"), kT0);
    RateBudget again(file, kCa, only_orders(1));
    EXPECT_FALSE(again.check(request("b.example"), kT0).allowed);
}

// fuzz_state_files: a failed authorization without a name in the file made
// every check() and remaining() throw std::out_of_range (e.names.at(0)), so
// every pass failed until the file was removed by hand. Such an event makes
// the file unreadable: reported, and an empty ledger, as for any corrupt file.
TEST(RateBudget, EventWithoutNamesMakesTheFileUnreadableNotEveryCheckThrow) {
    TempDir tmp("budget");
    const fs::path file = tmp.path() / "rate-budget.json";
    write_file_atomic(file, R"({"cas": {")" + kCa + R"(": {"failed-authorizations": [
        {"time": 1796432470, "names": []}]}}})",
                      0644);
    std::vector<std::string> lines;
    set_log_sink([&](LogLevel, const std::string& line) { lines.push_back(line); });
    RateBudget b(file, kCa, RateLimits::letsencrypt());
    set_log_sink(nullptr);
    ASSERT_EQ(1u, lines.size());
    EXPECT_NE(std::string::npos, lines[0].find("an event without \"time\" or \"names\""))
        << lines[0];
    BudgetDecision d;
    ASSERT_NO_THROW(d = b.check(request("a.example"), kT0));
    EXPECT_TRUE(d.allowed);
    ASSERT_NO_THROW((void)b.remaining({zone_names("a.example")}, kT0));
}

}  // namespace
}  // namespace acmezone::issuer
