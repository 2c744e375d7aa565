// A configuration file's options as a table: one row per option holds its
// key, type, range, default and help, once (after Knot's option tables).
// The row drives the Boost declaration (and so ConfigFile's parsing, its type
// errors and `--help-config`), the range check and the help text's range:
//
//     const OptionTable table("example configuration", {
//         OptionRow::number("dns.timeout", 3, {1, 60}, "seconds for one DNS exchange"),
//         OptionRow::yes_no("certs.ari", true, "follow the CA's renewal information"),
//     });
//     ConfigFile cf = ConfigFile::parse(text, origin, table.description());
//     unsigned t = table.number(cf, "dns.timeout");   // "f.conf:3: dns.timeout:
//                                                     //  value 90 out of range (1..60)"
//
// The help of a number ends with its range, "(1..60)", or with a note and
// the range, "(0: no limit; 0..1000000)"; a lower bound may also be another
// option's value ("(retry-min..604800)"). A yes/no option reads yes, no,
// true, false, on, off, 1 or 0, in any case; anything else is refused with
// "expected yes or no". Asking the table for a key it does not hold is a
// programming error (std::logic_error).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/config_file.h"

namespace acmezone {

struct OptionRange {
    unsigned min = 0;
    unsigned max = 0;
};

struct OptionRow {
    enum class Type {
        text,    // one string
        texts,   // repeatable strings
        number,  // an unsigned integer within `range`
        yes_no,
    };
    std::string key;  // "section.name"
    Type type = Type::text;
    std::string help;
    std::optional<std::string> default_text;  // text and yes_no
    std::optional<unsigned> default_number;   // number
    bool required = false;
    OptionRange range;       // number
    std::string min_key;     // number: also at least this option's value
    std::string range_note;  // number: said before the range in the help

    static OptionRow text(std::string key, std::string help,
                          std::optional<std::string> default_text = std::nullopt);
    static OptionRow required_text(std::string key, std::string help);
    static OptionRow texts(std::string key, std::string help);
    static OptionRow number(std::string key, std::optional<unsigned> default_number,
                            OptionRange range, std::string help, std::string range_note = "");
    static OptionRow yes_no(std::string key, bool default_value, std::string help);
    // This row with its lower bound also at least `key`'s value.
    OptionRow at_least(std::string key) const;

    // The help as --help-config shows it: with the range of a number.
    std::string full_help() const;
};

class OptionTable {
  public:
    OptionTable(const std::string& caption, std::vector<OptionRow> rows);

    const po::options_description& description() const { return description_; }
    const std::vector<OptionRow>& rows() const { return rows_; }
    const OptionRow& row(std::string_view key) const;

    // Values of a parsed file, checked against the key's row; errors name
    // the file, the line and the key (ConfigFile::fail).
    static bool given(const ConfigFile& cf, std::string_view key);
    // Nullopt when neither given nor defaulted.
    std::optional<std::string> text(const ConfigFile& cf, std::string_view key) const;
    // Empty when not given.
    std::vector<std::string> texts(const ConfigFile& cf, std::string_view key) const;
    // Within the row's range (and at least its min_key's value); the key
    // must be given or have a default.
    unsigned number(const ConfigFile& cf, std::string_view key) const;
    bool yes_no(const ConfigFile& cf, std::string_view key) const;

  private:
    const OptionRow& typed_row(std::string_view key, OptionRow::Type type) const;

    std::vector<OptionRow> rows_;
    po::options_description description_;
};

// "yes", "no", "true", "false", "on", "off", "1", "0" in any case; nullopt
// for anything else.
std::optional<bool> parse_yes_no(std::string_view text);

}  // namespace acmezone
