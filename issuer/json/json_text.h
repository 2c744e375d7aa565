// JSON text in: one parser for everything the issuer and acmezone-fetch read
// (the CA's answers, the state files, the distribution service's answers).
//
// jsoncpp reports most bad input by returning false, but throws for some
// (nesting deeper than its stack limit is "Exceeded stackLimit in
// readValue()"); a caller that forgets the second way terminates on a
// hostile or damaged document. parse_json never throws for any input, and
// bounds the nesting itself. No state: any thread may call it.
#pragma once

#include <json/json.h>

#include <optional>
#include <string>
#include <string_view>

namespace acmezone::issuer {

struct JsonReadOptions {
    // Deeper nesting is refused. Every document acmezone reads is a few
    // levels deep; the bound keeps the recursive reader's stack small.
    int max_depth = 64;
    // jsoncpp's strict mode: one root value and nothing after it, no
    // comments, no duplicate keys. Off, trailing text after the root value
    // is ignored, as a CA's body has always been read.
    bool strict = false;
};

// The document `text` holds, or nullopt with the reason on one line (at most
// 160 characters, jsoncpp's "Line 1, Column 7" included) in `why` when
// non-null.
std::optional<Json::Value> parse_json(std::string_view text, std::string* why = nullptr,
                                      const JsonReadOptions& options = {});

}  // namespace acmezone::issuer
