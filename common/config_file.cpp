// ConfigFile: INI files read line by line, validated by Boost.Program_options.
//
// Design note. Boost's own parse_config_file() forgets line numbers, and an
// operator needs "plugin.conf:12: control.grant: ..." to fix a file quickly.
// So the reader here is our own and small:
//   - a line is blank, a comment ('#' or ';' first), "[section]" or
//     "key = value"; a value ends at the first " #" (white space, then '#');
//     keys after "[section]" are "section.key"; CR before LF is ignored;
//   - each entry is first stored alone into a scratch variables_map: that is
//     Boost's own validation (unknown key, value not convertible to the
//     declared type), run per entry, so its error gets that entry's line;
//   - a key given twice is an error unless its option is repeatable (declared
//     composing, or with a std::vector<T> type); the message names both lines;
//   - then all entries are stored at once, required options are checked (we
//     name every missing one ourselves) and notify() runs.
// Two traps of Boost.Program_options are closed here: lexical_cast wraps "-1"
// into a huge unsigned value, so negative values for unsigned types are
// refused; and an empty value would read as "true" for a bool, so empty
// values are refused for every non-string type.
#include "common/config_file.h"

#include <cstdint>
#include <limits>
#include <optional>
#include <system_error>
#include <typeindex>

#include "common/error.h"
#include "common/file_io.h"

namespace acmezone {
namespace {

std::string_view trim(std::string_view s) {
    constexpr std::string_view ws = " \t\r\f\v";
    std::size_t b = s.find_first_not_of(ws);
    if (b == std::string_view::npos) {
        return {};
    }
    std::size_t e = s.find_last_not_of(ws);
    return s.substr(b, e - b + 1);
}

bool valid_key_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_' || c == '.';
}

bool valid_identifier(std::string_view s) {
    if (s.empty()) {
        return false;
    }
    for (char c : s) {
        if (!valid_key_char(c)) {
            return false;
        }
    }
    return true;
}

// What the declared type of an option expects, for messages.
struct TypeInfo {
    std::string expected;  // empty: any text
    bool is_unsigned = false;
    bool is_vector = false;
};

template <typename T>
std::string integer_range() {
    return "an integer from " + std::to_string(std::numeric_limits<T>::min()) + " to " +
           std::to_string(std::numeric_limits<T>::max());
}

template <typename T>
void add_integer(std::map<std::type_index, TypeInfo>& table) {
    TypeInfo scalar{integer_range<T>(), std::is_unsigned_v<T>, false};
    table[typeid(T)] = scalar;
    scalar.is_vector = true;
    table[typeid(std::vector<T>)] = scalar;
}

const std::map<std::type_index, TypeInfo>& type_table() {
    static const std::map<std::type_index, TypeInfo> table = [] {
        std::map<std::type_index, TypeInfo> t;
        add_integer<short>(t);
        add_integer<unsigned short>(t);
        add_integer<int>(t);
        add_integer<unsigned int>(t);
        add_integer<long>(t);
        add_integer<unsigned long>(t);
        add_integer<long long>(t);
        add_integer<unsigned long long>(t);
        t[typeid(double)] = TypeInfo{"a number", false, false};
        t[typeid(std::vector<double>)] = TypeInfo{"a number", false, true};
        t[typeid(bool)] = TypeInfo{"true or false", false, false};
        t[typeid(std::string)] = TypeInfo{"", false, false};
        t[typeid(std::vector<std::string>)] = TypeInfo{"", false, true};
        return t;
    }();
    return table;
}

std::optional<TypeInfo> type_of(const po::option_description& d) {
    auto typed = dynamic_cast<const po::typed_value_base*>(d.semantic().get());
    if (typed == nullptr) {
        return std::nullopt;
    }
    const auto& table = type_table();
    auto it = table.find(std::type_index(typed->value_type()));
    if (it == table.end()) {
        return std::nullopt;
    }
    return it->second;
}

bool is_repeatable(const po::option_description& d) {
    if (d.semantic()->is_composing()) {
        return true;
    }
    auto t = type_of(d);
    return t && t->is_vector;
}

struct Entry {
    std::string key;
    std::string value;
    int line;
};

po::option make_option(const Entry& e) {
    po::option opt(e.key, {e.value});
    opt.original_tokens = {e.key, e.value};
    return opt;
}

}  // namespace

ConfigFile ConfigFile::load(const std::string& path, const po::options_description& options) {
    std::string text;
    try {
        text = read_file(path);
    } catch (const std::system_error& e) {
        throw ConfigError("cannot read config file " + path + ": " + e.code().message());
    }
    return parse(text, path, options);
}

