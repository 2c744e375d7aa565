// INI configuration files, declared once with Boost.Program_options.
//
// Each program declares its options in one po::options_description (name,
// type, default, help); that one declaration drives parsing, the error
// messages and the documented option list. Keys outside any [section] are
// plain ("zone"); keys in a section are "section.key" ("control.listen").
// Repeatable options are declared as std::vector<T>
// (po::value<std::vector<std::string>>()->composing()); any std::vector<T> or
// composing option may be repeated, every other key given twice is an error.
//
// Every error names the file, the line and the key:
//     plugin.conf:7: control.listne: unknown option
//     plugin.conf:9: ttl: invalid value "ten" (expected an integer from 0 to 4294967295)
//     plugin.conf:12: lifetime: given twice (first at line 4)
//     plugin.conf:3: syntax error: expected "key = value", "[section]" or a comment
//     plugin.conf: nameserver: required option missing
// Comments start with '#' or ';' at the start of a line, or with " #" after a value.
// Values are the text after '=', trimmed; no quoting. An empty value is refused
// for every type but strings, and a negative one for unsigned types (Boost's
// lexical_cast would wrap "-1" to the maximum).
#pragma once

#include <boost/program_options.hpp>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace acmezone {

namespace po = boost::program_options;

class ConfigFile {
  public:
    // Reads and parses `path`; throws ConfigError (file unreadable, syntax,
    // unknown key, bad value, non-repeatable key given twice, missing required key).
    static ConfigFile load(const std::string& path, const po::options_description& options);
    // Parses `text`; `origin` stands for the file name in messages.
    static ConfigFile parse(std::string_view text, const std::string& origin,
                            const po::options_description& options);

    const po::variables_map& values() const { return values_; }
    const std::string& origin() const { return origin_; }

    // Where the n-th occurrence of `key` was given: "plugin.conf:12: control.grant";
    // just "plugin.conf: key" when the value is a default.
    std::string where(const std::string& key, std::size_t occurrence = 0) const;
    // Throws ConfigError(where(key, occurrence) + ": " + message). For checks
    // that only the program can make (a grant naming an unknown key, ...).
    [[noreturn]] void fail(const std::string& key, std::size_t occurrence,
                           const std::string& message) const;

  private:
    std::string origin_;
    po::variables_map values_;
    std::map<std::string, std::vector<int>> lines_;  // key -> line of each occurrence
};

}  // namespace acmezone
