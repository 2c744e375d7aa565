// Work shared by a few threads: each takes the next index not yet taken.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <thread>
#include <vector>

namespace acmezone {

// Calls fn(i) once for every i in [0, count), from min(threads, count)
// threads at once, each taking the next index not yet taken (so the first
// indexes start first); returns when every call has returned. An exception
// leaving fn ends the program, as from any thread: fn reports its own errors.
template <typename Fn>
void for_each_index_parallel(std::size_t threads, std::size_t count, Fn fn) {
    std::atomic<std::size_t> next{0};
    auto worker = [&] {
        for (std::size_t i = next++; i < count; i = next++) {
            fn(i);
        }
    };
    std::vector<std::jthread> pool;
    pool.reserve(std::min(threads, count));
    for (std::size_t t = 0; t < std::min(threads, count); ++t) {
        pool.emplace_back(worker);
    }
}  // the jthreads join here

}  // namespace acmezone
