// JSON text in; see json_text.h.
#include "issuer/json/json_text.h"

#include <memory>
#include <vector>

namespace acmezone::issuer {
namespace {

constexpr std::size_t kWhyMax = 160;

// jsoncpp's "* Line 1, Column 807\n  Missing ..." on one line, blanks folded.
std::string one_line(const std::string& errors) {
    std::string line;
    for (char c : errors) {
        if (c == '\n' || c == '\t') {
            c = ' ';
        }
        if (c == ' ' && (line.empty() || line.back() == ' ')) {
            continue;
        }
        line += c;
        if (line.size() == kWhyMax) {
            break;
        }
    }
    while (!line.empty() && line.back() == ' ') {
        line.pop_back();
    }
    return line.empty() ? "not JSON" : line;
}

// A reader for `options`, kept by the calling thread: building one (the
// builder's settings, the reader's stacks) cost about a third as much as
// parsing a zone's state file with it. A reader resets itself at the start
// of every parse, also after one that threw.
Json::CharReader& reader_for(const JsonReadOptions& options) {
    struct Kept {
        bool strict;
        int max_depth;
        std::unique_ptr<Json::CharReader> reader;
    };
    thread_local std::vector<Kept> kept;
    for (const Kept& k : kept) {
        if (k.strict == options.strict && k.max_depth == options.max_depth) {
            return *k.reader;
        }
    }
    Json::CharReaderBuilder builder;
    if (options.strict) {
        Json::CharReaderBuilder::strictMode(&builder.settings_);
    }
    builder["stackLimit"] = options.max_depth;
    kept.push_back(Kept{options.strict, options.max_depth,
                        std::unique_ptr<Json::CharReader>(builder.newCharReader())});
    return *kept.back().reader;
}

}  // namespace

std::optional<Json::Value> parse_json(std::string_view text, std::string* why,
                                      const JsonReadOptions& options) {
    Json::Value value;
    std::string errors;
    try {
        if (reader_for(options).parse(text.data(), text.data() + text.size(), &value, &errors)) {
            return value;
        }
    } catch (const Json::Exception& e) {
        errors = e.what();
    }
    if (why != nullptr) {
        *why = one_line(errors);
    }
    return std::nullopt;
}

}  // namespace acmezone::issuer
