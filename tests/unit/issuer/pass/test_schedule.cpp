// The schedule arithmetic (renewal time, spread, backoff, ARI window picks)
// with injected times; the zone state file (round trip, unknown fields kept,
// corrupt files read as empty); the state lock; the stop grace of signals.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <filesystem>
#include <set>

#include "common/file_io.h"
#include "common/interrupt.h"
#include "common/utc_time.h"
#include "issuer/pass/schedule.h"
#include "issuer/pass/state_lock.h"
#include "issuer/pass/zone_state.h"

using namespace acmezone;
using namespace acmezone::issuer;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

const SysTime kT0 = std::chrono::system_clock::from_time_t(1'700'000'000);

ScheduleSettings no_spread() {
    ScheduleSettings s;
    s.renew_spread = LifetimePart{true, 0, 0s};
    return s;
}

LifetimePart part(const std::string& text) {
    std::string error;
    auto p = LifetimePart::parse(text, &error);
    if (!p) {
        ADD_FAILURE() << text << ": " << error;
        return {};
    }
    return *p;
}

struct TempDir {
    fs::path path;
    TempDir() {
        char tmpl[] = "/tmp/test_schedule.XXXXXX";
        path = mkdtemp(tmpl);
    }
    ~TempDir() { fs::remove_all(path); }
};

}  // namespace

TEST(Schedule, DueWhenAThirdOfTheLifetimeIsLeftWithoutSpread) {
    const DnsName z = DnsName::parse("example.com");
    const auto s = no_spread();
    EXPECT_EQ(renewal_time(z, kT0, kT0 + 90 * 24h, s), kT0 + 60 * 24h);
    EXPECT_EQ(renewal_time(z, kT0, kT0 + 6 * 24h, s), kT0 + 4 * 24h);  // 2 days left
}

TEST(Schedule, RenewBeforeAsAFixedTimeIsCappedAtHalfTheLifetime) {
    const DnsName z = DnsName::parse("example.com");
    auto s = no_spread();
    s.renew_before = part("30d");
    EXPECT_EQ(renewal_time(z, kT0, kT0 + 90 * 24h, s), kT0 + 60 * 24h);
    s.renew_before = part("10d");
    EXPECT_EQ(renewal_time(z, kT0, kT0 + 90 * 24h, s), kT0 + 80 * 24h);
    // A 6-day certificate with renew-before 30d: due at half, not from day one.
    s.renew_before = part("30d");
    EXPECT_EQ(renewal_time(z, kT0, kT0 + 6 * 24h, s), kT0 + 3 * 24h);
    s.renew_before = part("36h");
    EXPECT_EQ(renewal_time(z, kT0, kT0 + 6 * 24h, s), kT0 + 6 * 24h - 36h);
    s.renew_before = part("0.25");
    EXPECT_EQ(renewal_time(z, kT0, kT0 + 100 * 24h, s), kT0 + 75 * 24h);
}

TEST(Schedule, SpreadIsFixedPerZoneWithinItsRangeAndDiffersBetweenZones) {
    ScheduleSettings s;  // 1/3 and 1/20
    const SysTime nb = kT0;
    const SysTime na = kT0 + 90 * 24h;
    const SysTime latest = na - 30 * 24h;
    const SysTime earliest = latest - std::chrono::seconds(90 * 86400 / 20);
    std::set<SysTime> seen;
    for (int i = 0; i < 200; ++i) {
        const DnsName z = DnsName::parse("zone" + std::to_string(i) + ".example");
        const SysTime t = renewal_time(z, nb, na, s);
        EXPECT_LE(t, latest) << z.text();
        EXPECT_GE(t, earliest) << z.text();
        EXPECT_EQ(t, renewal_time(z, nb, na, s)) << "the same zone, the same time";
        seen.insert(t);
    }
    // 200 zones issued together: spread over the window, not one batch.
    EXPECT_GT(seen.size(), 190u);
    EXPECT_LT(*seen.begin(), earliest + 12h);
    EXPECT_GT(*seen.rbegin(), latest - 12h);
    // A spread larger than a quarter of the lifetime is capped.
    s.renew_spread = part("9/10");
    for (int i = 0; i < 50; ++i) {
        const DnsName z = DnsName::parse("zone" + std::to_string(i) + ".example");
        EXPECT_GE(renewal_time(z, nb, na, s), latest - std::chrono::seconds(90 * 86400 / 4));
    }
}

