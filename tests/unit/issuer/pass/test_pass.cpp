// One pass (pass.h) driven against a fake CA session and a fake publisher
// (pass_env.h): what each zone's outcome and state file say, that the order
// in flight is recorded before its values are published and cleared, once
// they are removed, with the zone's outcome, that the checks before ordering get the CAA identities
// of the pass's CA (here a fallback), and that hooks see the right zones.
#include <gtest/gtest.h>

#include <mutex>
#include <set>

#include "issuer/dns/challenge_dns.h"
#include "issuer/pass/pass.h"
#include "tests/unit/temp_dir.h"

namespace acmezone::issuer {
namespace {

using namespace std::chrono_literals;
using test_support::TempDir;

const std::string kFallback = "https://fallback.test/dir";
const std::string kStandby = "https://standby.test/dir";

class FakeCa final : public CaSession {
  public:
    FakeCa(std::string directory, std::string identity)
        : directory_(std::move(directory)), identity_(std::move(identity)) {}
    const std::string& directory() const override { return directory_; }
    bool fallback() const override { return true; }
    const std::string& unavailable() const override { return unavailable_; }
    AcmeClient& acme() override { throw std::logic_error("the fake CA has no ACME client"); }
    RateBudget* budget() override { return nullptr; }
    std::vector<std::string> caa_identities() override { return {identity_}; }
    bool offers_renewal_info() override { return false; }
    AcmeClient::RenewalInfoReply renewal_info(const std::string&) override {
        throw std::logic_error("no ARI");
    }
    HttpStats http_stats() const override { return {}; }

    std::string directory_;
    std::string identity_;
    std::string unavailable_;
};

// Records what is published; checks that the zone's state file records the
// values before they are published.
class FakePublisher final : public Publisher {
  public:
    explicit FakePublisher(std::filesystem::path state_dir) : states_(std::move(state_dir)) {}
    std::string name() const override { return "fake publisher"; }
    void publish(const DnsName& owner, const std::vector<std::string>& values) const override {
        const DnsName zone = *owner.parent();  // _acme-challenge.ZONE
        const ZoneState s = states_.load(zone);
        std::lock_guard lock(mutex_);
        recorded_first[zone.text()] = s.order && s.order->values == values;
        live[owner.text()] = values;
    }
    void unpublish(const DnsName& owner, const std::vector<std::string>&) const override {
        std::lock_guard lock(mutex_);
        live.erase(owner.text());
    }

    ZoneStateStore states_;
    mutable std::mutex mutex_;
    mutable std::map<std::string, bool> recorded_first;
    mutable std::map<std::string, std::vector<std::string>> live;
};

// b.test's CA refuses; c.test fails its checks before ordering.
class FakeEnv final : public PassEnv {
  public:
    explicit FakeEnv(std::filesystem::path state_dir) : publisher(std::move(state_dir)) {}

    CaSession& ca(CaRole role) override {
        if (role == CaRole::standby) {
            standby_opened = true;
            return standby_ca_;
        }
        opened = true;
        return ca_;
    }
    bool ca_opened(CaRole role) const override {
        return role == CaRole::standby ? standby_opened.load() : opened.load();
    }
    std::optional<std::string> check_before_order(
        const DnsName& zone, const std::vector<std::string>& caa_identities) override {
        std::lock_guard lock(mutex);
        identities[zone.text()] = caa_identities;
        if (zone.text() == "c.test") {
            return "checks before ordering failed: CAA: allows only other.test";
        }
        return std::nullopt;
    }
    CertInfo issue(CaRole role, const DnsName& zone, const StepReporter& report,
                   const IssuanceEvents& events, const IssuanceOptions&) override {
        {
            std::lock_guard lock(mutex);
            issued_by[zone.text()] = role;
        }
        const DnsName owner = DnsName::parse("_acme-challenge." + zone.text());
        const std::vector<std::string> values = {"value-of-" + zone.text()};
        events.ordered("https://fallback.test/order/" + zone.text(), KeyType::ecdsa_p256);
        report("publish");
        events.before_publish("https://fallback.test/order/" + zone.text(), owner, values);
        publisher.publish(owner, values);
        publisher.unpublish(owner, values);
        events.after_unpublish();
        {
            const bool on_disk = publisher.states_.load(zone).order.has_value();
            std::lock_guard lock(mutex);
            recorded_after_removal[zone.text()] = on_disk;
        }
        if (zone.text() == "b.test") {
            throw IssuanceError(zone.text() + ": finalize: the CA said no");
        }
        const auto now = std::chrono::system_clock::now();
        return CertInfo{{zone.text(), "*." + zone.text()}, now, now + 90 * 24h, "01", "CN=fake"};
    }
    void deploy_hook(const DnsName& zone) override {
        std::lock_guard lock(mutex);
        deployed.insert(zone.text());
    }
    void after_pass(const PassReport& report, const std::vector<MetricSample>&) override {
        ++after_passes;
        last_report = report;
    }

