// JSON text in; see json_text.h.
#include "issuer/json/json_text.h"

#include <memory>

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

}  // namespace

std::optional<Json::Value> parse_json(std::string_view text, std::string* why,
                                      const JsonReadOptions& options) {
    Json::CharReaderBuilder builder;
    if (options.strict) {
        Json::CharReaderBuilder::strictMode(&builder.settings_);
    }
    builder["stackLimit"] = options.max_depth;
    const std::unique_ptr<Json::CharReader> reader(builder.newCharReader());
    Json::Value value;
    std::string errors;
    try {
        if (reader->parse(text.data(), text.data() + text.size(), &value, &errors)) {
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
