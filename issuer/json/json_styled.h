// JSON text out, character for character as jsoncpp's StreamWriterBuilder
// writes it with an indentation ("  ") and its other settings at their
// defaults (comments "All", no special floats, no raw UTF-8): every
// non-empty array and object over several lines, members in jsoncpp's
// order, "name" : value, strings with jsoncpp's escapes (control
// characters and everything beyond ASCII as \uXXXX), reals with `precision`
// significant digits. The same text, appended to a string, without
// jsoncpp's stream writes and per-value strings: `status --json` writes
// 10,000 zones' objects with it.
//
// Comments attached to a Json::Value are not written (the issuer's own
// values carry none). No state: any thread may call it.
#pragma once

#include <json/value.h>

#include <string>
#include <string_view>

namespace acmezone::issuer {

struct StyledJsonOptions {
    std::string_view indentation = "  ";  // not empty
    unsigned precision = 17;              // jsoncpp's "precision" (at most 17)
    // Lines after the first start `depth` indentations in, as jsoncpp's
    // text would be inside that many enclosing values.
    unsigned depth = 0;
};

// Appends `value`'s text to `out`, with no line feed after it.
void append_styled_json(std::string& out, const Json::Value& value,
                        const StyledJsonOptions& options = {});

}  // namespace acmezone::issuer