TEST(Schedule, BackoffDoublesFromRetryMinToRetryMaxWithJitterOnlyShortening) {
    ScheduleSettings s;  // 5 min, 6 h
    EXPECT_EQ(retry_delay(1, 0, s), 300s);
    EXPECT_EQ(retry_delay(2, 0, s), 600s);
    EXPECT_EQ(retry_delay(3, 0, s), 1200s);
    EXPECT_EQ(retry_delay(7, 0, s), 19200s);
    EXPECT_EQ(retry_delay(8, 0, s), 21600s);  // capped
    EXPECT_EQ(retry_delay(1000, 0, s), 21600s);
    // Jitter takes off at most a fifth.
    EXPECT_EQ(retry_delay(1, 0.5, s), 270s);
    EXPECT_GE(retry_delay(8, 0.999, s), 17280s);
    EXPECT_LT(retry_delay(8, 0.999, s), 21600s);
    for (int i = 0; i < 100; ++i) {
        const double u = random_unit();
        ASSERT_GE(u, 0.0);
        ASSERT_LT(u, 1.0);
        const auto d = retry_delay(3, u, s);
        EXPECT_GE(d, 960s);
        EXPECT_LE(d, 1200s);
    }
    s.retry_min = 60s;
    s.retry_max = 60s;
    EXPECT_EQ(retry_delay(5, 0, s), 60s);
}

TEST(Schedule, PickInWindow) {
    EXPECT_EQ(pick_in_window(kT0, kT0 + 100s, 0), kT0);
    EXPECT_EQ(pick_in_window(kT0, kT0 + 100s, 0.5), kT0 + 50s);
    EXPECT_LT(pick_in_window(kT0, kT0 + 100s, 0.9999), kT0 + 100s);
    EXPECT_EQ(pick_in_window(kT0 + 100s, kT0, 0.5), kT0 + 100s);  // inverted: its start
}

TEST(Schedule, LifetimePartSyntax) {
    EXPECT_NEAR(part("1/3").fraction, 1.0 / 3, 1e-12);
    EXPECT_TRUE(part("1/3").is_fraction);
    EXPECT_NEAR(part("0.25").fraction, 0.25, 1e-12);
    EXPECT_EQ(part("30d").fixed, 30 * 24h);
    EXPECT_FALSE(part("30d").is_fraction);
    EXPECT_EQ(part("36h").fixed, 36h);
    EXPECT_EQ(part("90m").fixed, 90min);
    for (const char* bad :
         {"", "1", "1.5", "3/2", "1/0", "-1/3", "x", "30", "30 d", "d", "1e-3", "0.5.5", "1/3/4"}) {
        std::string error;
        EXPECT_FALSE(LifetimePart::parse(bad, &error).has_value()) << bad;
        EXPECT_NE(error.find("expected a fraction"), std::string::npos) << error;
    }
}

TEST(UtcTime, RoundTripAndStrictParse) {
    EXPECT_EQ(format_utc(kT0), "2023-11-14T22:13:20Z");
    EXPECT_EQ(parse_utc("2023-11-14T22:13:20Z"), kT0);
    EXPECT_EQ(parse_utc("2023-11-14T22:13:20.123456Z"), kT0);
    for (const char* bad :
         {"", "2023-11-14", "2023-11-14T22:13:20", "2023-11-14T22:13:20+01:00",
          "2023-13-14T22:13:20Z", "2023-11-14T22:13:20.Z", "x023-11-14T22:13:20Z"}) {
        EXPECT_FALSE(parse_utc(bad).has_value()) << bad;
    }
}

