// libFuzzer target: what acmezone-fetch makes of a server's answer
// (issuer/fetch/zone_set.h) before it installs anything: the zone answer
// through parse_zone_set, then check_zone_set against the zone it names (key
// types, key and certificate matching, names, validity, chain, fullchain =
// cert + chain); the same bytes as a zone list (parse_zone_listing), and as
// the fetcher's state file (parse_fetch_state, which never throws).
//
// Normal outcomes: AnswerError (a malformed answer or a set that fails a
// check). What must hold, or the target aborts: a parsed set has at least one
// key type, each at most once, and a version within 1..kMaxVersion; a set
// that passes the checks has a not_after; a listing names each zone once with
// a version within range. Anything else thrown, and any sanitizer report, is
// a finding.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <set>
#include <string>
#include <string_view>

#include "issuer/fetch/fetch_state.h"
#include "issuer/fetch/zone_set.h"

namespace {

using namespace acmezone;
using namespace acmezone::issuer;

void require(bool ok) {
    if (!ok) {
        std::abort();
    }
}

void zone_answer(std::string_view body, bool trace) {
    try {
        ZoneSet set = parse_zone_set(body);
        require(!set.keys.empty());
        require(set.version >= 1 && set.version <= kMaxVersion);
        std::set<KeyType> types;
        for (const KeySetFiles& k : set.keys) {
            require(types.insert(k.type).second);
        }
        const DnsName zone = set.zone;
        check_zone_set(set, zone, std::nullopt);
        require(set.not_after.time_since_epoch().count() != 0);
        if (trace) {
            std::fprintf(stderr, "set of %s version %lu passes\n", zone.text().c_str(),
                         set.version);
        }
    } catch (const AnswerError& e) {
        if (trace) {
            std::fprintf(stderr, "zone answer: AnswerError: %s\n", e.what());
        }
    }
}

void zone_list(std::string_view body, bool trace) {
    try {
        const auto zones = parse_zone_listing(body);
        std::set<std::string> names;
        for (const ZoneListing& z : zones) {
            require(names.insert(z.zone.text()).second);
            require(z.version >= 1 && z.version <= kMaxVersion);
        }
        if (trace) {
            std::fprintf(stderr, "list of %zu zone(s)\n", zones.size());
        }
    } catch (const AnswerError& e) {
        if (trace) {
            std::fprintf(stderr, "zone list: AnswerError: %s\n", e.what());
        }
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static const bool kTrace = std::getenv("ACMEZONE_FUZZ_TRACE") != nullptr;
    const std::string_view body(reinterpret_cast<const char*>(data), size);
    zone_answer(body, kTrace);
    zone_list(body, kTrace);
    (void)parse_fetch_state(body);
    return 0;
}
