// Logging for both programs. The plugin sends lines to named's own log
// function; the issuer to stderr (or the journal, which reads stderr).
// Never pass secrets or key material to these functions.
#pragma once

#include <functional>
#include <sstream>
#include <string>
#include <string_view>

namespace acmezone {

enum class LogLevel { debug, info, warning, error };

std::string_view to_string(LogLevel level);

// The sink receives whole lines without a trailing newline. Thread-safe to
// call concurrently with log(); set it before starting threads anyway.
using LogSink = std::function<void(LogLevel, const std::string&)>;
void set_log_sink(LogSink sink);  // nullptr restores the default (stderr)
void set_log_level(LogLevel min_level);
bool log_enabled(LogLevel level);
void log_line(LogLevel level, const std::string& line);

// The default sink's form of a line: "acmezone: <level>: <line>\n".
std::string format_log_line(LogLevel level, const std::string& line);
// The same appended to `out` (a sink that gathers lines).
void append_log_line(std::string& out, LogLevel level, const std::string& line);
// Writes whole formatted lines to stderr, with one write(2) when it takes
// them all (as the default sink does for each line).
void write_log_text(std::string_view text);

template <typename... Args>
void log(LogLevel level, const Args&... args) {
    if (!log_enabled(level)) {
        return;
    }
    std::ostringstream out;
    (out << ... << args);
    log_line(level, out.str());
}
template <typename... Args>
void log_debug(const Args&... args) {
    log(LogLevel::debug, args...);
}
template <typename... Args>
void log_info(const Args&... args) {
    log(LogLevel::info, args...);
}
template <typename... Args>
void log_warning(const Args&... args) {
    log(LogLevel::warning, args...);
}
template <typename... Args>
void log_error(const Args&... args) {
    log(LogLevel::error, args...);
}

}  // namespace acmezone
