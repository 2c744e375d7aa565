// See progress.h.
#include "issuer/pass/progress.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "common/log.h"

namespace acmezone::issuer {
namespace {

std::string seconds(double s) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.1f s", s);
    return buf;
}

}  // namespace

bool Progress::stderr_is_terminal() {
    const char* term = std::getenv("TERM");
    return ::isatty(STDERR_FILENO) == 1 && term != nullptr && std::strcmp(term, "dumb") != 0;
}

Progress::Progress(std::size_t total, bool live) : total_(total), live_(live) {
    if (live_) {
        // Log lines first erase the live line, then print, so they never tear it.
        set_log_sink([this](LogLevel level, const std::string& line) {
            std::lock_guard lock(mutex_);
            clear_locked();
            std::fprintf(stderr, "%s: %s\n", std::string(to_string(level)).c_str(), line.c_str());
        });
        ticker_ = std::thread([this] {
            std::unique_lock lock(mutex_);
            while (!stopping_) {  // ends when the destructor sets stopping_
                ticker_wake_.wait_for(lock, std::chrono::milliseconds(500));
                if (!stopping_ && !last_zone_.empty() && started_.count(last_zone_) != 0) {
                    draw_locked(last_zone_, last_step_, elapsed_locked(last_zone_));
                }
            }
        });
    }
}

Progress::~Progress() {
    if (live_) {
        {
            std::lock_guard lock(mutex_);
            stopping_ = true;
        }
        ticker_wake_.notify_all();
        ticker_.join();
        set_log_sink(nullptr);
        std::lock_guard lock(mutex_);
        clear_locked();
    }
}

double Progress::elapsed_locked(const std::string& zone) const {
    auto it = started_.find(zone);
    if (it == started_.end()) {
        return 0;
    }
    return std::chrono::duration<double>(Clock::now() - it->second).count();
}

void Progress::clear_locked() {
    if (line_drawn_) {
        std::fputs("\r\033[K", stderr);
        line_drawn_ = false;
    }
}

void Progress::draw_locked(const std::string& zone, const std::string& what, double s) {
    const std::size_t in_flight = started_.size();
    std::fprintf(stderr, "\r\033[K[%zu/%zu done, %zu failed, %zu in flight] %s: %s %s", done_,
                 total_, failed_, in_flight, zone.c_str(), what.c_str(), seconds(s).c_str());
    std::fflush(stderr);
    line_drawn_ = true;
}

void Progress::start(const DnsName& zone) {
    std::lock_guard lock(mutex_);
    started_[zone.text()] = Clock::now();
}

void Progress::step(const DnsName& zone, const std::string& what) {
    std::lock_guard lock(mutex_);
    const double s = elapsed_locked(zone.text());
    if (live_) {
        last_zone_ = zone.text();
        last_step_ = what;
        draw_locked(zone.text(), what, s);
    } else {
        std::fprintf(stderr, "%s: %s (%s)\n", zone.text().c_str(), what.c_str(),
                     seconds(s).c_str());
    }
}

void Progress::finish(const DnsName& zone, bool ok, const std::string& message) {
    std::lock_guard lock(mutex_);
    const double s = elapsed_locked(zone.text());
    started_.erase(zone.text());
    ++done_;
    if (!ok) {
        ++failed_;
    }
    clear_locked();
    std::fprintf(stderr, "%s: %s%s (%s)\n", zone.text().c_str(),
                 ok ? "" : "FAILED: ", message.c_str(), seconds(s).c_str());
    if (live_ && done_ < total_) {
        draw_locked(zone.text(), ok ? "done" : "failed", s);
    }
    std::fflush(stderr);
}

}  // namespace acmezone::issuer
