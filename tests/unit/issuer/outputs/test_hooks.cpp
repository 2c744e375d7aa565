// hooks: the deploy-hook's environment (names and paths, for one and two key
// types), what run_hook passes and reports (stdin, environment, exit code,
// timeout killing the whole group), the notify JSON document and when
// notifications are due.
#include <gtest/gtest.h>
#include <json/reader.h>
#include <json/value.h>

#include <map>
#include <sstream>

#include "issuer/outputs/hooks.h"

using namespace acmezone;
using namespace acmezone::issuer;
using namespace std::chrono_literals;
using std::chrono::system_clock;

namespace {

const DnsName kZone = DnsName::parse("example.com");

std::map<std::string, std::string> as_map(const HookEnv& env) {
    std::map<std::string, std::string> m;
    for (const auto& [k, v] : env) {
        EXPECT_TRUE(m.emplace(k, v).second) << "twice: " << k;
    }
    return m;
}

Json::Value parse(const std::string& text) {
    Json::CharReaderBuilder b;
    Json::Value doc;
    std::string errs;
    std::istringstream in(text);
    EXPECT_TRUE(Json::parseFromStream(b, in, &doc, &errs)) << errs << ": " << text;
    return doc;
}

system_clock::time_point at(long seconds) {
    return system_clock::time_point(std::chrono::seconds(seconds));
}

}  // namespace

TEST(DeployHookEnv, TwoKeyTypes) {
    auto env =
        as_map(deploy_hook_env(kZone, "/c/example.com", {KeyType::ecdsa_p256, KeyType::rsa_2048}));
    EXPECT_EQ(env["ACMEZONE_ZONE"], "example.com");
    EXPECT_EQ(env["ACMEZONE_ZONE_FILE"], "example.com");
    EXPECT_EQ(env["ACMEZONE_DIR"], "/c/example.com");
    EXPECT_EQ(env["ACMEZONE_KEY_TYPES"], "ecdsa-p256 rsa-2048");
    EXPECT_EQ(env["ACMEZONE_KEY_TYPE"], "ecdsa-p256");
    EXPECT_EQ(env["ACMEZONE_KEY"], "/c/example.com/privkey.pem");
    EXPECT_EQ(env["ACMEZONE_CERT"], "/c/example.com/cert.pem");
    EXPECT_EQ(env["ACMEZONE_CHAIN"], "/c/example.com/chain.pem");
    EXPECT_EQ(env["ACMEZONE_FULLCHAIN"], "/c/example.com/fullchain.pem");
    EXPECT_EQ(env["ACMEZONE_KEY_ECDSA_P256"], "/c/example.com/ecdsa-p256/privkey.pem");
    EXPECT_EQ(env["ACMEZONE_CERT_ECDSA_P256"], "/c/example.com/ecdsa-p256/cert.pem");
    EXPECT_EQ(env["ACMEZONE_KEY_RSA_2048"], "/c/example.com/rsa-2048/privkey.pem");
    EXPECT_EQ(env["ACMEZONE_CERT_RSA_2048"], "/c/example.com/rsa-2048/cert.pem");
    EXPECT_EQ(env["ACMEZONE_CHAIN_RSA_2048"], "/c/example.com/rsa-2048/chain.pem");
    EXPECT_EQ(env["ACMEZONE_FULLCHAIN_RSA_2048"], "/c/example.com/rsa-2048/fullchain.pem");
    EXPECT_EQ(env.size(), 17u);
}

// Issue 20 item 1: a zone name holding '/' (RFC 2317) is handed to hooks as
// the DNS name, and as one file-name component for file names.
TEST(DeployHookEnv, ZoneWithSlashHasOneFileNameComponent) {
    auto env = as_map(deploy_hook_env(DnsName::parse("0/25.2.0.192.in-addr.arpa"),
                                      "/c/0%2f25.2.0.192.in-addr.arpa", {KeyType::ecdsa_p256}));
    EXPECT_EQ(env["ACMEZONE_ZONE"], "0/25.2.0.192.in-addr.arpa");
    EXPECT_EQ(env["ACMEZONE_ZONE_FILE"], "0%2f25.2.0.192.in-addr.arpa");
}

TEST(DeployHookEnv, Suffixes) {
    EXPECT_EQ(key_type_env_suffix(KeyType::ecdsa_p384), "ECDSA_P384");
    EXPECT_EQ(key_type_env_suffix(KeyType::rsa_4096), "RSA_4096");
}

TEST(RunHook, PassesEnvironmentAndStdinCapturesOutput) {
    ::setenv("ACMEZONE_TEST_INHERITED", "kept", 1);
    HookResult r = run_hook("echo \"$ACMEZONE_ZONE $ACMEZONE_TEST_INHERITED\"; cat; echo err >&2",
                            {{"ACMEZONE_ZONE", "example.com"}}, "{\"a\":1}", 10s);
    EXPECT_TRUE(r.ok) << r.describe();
    EXPECT_EQ(r.exit_code, 0);
    EXPECT_EQ(r.output, "example.com kept\n{\"a\":1}err\n");
}

TEST(RunHook, ReportsExitCode) {
    HookResult r = run_hook("echo failing; exit 3", {}, "", 10s);
    EXPECT_FALSE(r.ok);
    EXPECT_EQ(r.exit_code, 3);
    EXPECT_EQ(r.describe(), "exited 3");
    EXPECT_EQ(r.output, "failing\n");
}

