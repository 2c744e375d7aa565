// What a request's target asks for, decided before anything is looked up.
//
//     /v1/zones                   the zones this host may fetch
//     /v1/zones/<zone>            one zone's current set
//     ...?wait=N                  long poll: up to N seconds (the server caps
//                                 it at [serve] max-wait) for a version other
//                                 than the one If-None-Match names
//
// <zone> is one path segment, percent-decoded once: "%2f" gives the '/' of an
// RFC 2317 zone ("0%2f25.2.0.192.in-addr.arpa"). The decoded text must parse
// as a DNS name (common/dns_name.h: no empty label, so no "." or ".."
// component, and never a '%', so a doubly encoded "%252e" stays invalid);
// anything else is Kind::not_found, exactly like a zone that does not exist.
// The name is never used as a path: the server only compares it with the
// configured zones, and the certificate store maps a configured zone to its
// directory (common/name_path.h). A trailing '/', a query other than wait=N,
// a fragment, an absolute-form target ("https://host/...") or a
// malformed escape is Kind::bad_request.
#pragma once

#include <chrono>
#include <optional>
#include <string_view>

#include "common/dns_name.h"

namespace acmezone::issuer {

struct RequestTarget {
    enum class Kind { zone_list, zone, not_found, bad_request };
    Kind kind = Kind::bad_request;
    DnsName zone;                              // Kind::zone
    std::optional<std::chrono::seconds> wait;  // ?wait=N (N at most 86400)
};

RequestTarget parse_request_target(std::string_view target);

}  // namespace acmezone::issuer