TEST(ZoneStateFile, RoundTripKeepsUnknownFields) {
    TempDir tmp;
    const ZoneStateStore store(tmp.path);
    const DnsName z = DnsName::parse("example.com");
    EXPECT_EQ(store.load(z).failures, 0u);  // missing: empty
    ZoneState s;
    s.last_attempt = kT0;
    s.last_result = LastResult::failed;
    s.last_error = "example.com: ordering: rateLimited";
    s.failures = 3;
    s.retry_at = kT0 + 20min;
    AriState a;
    a.cert_id = "aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE";
    a.window_start = kT0 + 1h;
    a.window_end = kT0 + 2h;
    a.renew_at = kT0 + 90min;
    s.ari.push_back(a);
    a.cert_id = "aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyF";  // the second key type's certificate
    a.renew_at = kT0 + 100min;
    s.ari.push_back(a);
    s.order = InFlightOrder{"https://ca/order/1",
                            "_acme-challenge.example.com",
                            {"v1", "v2"},
                            {"127.0.0.1:5353"},
                            kT0,
                            "rsa-2048"};
    s.resume_order = "https://ca/order/0";
    s.resume_key_type = "ecdsa-p256";
    s.extra["notified"] = "expiring";  // a field another feature added
    store.save(z, s);
    struct stat st {};
    ASSERT_EQ(::stat(store.file(z).c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u);

    const ZoneState r = store.load(z);
    EXPECT_EQ(r.last_attempt, kT0);
    EXPECT_EQ(r.last_result, LastResult::failed);
    EXPECT_EQ(r.last_error, s.last_error);
    EXPECT_EQ(r.failures, 3u);
    EXPECT_EQ(r.retry_at, kT0 + 20min);
    ASSERT_EQ(r.ari.size(), 2u);
    ASSERT_NE(r.ari_for(s.ari[0].cert_id), nullptr);
    EXPECT_EQ(r.ari_for(s.ari[0].cert_id)->renew_at, kT0 + 90min);
    ASSERT_NE(r.ari_for(s.ari[1].cert_id), nullptr);
    EXPECT_EQ(r.ari_for(s.ari[1].cert_id)->renew_at, kT0 + 100min);
    EXPECT_EQ(r.ari_for("other"), nullptr);
    EXPECT_EQ(r.resume_order, "https://ca/order/0");
    EXPECT_EQ(r.resume_key_type, "ecdsa-p256");
    ASSERT_TRUE(r.order.has_value());
    EXPECT_EQ(r.order->order_url, "https://ca/order/1");
    EXPECT_EQ(r.order->key_type, "rsa-2048");
    EXPECT_EQ(r.order->values, (std::vector<std::string>{"v1", "v2"}));
    EXPECT_EQ(r.order->controls, (std::vector<std::string>{"127.0.0.1:5353"}));
    EXPECT_EQ(r.extra["notified"].asString(), "expiring");

    // One certificate's ARI entry as an object (as kept before two key types).
    write_file_atomic(store.file(z),
                      R"({"ari": {"cert_id": "c1", "renew_at": "2023-11-14T22:13:20Z"}})", 0600);
    const ZoneState old = store.load(z);
    ASSERT_EQ(old.ari.size(), 1u);
    EXPECT_EQ(old.ari[0].cert_id, "c1");
    EXPECT_TRUE(old.ari[0].renew_at.has_value());

    // A newer issuer's fields survive this one's load and save.
    write_file_atomic(store.file(z),
                      R"({"failures": 1, "rate_budget": {"deferred": 2}, "future": [1, 2]})", 0600);
    ZoneState n = store.load(z);
    EXPECT_EQ(n.failures, 1u);
    n.failures = 0;
    store.save(z, n);
    const std::string text = read_file(store.file(z));
    EXPECT_NE(text.find("\"rate_budget\""), std::string::npos) << text;
    EXPECT_NE(text.find("\"future\""), std::string::npos) << text;
    EXPECT_EQ(store.load(z).extra["rate_budget"]["deferred"].asInt(), 2);
}

TEST(ZoneStateFile, CorruptOrMistypedIsReadAsEmptyNeverThrows) {
    TempDir tmp;
    const ZoneStateStore store(tmp.path);
    const DnsName z = DnsName::parse("example.com");
    ensure_directory(tmp.path / "zones", 0700);
    write_file_atomic(store.file(z), "{\"failures\": 2, \"last_res", 0600);
    ZoneState s;
    EXPECT_NO_THROW(s = store.load(z));
    EXPECT_EQ(s.failures, 0u);
    EXPECT_FALSE(s.retry_at.has_value());
    write_file_atomic(store.file(z), "[1, 2]", 0600);
    EXPECT_NO_THROW(s = store.load(z));
    EXPECT_EQ(s.failures, 0u);
    // Wrong types are dropped field by field; the rest is read.
    write_file_atomic(store.file(z),
                      R"({"failures": "many", "retry_at": "tomorrow", "last_error": "boom",
                          "order": {"url": "u", "values": [1, "x"], "owner": "o"}})",
                      0600);
    EXPECT_NO_THROW(s = store.load(z));
    EXPECT_EQ(s.failures, 0u);
    EXPECT_FALSE(s.retry_at.has_value());
    EXPECT_EQ(s.last_error, "boom");
    ASSERT_TRUE(s.order.has_value());
    EXPECT_TRUE(s.order->values.empty());
    // Unreadable (a directory where the file should be): empty too.
    fs::remove(store.file(z));
    fs::create_directory(store.file(z));
    EXPECT_NO_THROW(s = store.load(z));
    EXPECT_EQ(s.last_error, "");
}