TEST(RunHook, HookIgnoringStdinIsNotAnError) {
    std::string big(1 << 20, 'x');  // more than a pipe holds
    HookResult r = run_hook("exit 0", {}, big, 10s);
    EXPECT_TRUE(r.ok) << r.describe();
}

TEST(RunHook, TimeoutKillsTheWholeGroup) {
    const auto start = std::chrono::steady_clock::now();
    // The shell's background child holds the output open: it must die too.
    HookResult r = run_hook("sleep 30 & sleep 30", {}, "", 300ms);
    EXPECT_FALSE(r.ok);
    EXPECT_TRUE(r.timed_out);
    EXPECT_EQ(r.describe(), "timed out (killed)");
    EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
}

TEST(RunHook, KilledBySignal) {
    HookResult r = run_hook("kill -TERM $$", {}, "", 10s);
    EXPECT_FALSE(r.ok);
    EXPECT_EQ(r.signal, 15);
    EXPECT_EQ(r.describe(), "killed by signal 15");
}

TEST(NotifyEvent, JsonDocument) {
    NotifyEvent e{"expiring", kZone, "example.com: ordering: boom", at(1767225600),
                  at(1767225600 - 12 * 86400 - 43200)};
    Json::Value doc = parse(e.to_json());
    EXPECT_EQ(doc["event"].asString(), "expiring");
    EXPECT_EQ(doc["zone"].asString(), "example.com");
    EXPECT_EQ(doc["error"].asString(), "example.com: ordering: boom");
    EXPECT_EQ(doc["not_after"].asString(), "2026-01-01T00:00:00Z");
    EXPECT_DOUBLE_EQ(doc["days_left"].asDouble(), 12.5);
    EXPECT_EQ(doc["time"].asString(), "2025-12-19T12:00:00Z");
    EXPECT_EQ(doc.size(), 6u);

    // Written as people read it, not as 9.9000000000000004.
    NotifyEvent tenths{"expiring", kZone, "", at(1767225600), at(1767225600 - 9 * 86400 - 82080)};
    EXPECT_NE(tenths.to_json().find("\"days_left\":9.9,"), std::string::npos) << tenths.to_json();

    NotifyEvent none{"failed", kZone, "x", std::nullopt, at(0)};
    Json::Value d2 = parse(none.to_json());
    EXPECT_TRUE(d2["not_after"].isNull());
    EXPECT_TRUE(d2["days_left"].isNull());
}

TEST(DecideNotifications, FailedOnceThenRecoveredOnce) {
    NotifyState st;
    const auto far = at(100 * 86400);
    auto ev = decide_notifications(st, kZone, {true, false, "boom", far}, at(0), 14);
    ASSERT_EQ(ev.size(), 1u);
    EXPECT_EQ(ev[0].event, "failed");
    EXPECT_EQ(ev[0].error, "boom");
    EXPECT_TRUE(st.failing);
    EXPECT_TRUE(decide_notifications(st, kZone, {true, false, "boom", far}, at(60), 14).empty());
    EXPECT_TRUE(decide_notifications(st, kZone, {false, false, "", far}, at(120), 14).empty());
    ev = decide_notifications(st, kZone, {true, true, "", far}, at(180), 14);
    ASSERT_EQ(ev.size(), 1u);
    EXPECT_EQ(ev[0].event, "recovered");
    EXPECT_FALSE(st.failing);
    EXPECT_TRUE(decide_notifications(st, kZone, {true, true, "", far}, at(240), 14).empty());
}

TEST(DecideNotifications, ExpiringAtMostOnceADay) {
    NotifyState st;
    const auto not_after = at(20 * 86400);
    // 15 days left: not yet.
    EXPECT_TRUE(
        decide_notifications(st, kZone, {false, false, "", not_after}, at(5 * 86400), 14).empty());
    // 14 days left, renewal failing: failed and expiring.
    auto ev = decide_notifications(st, kZone, {true, false, "boom", not_after}, at(6 * 86400), 14);
    ASSERT_EQ(ev.size(), 2u);
    EXPECT_EQ(ev[0].event, "failed");
    EXPECT_EQ(ev[1].event, "expiring");
    EXPECT_EQ(ev[1].error, "boom");
    // Again within the day: nothing; a day later: expiring again.
    EXPECT_TRUE(
        decide_notifications(st, kZone, {true, false, "boom", not_after}, at(6 * 86400 + 3600), 14)
            .empty());
    ev = decide_notifications(st, kZone, {true, false, "boom", not_after}, at(7 * 86400), 14);
    ASSERT_EQ(ev.size(), 1u);
    EXPECT_EQ(ev[0].event, "expiring");
    // Off when expiring_days is 0.
    NotifyState off;
    EXPECT_TRUE(
        decide_notifications(off, kZone, {false, false, "", not_after}, at(19 * 86400), 0).empty());
    // Renewed: recovered, and the expiry clock restarts.
    ev = decide_notifications(st, kZone, {true, true, "", at(110 * 86400)}, at(8 * 86400), 14);
    ASSERT_EQ(ev.size(), 1u);
    EXPECT_EQ(ev[0].event, "recovered");
    EXPECT_FALSE(st.expiring_sent.has_value());
}
