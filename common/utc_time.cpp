// See utc_time.h.
#include "common/utc_time.h"

#include <algorithm>
#include <cstdio>
#include <ctime>

namespace acmezone {

SysTime from_unix_seconds(std::int64_t seconds) {
    return SysTime(std::chrono::seconds(std::clamp<std::int64_t>(seconds, 0, kLatestUnixSeconds)));
}

std::int64_t to_unix_seconds(SysTime t) {
    return std::chrono::floor<std::chrono::seconds>(t.time_since_epoch()).count();
}

std::string format_utc(std::chrono::system_clock::time_point t) {
    std::time_t tt = std::chrono::system_clock::to_time_t(t);
    std::tm tm{};
    gmtime_r(&tt, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

std::optional<std::chrono::system_clock::time_point> parse_utc(std::string_view text) {
    // YYYY-MM-DDTHH:MM:SS, then optional .fraction, then Z.
    if (text.size() < 20) {
        return std::nullopt;
    }
    auto digits = [&](std::size_t pos, std::size_t n, int* out) {
        int v = 0;
        for (std::size_t i = pos; i < pos + n; ++i) {
            if (text[i] < '0' || text[i] > '9') {
                return false;
            }
            v = v * 10 + (text[i] - '0');
        }
        *out = v;
        return true;
    };
    std::tm tm{};
    int year = 0;
    int month = 0;
    if (!digits(0, 4, &year) || text[4] != '-' || !digits(5, 2, &month) || text[7] != '-' ||
        !digits(8, 2, &tm.tm_mday) || (text[10] != 'T' && text[10] != 't') ||
        !digits(11, 2, &tm.tm_hour) || text[13] != ':' || !digits(14, 2, &tm.tm_min) ||
        text[16] != ':' || !digits(17, 2, &tm.tm_sec)) {
        return std::nullopt;
    }
    std::size_t pos = 19;
    if (text[pos] == '.') {
        ++pos;
        const std::size_t start = pos;
        while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
            ++pos;
        }
        if (pos == start) {
            return std::nullopt;
        }
    }
    if (pos + 1 != text.size() || (text[pos] != 'Z' && text[pos] != 'z')) {
        return std::nullopt;
    }
    if (month < 1 || month > 12 || tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_hour > 23 ||
        tm.tm_min > 59 || tm.tm_sec > 60 || year < 1970 || year > 9999) {
        return std::nullopt;
    }
    tm.tm_year = year - 1900;
    tm.tm_mon = month - 1;
    return from_unix_seconds(timegm(&tm));
}

std::string format_duration(std::chrono::seconds d) {
    long long s = d.count();
    const char* sign = s < 0 ? "-" : "";
    if (s < 0) {
        s = -s;
    }
    char buf[64];
    if (s < 120) {
        std::snprintf(buf, sizeof buf, "%s%lld s", sign, s);
    } else if (s < 7200) {
        std::snprintf(buf, sizeof buf, "%s%lld min", sign, s / 60);
    } else if (s < 2 * 86400) {
        std::snprintf(buf, sizeof buf, "%s%lld h %lld min", sign, s / 3600, s % 3600 / 60);
    } else {
        std::snprintf(buf, sizeof buf, "%s%lld d %lld h", sign, s / 86400, s % 86400 / 3600);
    }
    return buf;
}

}  // namespace acmezone
