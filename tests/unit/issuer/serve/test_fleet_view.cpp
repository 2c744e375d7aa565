// fleet_view: which host holds which version; outdated = older than served;
// fleet.json round trip and its refusals. serve_metrics: the file beside the
// issuer's and the samples.
#include <gtest/gtest.h>

#include <filesystem>

#include "common/file_io.h"
#include "issuer/serve/fleet_view.h"
#include "issuer/serve/serve_metrics.h"

using namespace acmezone;
using namespace acmezone::issuer;
using namespace std::chrono_literals;

namespace {
const auto kT0 = std::chrono::system_clock::time_point(std::chrono::seconds(1'800'000'000));

FleetView two_hosts() {
    FleetView v;
    v.record("example.com", "web1.example.net", 3, 200, kT0);
    v.record("example.com", "web2.example.net", 2, 304, kT0 + 5s);
    return v;
}
}  // namespace

TEST(FleetView, TheLastFetchOfAHostReplacesItsEarlierOne) {
    FleetView v = two_hosts();
    v.record("example.com", "web2.example.net", 3, 200, kT0 + 9s);
    ASSERT_EQ(v.zones["example.com"].size(), 2u);
    EXPECT_EQ(v.zones["example.com"]["web2.example.net"].version, 3u);
    EXPECT_EQ(v.zones["example.com"]["web2.example.net"].status, 200u);
    EXPECT_EQ(v.zones["example.com"]["web2.example.net"].at, kT0 + 9s);
}

TEST(FleetView, OutdatedIsOlderThanTheServedVersion) {
    const FleetView v = two_hosts();
    const FleetHosts& hosts = v.zones.at("example.com");
    EXPECT_EQ(count_outdated(hosts, 3ul), 1u);
    EXPECT_EQ(count_outdated(hosts, 4ul), 2u);
    EXPECT_EQ(count_outdated(hosts, 2ul), 0u);  // a host ahead of a staged version is not behind
    EXPECT_EQ(count_outdated(hosts, std::nullopt), 0u);
    EXPECT_TRUE(outdated(hosts.at("web2.example.net"), 3ul));
    EXPECT_FALSE(outdated(hosts.at("web1.example.net"), 3ul));
}

TEST(FleetView, JsonRoundTrip) {
    const std::string text = fleet_to_json(two_hosts(), kT0 + 60s);
    EXPECT_NE(text.find("\"written\" : \"2027-01-15T08:01:00Z\""), std::string::npos) << text;
    const FleetView back = fleet_from_json(text);
    ASSERT_TRUE(back.written);
    EXPECT_EQ(*back.written, kT0 + 60s);
    ASSERT_EQ(back.zones.size(), 1u);
    const FleetHosts& hosts = back.zones.at("example.com");
    ASSERT_EQ(hosts.size(), 2u);
    EXPECT_EQ(hosts.at("web1.example.net").version, 3u);
    EXPECT_EQ(hosts.at("web1.example.net").status, 200u);
    EXPECT_EQ(hosts.at("web1.example.net").at, kT0);
    EXPECT_EQ(hosts.at("web2.example.net").version, 2u);
    EXPECT_EQ(hosts.at("web2.example.net").status, 304u);
    EXPECT_EQ(hosts.at("web2.example.net").at, kT0 + 5s);
}

TEST(FleetView, BadFilesAreRefusedSayingWhy) {
    const auto refused = [](const std::string& text) {
        try {
            fleet_from_json(text);
        } catch (const std::runtime_error& e) {
            return std::string(e.what());
        }
        return std::string("accepted");
    };
    EXPECT_NE(refused("{").find("fleet view: not JSON"), std::string::npos);
    EXPECT_NE(refused(R"({"format": 2, "zones": {}})").find("not format 1"), std::string::npos);
    EXPECT_NE(refused(R"({"format": 1})").find("not format 1"), std::string::npos);
    EXPECT_NE(
        refused(R"({"format": 1, "zones": {"a.example": 3}})").find("a.example: not an object"),
        std::string::npos);
    EXPECT_NE(refused(R"({"format": 1, "zones": {"a.example": {"h": {"version": 3}}}})")
                  .find("a.example h: needs \"version\" (string)"),
              std::string::npos);
    EXPECT_NE(
        refused(
            R"({"format": 1, "zones": {"a.example": {"h": {"version": "x", "status": 200, "at": "2026-12-05T00:00:00Z"}}}})")
            .find("version \"x\""),
        std::string::npos);
    EXPECT_EQ(refused(R"({"format": 1, "zones": {}})"), "accepted");
}

TEST(FleetView, AMissingFileIsAnEmptyViewAndABadOneNamesThePath) {
    const auto dir =
        std::filesystem::temp_directory_path() / ("test_fleet_view." + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    EXPECT_TRUE(load_fleet(fleet_file(dir)).zones.empty());
    write_file_atomic(fleet_file(dir), fleet_to_json(two_hosts(), kT0));
    EXPECT_EQ(load_fleet(fleet_file(dir)).zones.at("example.com").size(), 2u);
    write_file_atomic(fleet_file(dir), "not json");
    try {
        load_fleet(fleet_file(dir));
        ADD_FAILURE() << "a bad fleet.json was read";
    } catch (const std::runtime_error& e) {
        EXPECT_NE(std::string(e.what()).find((dir / "fleet.json").string() + ": fleet view"),
                  std::string::npos)
            << e.what();
    }
    std::filesystem::remove_all(dir);
}

TEST(ServeMetrics, TheFileIsBesideTheIssuers) {
    EXPECT_EQ(serve_metrics_file("/var/lib/node-exporter/acmezone.prom"),
              "/var/lib/node-exporter/acmezone-serve.prom");
    EXPECT_EQ(serve_metrics_file("/m/issuer"), "/m/issuer-serve");
}

TEST(ServeMetrics, EveryZoneHasItsGaugesAndEachStatusItsCounter) {
    const std::vector<DnsName> zones = {DnsName::parse("a.example"), DnsName::parse("b.example")};
    const std::string text =
        format_metrics(serve_metric_samples(zones, {{"a.example", {2, 1}}}, {{200, 5}, {304, 7}}));
    EXPECT_NE(text.find("acmezone_fleet_hosts{zone=\"a.example\"} 2\n"), std::string::npos) << text;
    EXPECT_NE(text.find("acmezone_fleet_hosts_outdated{zone=\"a.example\"} 1\n"),
              std::string::npos);
    EXPECT_NE(text.find("acmezone_fleet_hosts{zone=\"b.example\"} 0\n"), std::string::npos);
    EXPECT_NE(text.find("acmezone_fleet_hosts_outdated{zone=\"b.example\"} 0\n"),
              std::string::npos);
    EXPECT_NE(text.find("# TYPE acmezone_serve_requests_total counter\n"), std::string::npos);
    EXPECT_NE(text.find("acmezone_serve_requests_total{status=\"200\"} 5\n"), std::string::npos);
    EXPECT_NE(text.find("acmezone_serve_requests_total{status=\"304\"} 7\n"), std::string::npos);
}
