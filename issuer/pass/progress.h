// Progress of the zones in flight, for the operator watching.
//
// Each zone reports its steps ("ordering", "publishing", "waiting for DNS",
// "validating", "finalizing", "storing"). On a terminal, one live line is
// redrawn in place ("[ 7/20 done, 1 failed, 12 in flight] example.com:
// validating 3.1 s"), also every half second while a step takes its time,
// and finished zones scroll above it; otherwise (logs,
// pipes, the journal) every step is a plain line with the zone and the time
// since that zone started:
//     example.com: validating (3.1 s)
// Thread-safe. Messages go to stderr through the common log sink, which this
// class wraps on a terminal so that log lines do not tear the live line.
#pragma once

#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <string>
#include <thread>

#include "common/dns_name.h"

namespace acmezone::issuer {

class Progress {
  public:
    using Clock = std::chrono::steady_clock;

    // `live`: draw the live line (stderr is a terminal).
    Progress(std::size_t total, bool live);
    ~Progress();
    Progress(const Progress&) = delete;
    Progress& operator=(const Progress&) = delete;

    void start(const DnsName& zone);
    void step(const DnsName& zone, const std::string& what);
    void finish(const DnsName& zone, bool ok, const std::string& message);

    // True when stderr is a terminal and TERM is not "dumb".
    static bool stderr_is_terminal();

  private:
    void draw_locked(const std::string& zone, const std::string& what, double seconds);
    void clear_locked();
    double elapsed_locked(const std::string& zone) const;

    std::mutex mutex_;
    std::size_t total_;
    bool live_;
    std::size_t done_ = 0, failed_ = 0;
    std::map<std::string, Clock::time_point> started_;
    bool line_drawn_ = false;
    std::string last_zone_, last_step_;  // what the live line shows
    bool stopping_ = false;
    std::condition_variable ticker_wake_;
    std::thread ticker_;  // redraws the live line; joined by the destructor
};

}  // namespace acmezone::issuer