    FakeCa ca_{kFallback, "fallback.test"};
    FakeCa standby_ca_{kStandby, "standby.test"};
    FakePublisher publisher;
    std::atomic<bool> opened{false};
    std::atomic<bool> standby_opened{false};
    std::map<std::string, CaRole> issued_by;
    std::mutex mutex;
    std::map<std::string, std::vector<std::string>> identities;
    std::set<std::string> deployed;
    std::map<std::string, bool> recorded_after_removal;  // state file still names the order
    int after_passes = 0;
    PassReport last_report;
};

class PassTest : public ::testing::Test {
  protected:
    PassTest() {
        config.directory = "https://first.test/dir";
        config.state_dir = dir.path() / "state";
        config.certs_dir = dir.path() / "certs";
        config.ari = false;
        config.parallel = 2;
        for (const char* z : {"a.test", "b.test", "c.test"}) {
            config.zones.push_back(DnsName::parse(z));
        }
        std::filesystem::create_directories(config.state_dir);
    }

    PassReport run_pass(FakeEnv& env) {
        std::vector<ZoneStatus> all;
        for (const DnsName& zone : config.zones) {
            all.push_back(zone_status(config, zone, std::chrono::system_clock::now()));
        }
        return Pass(config, env).run(all, all);
    }

    TempDir dir{"pass"};
    IssuerConfig config;
};

const ZoneOutcome& outcome_of(const PassReport& r, const std::string& zone) {
    for (const ZoneOutcome& o : r.outcomes) {
        if (o.zone.text() == zone) {
            return o;
        }
    }
    throw std::runtime_error("no outcome for " + zone);
}

TEST_F(PassTest, OnePassAgainstFakes) {
    FakeEnv env(config.state_dir);
    const PassReport report = run_pass(env);
    ASSERT_EQ(report.outcomes.size(), 3u);
    EXPECT_EQ(outcome_of(report, "a.test").result, ZoneOutcome::Result::issued);
    EXPECT_EQ(outcome_of(report, "b.test").result, ZoneOutcome::Result::failed);
    EXPECT_EQ(outcome_of(report, "b.test").message, "b.test: finalize: the CA said no");
    EXPECT_EQ(outcome_of(report, "c.test").result, ZoneOutcome::Result::failed);
    EXPECT_NE(outcome_of(report, "c.test").message.find("allows only other.test"),
              std::string::npos);
    EXPECT_EQ(report.failed(), 2u);

    // The checks before ordering match the pass's CA (the fallback).
    for (const char* z : {"a.test", "b.test", "c.test"}) {
        EXPECT_EQ(env.identities[z], std::vector<std::string>{"fallback.test"}) << z;
    }
    // Recorded before published, removed after.
    EXPECT_TRUE(env.publisher.recorded_first["a.test"]);
    EXPECT_TRUE(env.publisher.recorded_first["b.test"]);
    EXPECT_EQ(env.publisher.recorded_first.count("c.test"), 0u) << "c.test was not ordered";
    EXPECT_TRUE(env.publisher.live.empty());
    // The removal is written with the zone's outcome, not on its own: until
    // then a crash finds the order and removes its values again.
    EXPECT_TRUE(env.recorded_after_removal["a.test"]);
    EXPECT_TRUE(env.recorded_after_removal["b.test"]);

    const ZoneStateStore states(config.state_dir);
    const ZoneState a = states.load(DnsName::parse("a.test"));
    EXPECT_EQ(a.last_result, LastResult::ok);
    EXPECT_EQ(a.ca, kFallback);
    EXPECT_EQ(a.failures, 0u);
    EXPECT_FALSE(a.order);
    EXPECT_TRUE(a.last_attempt);
    const ZoneState b = states.load(DnsName::parse("b.test"));
    EXPECT_EQ(b.last_result, LastResult::failed);
    EXPECT_EQ(b.failures, 1u);
    EXPECT_TRUE(b.retry_at);
    EXPECT_FALSE(b.order) << "the values were removed: no order in flight";
    EXPECT_EQ(b.last_error, "b.test: finalize: the CA said no");
    const ZoneState c = states.load(DnsName::parse("c.test"));
    EXPECT_EQ(c.last_result, LastResult::failed);
    EXPECT_TRUE(c.ca.empty());

    EXPECT_EQ(env.deployed, std::set<std::string>{"a.test"});
    EXPECT_EQ(env.after_passes, 1);
    EXPECT_EQ(env.last_report.outcomes.size(), 3u);
}

TEST_F(PassTest, NoCaFailsEveryZoneWithTheReason) {
    FakeEnv env(config.state_dir);
    env.ca_.unavailable_ = "CA https://first.test/dir: connection refused";
    const PassReport report = run_pass(env);
    for (const ZoneOutcome& o : report.outcomes) {
        EXPECT_EQ(o.result, ZoneOutcome::Result::failed) << o.zone.text();
        EXPECT_NE(o.message.find("connection refused"), std::string::npos) << o.message;
    }
    EXPECT_TRUE(env.identities.empty()) << "no checks without a CA";
    EXPECT_TRUE(env.publisher.recorded_first.empty());
}

TEST_F(PassTest, NothingDueAsksNoCa) {
    FakeEnv env(config.state_dir);
    const PassReport report = Pass(config, env).run({}, {});
    EXPECT_TRUE(report.outcomes.empty());
    EXPECT_FALSE(env.ca_opened(CaRole::first));
    EXPECT_FALSE(env.ca_opened(CaRole::standby));
    EXPECT_EQ(env.after_passes, 1);
}

// A zone switched to the standby CA (its state records it as the live set's
// CA) renews from the standby CA's session; the others, and a zone whose
// recorded CA is no longer configured, from the first CA's.
TEST_F(PassTest, ASwitchedZoneRenewsFromTheStandbyCa) {
    config.standby.emplace();
    config.standby->directory = kStandby;
    const ZoneStateStore states(config.state_dir);
    ZoneState switched;
    switched.ca = kStandby;
    states.save(DnsName::parse("a.test"), switched);
    ZoneState gone;
    gone.ca = "https://gone.test/dir";
    states.save(DnsName::parse("b.test"), gone);
    FakeEnv env(config.state_dir);
    const PassReport report = run_pass(env);
    EXPECT_EQ(outcome_of(report, "a.test").result, ZoneOutcome::Result::issued);
    EXPECT_EQ(env.issued_by.at("a.test"), CaRole::standby);
    EXPECT_EQ(env.identities["a.test"], std::vector<std::string>{"standby.test"});
    EXPECT_EQ(states.load(DnsName::parse("a.test")).ca, kStandby);
    EXPECT_EQ(env.issued_by.at("b.test"), CaRole::first);
    EXPECT_EQ(env.identities["b.test"], std::vector<std::string>{"fallback.test"});
    EXPECT_EQ(env.identities["c.test"], std::vector<std::string>{"fallback.test"});
}

TEST(ZoneCaRoles, FollowTheLiveSetsRecordedCa) {
    IssuerConfig config;
    config.origin = "issuer.conf";
    config.directory = "https://first.test/dir";
    // Without standby-directory: always the first.
    EXPECT_EQ(zone_ca_roles(config, "").live, CaRole::first);
    EXPECT_EQ(zone_ca_roles(config, kStandby).live, CaRole::first);
    config.fallback.emplace();
    config.fallback->directory = kFallback;
    config.standby.emplace();
    config.standby->directory = kStandby;
    for (const std::string& ca : {std::string(), config.directory, kFallback}) {
        const ZoneCaRoles r = zone_ca_roles(config, ca);
        EXPECT_EQ(r.live, CaRole::first) << ca;
        EXPECT_EQ(r.standby, CaRole::standby) << ca;
        EXPECT_EQ(r.note, "") << ca;
    }
    const ZoneCaRoles switched = zone_ca_roles(config, kStandby);
    EXPECT_EQ(switched.live, CaRole::standby);
    EXPECT_EQ(switched.standby, CaRole::first);
    EXPECT_EQ(switched.note, "");
    const ZoneCaRoles gone = zone_ca_roles(config, "https://gone.test/dir");
    EXPECT_EQ(gone.live, CaRole::first);
    EXPECT_EQ(gone.standby, CaRole::standby);
    EXPECT_EQ(gone.note,
              "the live set came from https://gone.test/dir, which issuer.conf no longer "
              "configures; renewed from [acme] directory https://first.test/dir");
    EXPECT_EQ(role_directory(config, CaRole::standby), kStandby);
    config.standby.reset();
    EXPECT_EQ(role_directory(config, CaRole::standby), "");
    EXPECT_EQ(zone_ca_roles(config, kStandby).live, CaRole::first) << "standby CA removed";
    EXPECT_NE(zone_ca_roles(config, kStandby).note, "");
}

}  // namespace
}  // namespace acmezone::issuer
