// ZoneState's record_* functions (zone_state.h): which fields each state
// change touches, and last_result as an enum inside and a string in the file.
#include <gtest/gtest.h>

#include <chrono>

#include "issuer/pass/zone_state.h"

namespace acmezone::issuer {
namespace {

using namespace std::chrono_literals;

const SysTime kNow = SysTime{} + 1000000h;

ScheduleSettings schedule() {
    ScheduleSettings s;
    s.retry_min = 60s;
    s.retry_max = 3600s;
    return s;
}

TEST(ZoneStateChanges, FailuresCountAndBackOffUntilASuccess) {
    ZoneState s;
    s.deferred_by = "orders per 3 h";
    s.record_attempt(kNow);
    s.record_failure("example.com: newOrder: HTTP 500", kNow, schedule(), 0.5);
    EXPECT_EQ(s.last_result, LastResult::failed);
    EXPECT_EQ(s.failures, 1u);
    EXPECT_EQ(s.last_error, "example.com: newOrder: HTTP 500");
    EXPECT_EQ(s.last_attempt, kNow);
    ASSERT_TRUE(s.retry_at);
    EXPECT_EQ(*s.retry_at, kNow + retry_delay(1, 0.5, schedule()));
    EXPECT_TRUE(s.deferred_by.empty()) << "a failure is not a deferral";
    s.record_failure("again", kNow, schedule(), 0.5);
    EXPECT_EQ(s.failures, 2u);
    EXPECT_EQ(*s.retry_at, kNow + retry_delay(2, 0.5, schedule()));

    s.ari.push_back({"cert-id", "https://ca/dir", {}, {}, {}, {}, ""});
    s.resume_order = "https://ca/order/1";
    s.resume_key_type = "ecdsa-p256";
    s.record_success("https://fallback/dir", kNow + 1h);
    EXPECT_EQ(s.last_result, LastResult::ok);
    EXPECT_EQ(s.failures, 0u);
    EXPECT_TRUE(s.last_error.empty());
    EXPECT_FALSE(s.retry_at);
    EXPECT_EQ(s.last_success, kNow + 1h);
    EXPECT_EQ(s.ca, "https://fallback/dir");
    EXPECT_TRUE(s.ari.empty()) << "the old certificates' windows are moot";
    EXPECT_TRUE(s.resume_order.empty());
    EXPECT_TRUE(s.resume_key_type.empty());
}

TEST(ZoneStateChanges, AnInterruptionIsNoFailure) {
    ZoneState s;
    s.record_failure("first", kNow, schedule(), 0);
    const auto retry_at = s.retry_at;
    s.record_interruption("stopped on a signal");
    EXPECT_EQ(s.last_result, LastResult::interrupted);
    EXPECT_EQ(s.last_error, "stopped on a signal");
    EXPECT_EQ(s.failures, 1u);
    EXPECT_EQ(s.retry_at, retry_at);
}

TEST(ZoneStateChanges, DeferralsAndTheCasRefusal) {
    ZoneState s;
    s.record_deferral("new orders per account per 3 h", kNow + 2h);
    EXPECT_EQ(s.retry_at, kNow + 2h);
    EXPECT_EQ(s.deferred_by, "new orders per account per 3 h");
    EXPECT_EQ(s.last_result, LastResult::none) << "a deferral is not an attempt";
    EXPECT_FALSE(s.last_attempt);

    s.record_ca_refusal("the CA answered rateLimited (Retry-After 60 s)", kNow + 1h);
    EXPECT_EQ(s.retry_at, kNow + 2h) << "never earlier than the wait already set";
    EXPECT_EQ(s.deferred_by, "the CA answered rateLimited (Retry-After 60 s)");
    s.record_ca_refusal("later", kNow + 3h);
    EXPECT_EQ(s.retry_at, kNow + 3h);
}

TEST(ZoneStateChanges, TheOrderInFlightAndTheOneToResume) {
    ZoneState s;
    s.resume_order = "https://ca/order/1";
    s.resume_key_type = "rsa-2048";
    EXPECT_FALSE(s.record_ordered("ecdsa-p256")) << "another key type's order";
    EXPECT_EQ(s.resume_order, "https://ca/order/1");
    EXPECT_TRUE(s.record_ordered("rsa-2048"));
    EXPECT_TRUE(s.resume_order.empty());
    EXPECT_FALSE(s.record_ordered("rsa-2048"));

    s.record_in_flight({"https://ca/order/2",
                        "_acme-challenge.example.com",
                        {"v1", "v2"},
                        {"127.0.0.1:5353"},
                        kNow,
                        "ecdsa-p256"});
    ASSERT_TRUE(s.order);
    EXPECT_EQ(s.order->values.size(), 2u);
    s.record_unpublished();
    EXPECT_FALSE(s.order);
}

TEST(ZoneStateChanges, LastResultIsAStringInTheFile) {
    for (LastResult r : {LastResult::ok, LastResult::failed, LastResult::interrupted}) {
        ZoneState s;
        s.last_result = r;
        const Json::Value doc = s.to_json();
        EXPECT_EQ(doc["last_result"].asString(), to_string(r));
        EXPECT_EQ(ZoneState::from_json(doc, "test").last_result, r);
    }
    EXPECT_FALSE(ZoneState{}.to_json().isMember("last_result")) << "never attempted: no field";
    Json::Value doc(Json::objectValue);
    doc["last_result"] = "failed";
    EXPECT_EQ(ZoneState::from_json(doc, "test").last_result, LastResult::failed);
    doc["last_result"] = "exploded";
    EXPECT_EQ(ZoneState::from_json(doc, "test").last_result, LastResult::none);
}

// The standby set's state ("standby"): written only when there is one,
// read back field by field, its order in flight as the live one's.
TEST(ZoneStateChanges, TheStandbyStateRoundTripsAndIsApartFromTheLiveSets) {
    EXPECT_FALSE(ZoneState{}.to_json().isMember("standby"));
    ZoneState s;
    s.failures = 2;
    s.standby.ca = "https://b.example/dir";
    s.standby.last_attempt = kNow;
    s.standby.last_error = "sb.example: standby CA https://b.example/dir: down";
    s.standby.failures = 3;
    s.standby.retry_at = kNow + 600s;
    s.standby.notified_missing = kNow - 60s;
    s.standby.switched_at = kNow - 30s;
    s.standby.order = InFlightOrder{"https://b.example/order/1",
                                    "_acme-challenge.sb.example",
                                    {"v1", "v2"},
                                    {"127.0.0.1:5353"},
                                    kNow,
                                    "ecdsa-p256"};
    const ZoneState r = ZoneState::from_json(s.to_json(), "test");
    EXPECT_EQ(r.failures, 2u);
    EXPECT_FALSE(r.order.has_value());
    EXPECT_EQ(r.standby.ca, s.standby.ca);
    EXPECT_EQ(r.standby.last_attempt, kNow);
    EXPECT_FALSE(r.standby.last_success.has_value());
    EXPECT_EQ(r.standby.last_error, s.standby.last_error);
    EXPECT_EQ(r.standby.failures, 3u);
    EXPECT_EQ(r.standby.retry_at, kNow + 600s);
    EXPECT_EQ(r.standby.notified_missing, kNow - 60s);
    EXPECT_EQ(r.standby.switched_at, kNow - 30s);
    ASSERT_TRUE(r.standby.order.has_value());
    EXPECT_EQ(r.standby.order->order_url, "https://b.example/order/1");
    EXPECT_EQ(r.standby.order->values, (std::vector<std::string>{"v1", "v2"}));
    EXPECT_EQ(r.standby.order->controls, (std::vector<std::string>{"127.0.0.1:5353"}));
    EXPECT_EQ(r.standby.order->key_type, "ecdsa-p256");
    EXPECT_FALSE(r.extra.isMember("standby")) << "a known field, not kept as unknown";
    Json::Value doc(Json::objectValue);
    doc["standby"] = "x";
    EXPECT_TRUE(ZoneState::from_json(doc, "test").standby.empty()) << "wrong type: ignored";
    ZoneState switched;
    switched.standby.switched_at = kNow;
    EXPECT_TRUE(switched.to_json().isMember("standby")) << "switched_at alone is kept";
}

// The standby set's renewal information ("standby": {"ari": [...]}): kept
// beside the standby state, apart from the live set's "ari", and read back
// entry by entry; a state file written before it (no "ari" in "standby")
// still reads, with none.
TEST(ZoneStateChanges, TheStandbysAriWindowRoundTripsApartFromTheLiveOnes) {
    ZoneState s;
    s.standby.ca = "https://b.example/dir";
    AriState a;
    a.cert_id = "aki.serial";
    a.directory = "https://b.example/dir";
    a.window_start = kNow - 7200s;
    a.window_end = kNow - 60s;
    a.renew_at = kNow - 3600s;
    a.next_poll = kNow + 3600s;
    a.explanation_url = "https://b.example/why";
    s.standby.ari.push_back(a);
    const Json::Value doc = s.to_json();
    EXPECT_FALSE(doc.isMember("ari")) << "the live set has no windows";
    ASSERT_TRUE(doc["standby"]["ari"].isArray());
    const ZoneState r = ZoneState::from_json(doc, "test");
    EXPECT_TRUE(r.ari.empty());
    ASSERT_EQ(r.standby.ari.size(), 1u);
    const AriState& b = r.standby.ari.front();
    EXPECT_EQ(b.cert_id, "aki.serial");
    EXPECT_EQ(b.directory, "https://b.example/dir");
    EXPECT_EQ(b.window_start, kNow - 7200s);
    EXPECT_EQ(b.window_end, kNow - 60s);
    EXPECT_EQ(b.renew_at, kNow - 3600s);
    EXPECT_EQ(b.next_poll, kNow + 3600s);
    EXPECT_EQ(b.explanation_url, "https://b.example/why");
    Json::Value old = doc;
    old["standby"].removeMember("ari");
    const ZoneState o = ZoneState::from_json(old, "test");
    EXPECT_EQ(o.standby.ca, "https://b.example/dir");
    EXPECT_TRUE(o.standby.ari.empty());
    ZoneState only;
    only.standby.ari.push_back(a);
    EXPECT_TRUE(only.to_json()["standby"].isMember("ari")) << "the windows alone are kept";
}

}  // namespace
}  // namespace acmezone::issuer
