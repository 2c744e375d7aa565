// See query_name.h.
#include "plugin/query_name.h"

#include <cstring>

namespace acmezone::plugin {
namespace {

char lower(char c) {
    return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

bool is_digit(char c) {
    return c >= '0' && c <= '9';
}

// The octets a DnsName label may hold ('*' as a whole label; ZoneClaims
// decides that): an escaped octet outside these rules its label out.
bool name_octet(char c) {
    return (c >= 'a' && c <= 'z') || is_digit(c) || c == '-' || c == '_' || c == '/' || c == '*';
}

}  // namespace

bool parse_query_name(const char* name, std::span<char> buf, QueryName* out) {
    std::size_t len = std::strlen(name);
    if (len == 1 && name[0] == '.') {
        len = 0;  // the root
    }
    std::size_t n = 0;          // octets written to buf
    std::size_t keep = 0;       // where the kept suffix starts in buf
    std::size_t label_len = 0;  // octets in the current label
    bool label_bad = false;     // the current label holds an octet no DnsName has
    bool whole = true;
    auto end_label = [&](std::size_t next_start) {
        if (label_bad) {
            keep = next_start;
            whole = false;
        }
        label_bad = false;
        label_len = 0;
    };
    for (std::size_t i = 0; i < len; ++i) {
        char c = name[i];
        if (c == '.') {
            if (label_len == 0) {
                return false;  // an empty label (the root alone is "." or "")
            }
            if (i + 1 == len) {
                break;  // the trailing dot
            }
            if (n >= buf.size()) {
                return false;
            }
            buf[n++] = '.';
            end_label(n);
            continue;
        }
        if (c == '\\') {
            if (i + 1 >= len) {
                return false;
            }
            if (is_digit(name[i + 1])) {
                if (i + 3 >= len || !is_digit(name[i + 2]) || !is_digit(name[i + 3])) {
                    return false;
                }
                const int v =
                    (name[i + 1] - '0') * 100 + (name[i + 2] - '0') * 10 + (name[i + 3] - '0');
                if (v > 255) {
                    return false;
                }
                c = static_cast<char>(v);
                i += 3;
            } else {
                c = name[++i];
            }
            c = lower(c);
            if (!name_octet(c)) {
                label_bad = true;
            }
        } else {
            c = lower(c);
        }
        if (n >= buf.size()) {
            return false;
        }
        buf[n++] = c;
        ++label_len;
    }
    if (label_len > 0) {
        end_label(n);
    }
    out->text = std::string_view(buf.data() + keep, n - keep);
    out->whole = whole;
    return true;
}

ZoneClaims::Match match_query(const ZoneClaims& claims, const QueryName& q) {
    const ZoneClaims::Match m = claims.match(q.text);
    if (m == ZoneClaims::Match::apex && !q.whole) {
        return ZoneClaims::Match::inside;
    }
    return m;
}

}  // namespace acmezone::plugin