ConfigFile ConfigFile::parse(std::string_view text, const std::string& origin,
                             const po::options_description& options) {
    ConfigFile cf;
    cf.origin_ = origin;
    auto fail_at = [&](int line, const std::string& message) {
        throw ConfigError(origin + ":" + std::to_string(line) + ": " + message);
    };

    std::vector<Entry> entries;
    std::string section;
    int line_no = 0;
    std::size_t pos = 0;
    while (pos < text.size()) {  // each pass consumes one line
        std::size_t eol = text.find('\n', pos);
        std::string_view raw =
            text.substr(pos, eol == std::string_view::npos ? std::string_view::npos : eol - pos);
        pos = eol == std::string_view::npos ? text.size() : eol + 1;
        ++line_no;
        if (line_no == 1 && raw.starts_with("\xEF\xBB\xBF")) {
            raw.remove_prefix(3);  // UTF-8 byte order mark
        }
        std::string_view line = trim(raw);
        if (line.empty() || line.front() == '#' || line.front() == ';') {
            continue;
        }
        if (line.front() == '[') {
            if (line.back() != ']') {
                fail_at(line_no, "syntax error: a section header is \"[name]\"");
            }
            std::string_view name = trim(line.substr(1, line.size() - 2));
            if (!valid_identifier(name)) {
                fail_at(line_no, "syntax error: invalid section name \"" + std::string(name) +
                                     "\" (letters, digits, '-', '_', '.')");
            }
            section = std::string(name);
            continue;
        }
        std::size_t eq = line.find('=');
        std::string_view key_part = eq == std::string_view::npos ? line : trim(line.substr(0, eq));
        if (eq == std::string_view::npos || !valid_identifier(key_part)) {
            fail_at(line_no, "syntax error: expected \"key = value\", \"[section]\" or a comment");
        }
        std::string_view value = line.substr(eq + 1);
        for (std::size_t i = 0; i < value.size(); ++i) {
            if (value[i] == '#' && (i == 0 || value[i - 1] == ' ' || value[i - 1] == '\t')) {
                value = value.substr(0, i);
                break;
            }
        }
        value = trim(value);
        std::string key =
            section.empty() ? std::string(key_part) : section + "." + std::string(key_part);
        entries.push_back(Entry{std::move(key), std::string(value), line_no});
    }

    // Each entry alone: unknown keys, bad values, repeats.
    for (const Entry& e : entries) {
        const po::option_description* d = options.find_nothrow(e.key, false);
        if (d == nullptr) {
            fail_at(e.line, e.key + ": unknown option");
        }
        auto& lines = cf.lines_[e.key];
        if (!lines.empty() && !is_repeatable(*d)) {
            fail_at(e.line,
                    e.key + ": given twice (first at line " + std::to_string(lines.front()) + ")");
        }
        lines.push_back(e.line);
        auto type = type_of(*d);
        std::string expected = type ? type->expected : std::string();
        auto bad_value = [&](const std::string& detail) {
            fail_at(e.line, e.key + ": invalid value \"" + e.value + "\" (" + detail + ")");
        };
        if (type && !type->expected.empty() && e.value.empty()) {
            bad_value("empty; expected " + expected);
        }
        if (type && type->is_unsigned && trim(e.value).starts_with('-')) {
            bad_value("expected " + expected);
        }
        try {
            po::variables_map scratch;
            po::parsed_options one(&options);
            one.options.push_back(make_option(e));
            po::store(one, scratch);
        } catch (const po::error& ex) {
            bad_value(expected.empty() ? std::string(ex.what()) : "expected " + expected);
        }
    }

    // All together.
    po::parsed_options all(&options);
    for (const Entry& e : entries) {
        all.options.push_back(make_option(e));
    }
    try {
        po::store(all, cf.values_);
    } catch (const po::error& ex) {
        throw ConfigError(origin + ": " + ex.what());
    }
    std::vector<std::string> missing;
    for (const auto& d : options.options()) {
        if (d->semantic()->is_required() && cf.values_.count(d->long_name()) == 0) {
            missing.push_back(d->long_name());
        }
    }
    if (missing.size() == 1) {
        throw ConfigError(origin + ": " + missing.front() + ": required option missing");
    }
    if (!missing.empty()) {
        std::string list;
        for (const auto& m : missing) {
            list += (list.empty() ? "" : ", ") + m;
        }
        throw ConfigError(origin + ": required options missing: " + list);
    }
    try {
        po::notify(cf.values_);
    } catch (const po::error& ex) {
        throw ConfigError(origin + ": " + ex.what());
    }
    return cf;
}

std::string ConfigFile::where(const std::string& key, std::size_t occurrence) const {
    auto it = lines_.find(key);
    if (it != lines_.end() && occurrence < it->second.size()) {
        return origin_ + ":" + std::to_string(it->second[occurrence]) + ": " + key;
    }
    return origin_ + ": " + key;
}

void ConfigFile::fail(const std::string& key, std::size_t occurrence,
                      const std::string& message) const {
    throw ConfigError(where(key, occurrence) + ": " + message);
}

}  // namespace acmezone
