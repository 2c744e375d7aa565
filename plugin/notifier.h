// NOTIFY (RFC 1996) to the configured secondaries after each change, so that
// any standard secondary transfers the claimed zones by AXFR at once.
//
// notify() only queues the apexes and returns: the UPDATE answer never waits
// for a secondary. One worker thread sends, for each queued apex and each
// target, a NOTIFY (opcode 4, AA, question <apex> SOA IN) over UDP and waits
// for the matching answer (same ID, QR, opcode NOTIFY) up to kAnswerTimeout;
// without one it resends, kAttempts times in all, then logs a warning and
// moves on. An apex queued again while still waiting is sent once. The queue
// holds at most kMaxQueued apexes; beyond that new ones are dropped with a
// warning (the secondary catches up at its SOA refresh).
//
// The destructor wakes the worker and joins it; unsent NOTIFYs are dropped.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <thread>
#include <vector>

#include "common/dns_name.h"
#include "common/endpoint.h"
#include "common/lock_guarded.h"

namespace acmezone::plugin {

class Notifier {
  public:
    static constexpr int kAttempts = 3;
    static constexpr std::chrono::milliseconds kAnswerTimeout{1000};
    static constexpr std::size_t kMaxQueued = 10000;

    explicit Notifier(std::vector<Endpoint> targets);
    ~Notifier();
    Notifier(const Notifier&) = delete;
    Notifier& operator=(const Notifier&) = delete;

    // Queues a NOTIFY of each apex to every target. Never blocks on the network.
    void notify(const std::vector<DnsName>& apexes);

    // NOTIFYs answered so far (for tests and the log).
    std::size_t answered() const;

  private:
    void run();
    bool send_one(const DnsName& apex, const Endpoint& target);

    const std::vector<Endpoint> targets_;
    struct State {
        std::deque<DnsName> queue;
        bool stopping = false;
        std::size_t answered = 0;
    };
    bool stopping();

    mutable LockGuarded<State> state_;
    std::condition_variable wake_;  // signalled on a new apex and on stop
    std::thread worker_;
};

}  // namespace acmezone::plugin
