// Logging: one process-wide sink and level.
//
// Design note. The sink is a std::shared_ptr<const LogSink> behind a mutex:
// log_line() copies the pointer under the lock and calls the sink outside it,
// so a slow sink never blocks set_log_sink(), a sink may itself log without
// deadlocking, and a sink being replaced stays alive until the calls already
// using it return. The level is an atomic, read without a lock on every call.
// The default sink writes "acmezone: <level>: <line>\n" to stderr with one
// write(2), so concurrent lines do not interleave. Nothing here inspects the
// text: callers must never pass secrets.
#include "common/log.h"

#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <memory>
#include <mutex>

namespace acmezone {
namespace {

std::atomic<int> g_min_level{static_cast<int>(LogLevel::info)};
std::mutex g_sink_mutex;
std::shared_ptr<const LogSink> g_sink;  // null: the default sink

}  // namespace

void append_log_line(std::string& out, LogLevel level, const std::string& line) {
    out += "acmezone: ";
    out += to_string(level);
    out += ": ";
    out += line;
    out += '\n';
}

std::string format_log_line(LogLevel level, const std::string& line) {
    std::string out;
    append_log_line(out, level, line);
    return out;
}

void write_log_text(std::string_view text) {
    const char* p = text.data();
    std::size_t left = text.size();
    for (int attempts = 0; left > 0 && attempts < 100; ++attempts) {
        ssize_t n = ::write(STDERR_FILENO, p, left);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            return;  // nowhere left to report a failing stderr
        }
        p += n;
        left -= static_cast<std::size_t>(n);
    }
}

std::string_view to_string(LogLevel level) {
    switch (level) {
        case LogLevel::debug:
            return "debug";
        case LogLevel::info:
            return "info";
        case LogLevel::warning:
            return "warning";
        case LogLevel::error:
            return "error";
    }
    return "unknown";
}

void set_log_sink(LogSink sink) {
    std::shared_ptr<const LogSink> next;
    if (sink) {
        next = std::make_shared<const LogSink>(std::move(sink));
    }
    std::lock_guard lock(g_sink_mutex);
    g_sink.swap(next);
    // `next` (the old sink) is released after the lock, outside it.
}

void set_log_level(LogLevel min_level) {
    g_min_level.store(static_cast<int>(min_level), std::memory_order_relaxed);
}

bool log_enabled(LogLevel level) {
    return static_cast<int>(level) >= g_min_level.load(std::memory_order_relaxed);
}

void log_line(LogLevel level, const std::string& line) {
    if (!log_enabled(level)) {
        return;
    }
    std::shared_ptr<const LogSink> sink;
    {
        std::lock_guard lock(g_sink_mutex);
        sink = g_sink;
    }
    if (sink) {
        (*sink)(level, line);
    } else {
        write_log_text(format_log_line(level, line));
    }
}

}  // namespace acmezone
