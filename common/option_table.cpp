// See option_table.h.
#include "common/option_table.h"

#include <algorithm>
#include <cctype>
#include <stdexcept>

namespace acmezone {
namespace {

using Strings = std::vector<std::string>;

po::value_semantic* semantic_of(const OptionRow& r) {
    switch (r.type) {
        case OptionRow::Type::texts:
            return po::value<Strings>()->composing();
        case OptionRow::Type::number: {
            auto* v = po::value<unsigned>();
            if (r.default_number) {
                v->default_value(*r.default_number);
            }
            return v;
        }
        case OptionRow::Type::text:
        case OptionRow::Type::yes_no:
            break;
    }
    auto* v = po::value<std::string>();
    if (r.default_text) {
        v->default_value(*r.default_text);
    }
    if (r.required) {
        v->required();
    }
    return v;
}

// "certs.retry-min" -> "retry-min": the key as written in its section.
std::string_view short_key(std::string_view key) {
    auto dot = key.rfind('.');
    return dot == std::string_view::npos ? key : key.substr(dot + 1);
}

}  // namespace

OptionRow OptionRow::text(std::string key, std::string help,
                          std::optional<std::string> default_text) {
    OptionRow r;
    r.key = std::move(key);
    r.help = std::move(help);
    r.default_text = std::move(default_text);
    return r;
}

OptionRow OptionRow::required_text(std::string key, std::string help) {
    OptionRow r = text(std::move(key), std::move(help));
    r.required = true;
    return r;
}

OptionRow OptionRow::texts(std::string key, std::string help) {
    OptionRow r = text(std::move(key), std::move(help));
    r.type = Type::texts;
    return r;
}

OptionRow OptionRow::number(std::string key, std::optional<unsigned> default_number,
                            OptionRange range, std::string help, std::string range_note) {
    OptionRow r = text(std::move(key), std::move(help));
    r.type = Type::number;
    r.default_number = default_number;
    r.range = range;
    r.range_note = std::move(range_note);
    return r;
}

OptionRow OptionRow::yes_no(std::string key, bool default_value, std::string help) {
    OptionRow r = text(std::move(key), std::move(help), default_value ? "yes" : "no");
    r.type = Type::yes_no;
    return r;
}

OptionRow OptionRow::at_least(std::string key) const {
    OptionRow r = *this;
    r.min_key = std::move(key);
    return r;
}

std::string OptionRow::full_help() const {
    if (type != Type::number) {
        return help;
    }
    const std::string min_text =
        min_key.empty() ? std::to_string(range.min) : std::string(short_key(min_key));
    return help + " (" + (range_note.empty() ? "" : range_note + "; ") + min_text + ".." +
           std::to_string(range.max) + ")";
}

OptionTable::OptionTable(const std::string& caption, std::vector<OptionRow> rows)
    : rows_(std::move(rows)), description_(caption) {
    for (const OptionRow& r : rows_) {
        const std::string help = r.full_help();
        description_.add_options()(r.key.c_str(), semantic_of(r), help.c_str());
    }
}

const OptionRow& OptionTable::row(std::string_view key) const {
    auto it =
        std::find_if(rows_.begin(), rows_.end(), [&](const OptionRow& r) { return r.key == key; });
    if (it == rows_.end()) {
        throw std::logic_error("option " + std::string(key) + " is not in the table");
    }
    return *it;
}

const OptionRow& OptionTable::typed_row(std::string_view key, OptionRow::Type type) const {
    const OptionRow& r = row(key);
    if (r.type != type) {
        throw std::logic_error("option " + std::string(key) + " is read as another type");
    }
    return r;
}

bool OptionTable::given(const ConfigFile& cf, std::string_view key) {
    return cf.values().count(std::string(key)) > 0;
}

std::optional<std::string> OptionTable::text(const ConfigFile& cf, std::string_view key) const {
    const OptionRow& r = typed_row(key, OptionRow::Type::text);
    if (!given(cf, key)) {
        return std::nullopt;
    }
    return cf.values()[r.key].as<std::string>();
}

std::vector<std::string> OptionTable::texts(const ConfigFile& cf, std::string_view key) const {
    const OptionRow& r = typed_row(key, OptionRow::Type::texts);
    return given(cf, key) ? cf.values()[r.key].as<Strings>() : Strings{};
}

unsigned OptionTable::number(const ConfigFile& cf, std::string_view key) const {
    const OptionRow& r = typed_row(key, OptionRow::Type::number);
    if (!given(cf, key)) {
        throw std::logic_error("option " + r.key + " has no value and no default");
    }
    unsigned lo = r.range.min;
    if (!r.min_key.empty()) {
        lo = std::max(lo, number(cf, r.min_key));
    }
    const unsigned v = cf.values()[r.key].as<unsigned>();
    if (v < lo || v > r.range.max) {
        cf.fail(r.key, 0,
                "value " + std::to_string(v) + " out of range (" + std::to_string(lo) + ".." +
                    std::to_string(r.range.max) + ")");
    }
    return v;
}

bool OptionTable::yes_no(const ConfigFile& cf, std::string_view key) const {
    const OptionRow& r = typed_row(key, OptionRow::Type::yes_no);
    const std::string text = cf.values()[r.key].as<std::string>();
    auto value = parse_yes_no(text);
    if (!value) {
        cf.fail(r.key, 0, "\"" + text + "\": expected yes or no");
    }
    return *value;
}

std::optional<bool> parse_yes_no(std::string_view text) {
    std::string word(text);
    std::transform(word.begin(), word.end(), word.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    if (word == "yes" || word == "true" || word == "on" || word == "1") {
        return true;
    }
    if (word == "no" || word == "false" || word == "off" || word == "0") {
        return false;
    }
    return std::nullopt;
}

}  // namespace acmezone
