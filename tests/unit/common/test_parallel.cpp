// for_each_index_parallel: every index once, however many threads.
#include "common/parallel.h"

#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

namespace acmezone {
namespace {

TEST(ForEachIndexParallel, CallsEveryIndexExactlyOnce) {
    for (std::size_t threads : {1u, 4u, 16u}) {
        std::vector<std::atomic<int>> calls(1000);
        for_each_index_parallel(threads, calls.size(), [&](std::size_t i) { ++calls[i]; });
        for (std::size_t i = 0; i < calls.size(); ++i) {
            ASSERT_EQ(1, calls[i].load()) << "index " << i << " with " << threads << " threads";
        }
    }
}

TEST(ForEachIndexParallel, NoMoreThreadsThanAskedNorThanIndexes) {
    std::atomic<int> running{0};
    std::atomic<int> most{0};
    std::atomic<int> calls{0};
    std::mutex m;
    std::set<std::thread::id> ids;
    for_each_index_parallel(3, 50, [&](std::size_t) {
        const int now = ++running;
        int seen = most.load();
        while (now > seen && !most.compare_exchange_weak(seen, now)) {
        }
        {
            std::lock_guard<std::mutex> lock(m);
            ids.insert(std::this_thread::get_id());
        }
        std::this_thread::yield();
        --running;
        ++calls;
    });
    EXPECT_EQ(50, calls.load());
    EXPECT_LE(most.load(), 3);
    EXPECT_LE(ids.size(), 3u);
    ids.clear();
    for_each_index_parallel(16, 2, [&](std::size_t) {
        std::lock_guard<std::mutex> lock(m);
        ids.insert(std::this_thread::get_id());
    });
    EXPECT_LE(ids.size(), 2u);
}

TEST(ForEachIndexParallel, NothingToDoStartsNothing) {
    int calls = 0;
    for_each_index_parallel(8, 0, [&](std::size_t) { ++calls; });
    EXPECT_EQ(0, calls);
}

}  // namespace
}  // namespace acmezone
