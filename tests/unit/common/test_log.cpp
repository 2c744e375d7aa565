// log: level filtering, sink replacement, and sink swaps racing with log calls.
#include "common/log.h"

#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <thread>
#include <vector>

using namespace acmezone;

namespace {

struct Captured {
    std::mutex mutex;
    std::vector<std::pair<LogLevel, std::string>> lines;
};

class Log : public ::testing::Test {
  protected:
    void TearDown() override {
        set_log_sink(nullptr);
        set_log_level(LogLevel::info);
    }
};

}  // namespace

TEST_F(Log, SinkReceivesFormattedLinesAtOrAboveLevel) {
    auto cap = std::make_shared<Captured>();
    set_log_sink([cap](LogLevel level, const std::string& line) {
        std::lock_guard lock(cap->mutex);
        cap->lines.emplace_back(level, line);
    });
    set_log_level(LogLevel::info);
    log_debug("hidden ", 1);
    log_info("zone ", "example.com", ": ", 2, " values");
    log_error("boom");
    ASSERT_EQ(cap->lines.size(), 2u);
    EXPECT_EQ(cap->lines[0].first, LogLevel::info);
    EXPECT_EQ(cap->lines[0].second, "zone example.com: 2 values");
    EXPECT_EQ(cap->lines[1].first, LogLevel::error);
    EXPECT_FALSE(log_enabled(LogLevel::debug));
    set_log_level(LogLevel::debug);
    EXPECT_TRUE(log_enabled(LogLevel::debug));
    log_debug("shown");
    ASSERT_EQ(cap->lines.size(), 3u);
    EXPECT_EQ(cap->lines[2].second, "shown");
}

TEST_F(Log, LevelNames) {
    EXPECT_EQ(to_string(LogLevel::debug), "debug");
    EXPECT_EQ(to_string(LogLevel::info), "info");
    EXPECT_EQ(to_string(LogLevel::warning), "warning");
    EXPECT_EQ(to_string(LogLevel::error), "error");
}

TEST_F(Log, DefaultSinkWritesToStderr) {
    set_log_sink(nullptr);
    ::testing::internal::CaptureStderr();
    log_warning("disk ", "full");
    std::string out = ::testing::internal::GetCapturedStderr();
    EXPECT_EQ(out, "acmezone: warning: disk full\n");
}

TEST_F(Log, SinkSwapWhileLogging) {
    std::atomic<int> counted{0};
    std::vector<std::thread> writers;
    for (int t = 0; t < 4; ++t) {
        writers.emplace_back([&] {
            for (int i = 0; i < 2000; ++i) {
                log_info("line ", i);
            }
        });
    }
    for (int i = 0; i < 500; ++i) {
        set_log_sink([&counted](LogLevel, const std::string&) { counted.fetch_add(1); });
    }
    for (auto& w : writers) {
        w.join();
    }
    set_log_sink([&counted](LogLevel, const std::string&) { counted.fetch_add(1); });
    int before = counted.load();
    log_info("last");
    EXPECT_EQ(counted.load(), before + 1);
}
