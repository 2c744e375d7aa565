// libFuzzer target: the CA's ARI answer (RFC 9773 renewalInfo) and what the
// issuer makes of it, as pass.cpp update_window() does: the body through
// parse_json (issuer/json/json_text.h, as AcmeClient::get_renewal_info reads it),
// then parse_renewal_info (ari.h); the window's renewal time
// (pick_in_window, schedule.h, at fixed draws instead of random_unit()), the
// re-poll time from the answer's Retry-After (parse_retry_after,
// ari_repoll_interval) and the window kept in the zone's state, written and
// read back (ZoneState::to_json / from_json, zone_state.h).
//
// Input: a body, optionally preceded by one line "Retry-After: VALUE" (the
// header; without it, none). "Now" is fixed (kNow), for determinism.
//
// Normal outcomes: a body that is not JSON; AriError (the documented
// refusal of a malformed answer). What must hold, or the target aborts:
// the window's start is not after its end; a picked time lies within the
// window; the re-poll interval is within 1 min..1 day; the window's times
// print as RFC 3339 and parse back to themselves; the state keeps the
// window and the pick exactly across a save and a load. Anything else
// thrown, and any sanitizer report, is a finding.
#include <json/value.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>

#include "common/utc_time.h"
#include "issuer/acme/acme_client.h"
#include "issuer/acme/ari.h"
#include "issuer/acme/http_client.h"
#include "issuer/json/json_text.h"
#include "issuer/pass/schedule.h"
#include "issuer/pass/zone_state.h"

namespace {

using namespace acmezone;
using namespace acmezone::issuer;

const SysTime kNow = SysTime(std::chrono::seconds(1767225600));  // 2026-01-01T00:00:00Z
constexpr const char* kRetryAfter = "Retry-After:";

void require(bool ok) {
    if (!ok) {
        std::abort();
    }
}

void check_round_trip(SysTime t) {
    const std::optional<SysTime> back = parse_utc(format_utc(t));
    require(back.has_value() && *back == t);
}

void check_window(const RenewalInfo& info, std::optional<std::chrono::seconds> retry_after) {
    require(info.window_start <= info.window_end);
    check_round_trip(info.window_start);
    check_round_trip(info.window_end);
    for (double u : {0.0, 0.5, 0.999999999}) {
        const SysTime at = pick_in_window(info.window_start, info.window_end, u);
        require(at >= info.window_start && at <= info.window_end);
    }
    const std::chrono::seconds repoll = ari_repoll_interval(retry_after);
    require(repoll >= std::chrono::minutes(1) && repoll <= std::chrono::hours(24));

    // What update_window() keeps, written and read back.
    ZoneState state;
    AriState a;
    a.cert_id = "aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE";
    a.directory = "https://ca.test/dir";
    a.window_start = info.window_start;
    a.window_end = info.window_end;
    a.renew_at = pick_in_window(info.window_start, info.window_end, 0.5);
    a.next_poll = kNow + repoll;
    a.explanation_url = info.explanation_url;
    state.ari.push_back(a);
    const ZoneState back = ZoneState::from_json(state.to_json(), "fuzz-zone.json");
    const AriState* kept = back.ari_for(a.cert_id);
    require(kept != nullptr);
    require(kept->window_start == a.window_start && kept->window_end == a.window_end);
    require(kept->renew_at == a.renew_at && kept->next_poll == a.next_poll);
    require(kept->explanation_url == a.explanation_url);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static const bool kTrace = std::getenv("ACMEZONE_FUZZ_TRACE") != nullptr;
    std::string body(reinterpret_cast<const char*>(data), size);
    std::optional<std::chrono::seconds> retry_after;
    if (body.starts_with(kRetryAfter)) {
        const std::size_t eol = body.find('\n');
        std::string value = body.substr(0, eol).substr(std::string(kRetryAfter).size());
        value.erase(0, value.find_first_not_of(' '));
        retry_after = parse_retry_after(value, kNow);
        body = eol == std::string::npos ? std::string() : body.substr(eol + 1);
    }
    const std::optional<Json::Value> doc = parse_json(body);
    if (!doc) {
        if (kTrace) {
            std::fprintf(stderr, "not JSON\n");
        }
        return 0;
    }
    try {
        const RenewalInfo info = parse_renewal_info(*doc);
        check_window(info, retry_after);
        if (kTrace) {
            std::fprintf(stderr, "window %s .. %s\n", format_utc(info.window_start).c_str(),
                         format_utc(info.window_end).c_str());
        }
    } catch (const AriError& e) {
        if (kTrace) {
            std::fprintf(stderr, "AriError: %s\n", e.what());
        }
    }
    return 0;
}
