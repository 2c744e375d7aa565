// Names as named hands them to the DLZ entry points, parsed once.
//
// named writes a name in its presentation format (dns_name_totext; sdlz then
// lower-cases A-Z): a label octet that is '.' or one of  " ( ) ; \ @ $  is
// escaped with a backslash ("x\.example"), a non-printable one is written
// \DDD (three decimal digits). Splitting that text on every '.' reads the
// one label "x.example" as two, so `_acme-challenge.x\.example.com` (a name
// under com) would pass for `_acme-challenge.<x>.example.com` and be claimed.
// dlz_findzonedb parses its name here before ZoneClaims looks at it.
//
// A DnsName never holds an escaped octet (dns_name.h), so no label holding one
// is part of any name the plugin serves. parse_query_name() decodes the escapes
// and keeps the canonical text (lower case, no trailing dot) of the longest
// suffix of the name whose labels hold no such octet: the whole name when
// none does (`whole`), otherwise the labels right of the rightmost label that
// does ("" when that is the last label). The name asked for lies at or below
// that suffix, never at an apex the plugin could serve unless it is whole.
//
// Hot path (almost every query): no allocation, one pass; the text lives in
// the caller's buffer.
#pragma once

#include <cstddef>
#include <span>
#include <string_view>

#include "plugin/zone_claims.h"

namespace acmezone::plugin {

struct QueryName {
    std::string_view text;  // canonical, in the caller's buffer; "" for the root
    bool whole = true;      // false: `text` is a proper ancestor of the name
};

// False when `name` does not fit in `buf` or is not presentation format (a
// lone trailing '\', a \DDD above 255, an empty label).
bool parse_query_name(const char* name, std::span<char> buf, QueryName* out);

// What the claims say of `q` (dlz_findzonedb's answer): an apex only when the
// name is whole; a cut name lies strictly below `q.text`, so it is inside
// whatever claimed zone holds q.text, and unclaimed when nothing does.
ZoneClaims::Match match_query(const ZoneClaims& claims, const QueryName& q);

}  // namespace acmezone::plugin
