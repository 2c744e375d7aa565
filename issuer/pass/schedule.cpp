// See schedule.h.
#include "issuer/pass/schedule.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <sstream>

namespace acmezone::issuer {
namespace {

bool all_digits(std::string_view s) {
    return !s.empty() &&
           std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

}  // namespace

std::optional<LifetimePart> LifetimePart::parse(std::string_view text, std::string* error) {
    auto fail = [&](const std::string& why) -> std::optional<LifetimePart> {
        *error = "\"" + std::string(text) + "\": " + why +
                 " (expected a fraction of the lifetime like 1/3 or 0.25, or a time like 30d, "
                 "36h or 90m)";
        return std::nullopt;
    };
    if (text.empty()) {
        return fail("empty");
    }
    LifetimePart p;
    const char unit = text.back();
    if (unit == 'd' || unit == 'h' || unit == 'm') {
        std::string_view n = text.substr(0, text.size() - 1);
        if (!all_digits(n) || n.size() > 6) {
            return fail("not a whole number of " + std::string(unit == 'd'   ? "days"
                                                               : unit == 'h' ? "hours"
                                                                             : "minutes"));
        }
        const long long v = std::stoll(std::string(n));
        const long long unit_s = unit == 'd' ? 86400 : unit == 'h' ? 3600 : 60;
        p.is_fraction = false;
        p.fixed = std::chrono::seconds(v * unit_s);
        return p;
    }
    if (auto slash = text.find('/'); slash != std::string_view::npos) {
        std::string_view a = text.substr(0, slash);
        std::string_view b = text.substr(slash + 1);
        if (!all_digits(a) || !all_digits(b) || a.size() > 6 || b.size() > 6) {
            return fail("not a fraction N/M of whole numbers");
        }
        const double num = std::stod(std::string(a));
        const double den = std::stod(std::string(b));
        if (den == 0 || num >= den) {
            return fail("a fraction must be at least 0 and less than 1");
        }
        p.fraction = num / den;
        return p;
    }
    if (text == "0") {
        return p;  // none at all
    }
    // A decimal "0.25": digits, one dot, digits.
    const auto dot = text.find('.');
    if (dot == std::string_view::npos || !all_digits(text.substr(0, dot)) ||
        !all_digits(text.substr(dot + 1)) || text.size() > 12) {
        return fail("not a fraction or a time");
    }
    p.fraction = std::stod(std::string(text));
    if (p.fraction >= 1) {
        return fail("a fraction must be at least 0 and less than 1");
    }
    return p;
}

std::string LifetimePart::text() const {
    std::ostringstream out;
    if (is_fraction) {
        out << fraction << " of the lifetime";
    } else if (fixed.count() % 86400 == 0) {
        out << fixed.count() / 86400 << "d";
    } else if (fixed.count() % 3600 == 0) {
        out << fixed.count() / 3600 << "h";
    } else {
        out << fixed.count() / 60 << "m";
    }
    return out.str();
}

std::chrono::seconds LifetimePart::of(std::chrono::seconds lifetime, double cap) const {
    if (lifetime.count() <= 0) {
        return std::chrono::seconds(0);
    }
    if (is_fraction) {
        return std::chrono::seconds(
            static_cast<long long>(std::floor(static_cast<double>(lifetime.count()) * fraction)));
    }
    const auto limit = std::chrono::seconds(
        static_cast<long long>(std::floor(static_cast<double>(lifetime.count()) * cap)));
    return std::min(fixed, limit);
}

double zone_fraction(const DnsName& zone) {
    std::uint64_t h = 14695981039346656037ULL;  // FNV-1a, 64 bits
    for (unsigned char c : zone.text()) {
        h ^= c;
        h *= 1099511628211ULL;
    }
    // Top 53 bits as a double in [0, 1).
    return static_cast<double>(h >> 11) / 9007199254740992.0;
}

SysTime renewal_time(const DnsName& zone, SysTime not_before, SysTime not_after,
                     const ScheduleSettings& s) {
    const auto lifetime = std::chrono::duration_cast<std::chrono::seconds>(not_after - not_before);
    const auto before = s.renew_before.of(lifetime, 0.5);
    const auto spread = std::min(s.renew_spread.of(lifetime, 0.25), lifetime / 4);
    const auto offset = std::chrono::seconds(static_cast<long long>(
        std::floor(static_cast<double>(spread.count()) * zone_fraction(zone))));
    return not_after - before - offset;
}

std::chrono::seconds retry_delay(unsigned failures, double jitter, const ScheduleSettings& s) {
    auto d = s.retry_min;
    for (unsigned i = 1; i < failures && d < s.retry_max; ++i) {
        d *= 2;
    }
    d = std::min(d, s.retry_max);
    jitter = std::clamp(jitter, 0.0, 1.0);
    return std::chrono::seconds(
        static_cast<long long>(std::ceil(static_cast<double>(d.count()) * (1.0 - jitter / 5))));
}

SysTime pick_in_window(SysTime start, SysTime end, double u) {
    if (end <= start) {
        return start;
    }
    u = std::clamp(u, 0.0, 1.0);
    const auto span = std::chrono::duration_cast<std::chrono::seconds>(end - start);
    return start + std::chrono::seconds(
                       static_cast<long long>(std::floor(static_cast<double>(span.count()) * u)));
}

double random_unit() {
    thread_local std::mt19937_64 gen{std::random_device{}()};
    return std::uniform_real_distribution<double>(0.0, 1.0)(gen);
}

}  // namespace acmezone::issuer