TEST(StateLock, SecondHolderIsRefusedWithThePidUntilTheFirstLetsGo) {
    TempDir tmp;
    std::string holder;
    auto first = StateLock::try_acquire(tmp.path, &holder);
    ASSERT_TRUE(first.has_value());
    // Another process (flock is per open file description; a child opens its own).
    const pid_t child = fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
        std::string h;
        auto second = StateLock::try_acquire(tmp.path, &h);
        _exit(!second && h == "pid " + std::to_string(getppid()) ? 0 : 1);
    }
    int status = 0;
    ASSERT_EQ(waitpid(child, &status, 0), child);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "the child got the lock";
    first.reset();
    const pid_t child2 = fork();
    ASSERT_GE(child2, 0);
    if (child2 == 0) {
        std::string h;
        _exit(StateLock::try_acquire(tmp.path, &h) ? 0 : 1);
    }
    ASSERT_EQ(waitpid(child2, &status, 0), child2);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "released lock not taken";
}

TEST(Interrupt, StopGraceLetsWorkFinishThenInterrupts) {
    reset_interrupt();
    install_interrupt_handlers();
    set_stop_grace(1s);
    ASSERT_EQ(std::raise(SIGTERM), 0);
    EXPECT_TRUE(stop_requested());
    EXPECT_FALSE(interrupted());
    EXPECT_NO_THROW(sleep_or_interrupt(200ms));
    const auto start = std::chrono::steady_clock::now();
    EXPECT_THROW(sleep_or_interrupt(10s), Interrupted);
    const auto took = std::chrono::steady_clock::now() - start;
    EXPECT_GE(took, 600ms);
    EXPECT_LT(took, 2s);
    // A second signal interrupts at once, whatever the grace.
    reset_interrupt();
    set_stop_grace(3600s);
    ASSERT_EQ(std::raise(SIGTERM), 0);
    EXPECT_FALSE(interrupted());
    ASSERT_EQ(std::raise(SIGTERM), 0);
    EXPECT_TRUE(interrupted());
    reset_interrupt();
    set_stop_grace(0s);
    std::signal(SIGTERM, SIG_DFL);
    std::signal(SIGINT, SIG_DFL);
}

TEST(Interrupt, WaitForSignalEndsEarlyOnSighup) {
    reset_interrupt();
    install_interrupt_handlers();
    install_reload_handler();
    auto start = std::chrono::steady_clock::now();
    EXPECT_TRUE(wait_for_signal(100ms));
    EXPECT_GE(std::chrono::steady_clock::now() - start, 100ms);
    std::thread t([] {
        std::this_thread::sleep_for(100ms);
        ::kill(::getpid(), SIGHUP);
    });
    start = std::chrono::steady_clock::now();
    EXPECT_FALSE(wait_for_signal(10s));
    EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);
    t.join();
    EXPECT_TRUE(take_reload_request());
    EXPECT_FALSE(take_reload_request());
    EXPECT_TRUE(wait_for_signal(10ms));
    reset_interrupt();
    std::signal(SIGTERM, SIG_DFL);
    std::signal(SIGINT, SIG_DFL);
    std::signal(SIGHUP, SIG_DFL);
}

// Issue 20 item 1: a zone's state file is one path component below
// <state>/zones, whatever '/' its name holds; the runner reads the zone back.
TEST(ZoneStateStore, ZoneNamesWithSlashesStayOneComponentBelowTheStateDir) {
    TempDir tmp;
    const ZoneStateStore store(tmp.path);
    for (const char* text : {"0/25.2.0.192.in-addr.arpa", "/var/lib/acmezone/ca-failover",
                             "/etc/cron.d/x", "example.com/next", "x/y"}) {
        const fs::path f = store.file(DnsName::parse(text));
        EXPECT_EQ(f.parent_path(), tmp.path / "zones") << text << " -> " << f;
    }
    EXPECT_EQ(store.file(DnsName::parse("0/25.2.0.192.in-addr.arpa")),
              tmp.path / "zones" / "0%2f25.2.0.192.in-addr.arpa.json");
}
