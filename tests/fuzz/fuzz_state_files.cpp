// libFuzzer target: the issuer's own state files, read back on the next run
// (a crash, a disk error, an older or newer issuer, or a hand edit may have
// left anything there). The input is written as each file in turn, in a
// temporary directory made once (fuzz_temp_dir.h), and read by the product's
// own reader:
//
//   zones/example.com.json   ZoneStateStore::load (zone_state.h), then the
//                            state written (to_json) and read again;
//   rate-budget.json         RateBudget's constructor (rate_budget.h) for the
//                            CA of the seeds, then what a pass and status ask
//                            of it: check, plan, usage and remaining, at a
//                            fixed "now" (kNow);
//   rate-budget.journal      the same, with the input as the journal beside
//                            an empty rate-budget.json (a crash may cut its
//                            last line anywhere);
//   ca-failover.json         CaFailover::read and CaFailover's constructor
//                            (ca_failover.h).
//
// Normal outcomes, as the headers document: every reader is tolerant (a
// missing, unreadable or corrupt file is a warning and an empty state, a
// field of the wrong type is ignored); none is documented to throw, nor is
// anything asked of the budget afterwards. Warnings go to a log sink that
// drops them. What must hold, or the target aborts: a zone state written and
// read back is written the same again; a budget refusal names a limit and a
// time after kNow; remaining() never leaves more than its limit; the failover
// state read is about the first CA asked. Anything thrown, and any sanitizer
// report, is a finding.
#include <json/writer.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "common/dns_name.h"
#include "common/log.h"
#include "fuzz_temp_dir.h"
#include "issuer/ca/ca_failover.h"
#include "issuer/ca/rate_budget.h"
#include "issuer/pass/zone_state.h"

namespace {

using namespace acmezone;
using namespace acmezone::issuer;

const std::chrono::system_clock::time_point kNow(
    std::chrono::seconds(1796432530));                      // the seeds' time
constexpr const char* kCa = "https://127.0.0.1:14000/dir";  // the seeds' CA (Pebble)

void require(bool ok) {
    if (!ok) {
        std::abort();
    }
}

const fuzz::TempDir& state_dir() {
    static const fuzz::TempDir dir = [] {
        set_log_sink([](LogLevel, const std::string&) {});  // the readers' warnings
        return fuzz::TempDir({});
    }();
    return dir;
}

std::string text_of(const Json::Value& v) {
    Json::StreamWriterBuilder w;
    return Json::writeString(w, v);
}

void read_zone_state(const fuzz::TempDir& dir, std::string_view input) {
    std::filesystem::create_directories(dir.path() / "zones");
    dir.write("zones/example.com.json", input);
    const ZoneState state = ZoneStateStore(dir.path()).load(DnsName::parse("example.com"));
    const Json::Value once = state.to_json();
    const Json::Value twice = ZoneState::from_json(once, "fuzz").to_json();
    require(text_of(once) == text_of(twice));
}

void ask_rate_budget(const fuzz::TempDir& dir) {
    const std::vector<DnsName> zone{DnsName::parse("example.com"), DnsName::parse("*.example.com")};
    const std::vector<DnsName> other{DnsName::parse("a.example.co.uk")};
    RateBudget budget(dir.path() / "rate-budget.json", kCa, RateLimits::letsencrypt());
    for (Renewal renewal : {Renewal::no, Renewal::yes, Renewal::ari}) {
        const BudgetDecision d = budget.check({zone, renewal}, kNow);
        require(d.allowed || (!d.limit.empty() && d.not_before > kNow));
    }
    (void)budget.plan({{zone, Renewal::no}, {other, Renewal::yes}, {zone, Renewal::ari}}, kNow);
    (void)budget.usage("example.com", kNow);
    for (const RateBudget::Remaining& r : budget.remaining({zone, other}, kNow)) {
        require(r.left <= r.max);
    }
}

void read_rate_budget(const fuzz::TempDir& dir, std::string_view input) {
    std::filesystem::remove(dir.path() / "rate-budget.journal");
    dir.write("rate-budget.json", input);
    ask_rate_budget(dir);
}

void read_rate_budget_journal(const fuzz::TempDir& dir, std::string_view input) {
    dir.write("rate-budget.json", "{}");
    dir.write("rate-budget.journal", input);
    ask_rate_budget(dir);
}

void read_ca_failover(const fuzz::TempDir& dir, std::string_view input) {
    dir.write("ca-failover.json", input);
    const std::filesystem::path file = dir.path() / "ca-failover.json";
    require(CaFailover::read(file, kCa).directory == kCa);
    const CaFailover failover(file, kCa);
    require(failover.state().directory == kCa);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view input(reinterpret_cast<const char*>(data), size);
    const fuzz::TempDir& dir = state_dir();
    read_zone_state(dir, input);
    read_rate_budget(dir, input);
    read_rate_budget_journal(dir, input);
    read_ca_failover(dir, input);
    return 0;
}
