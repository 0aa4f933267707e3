// FairQueue: the guests' work is taken from the guests in turn, and no
// guest holds more than its share of the workers, so a flood from one
// guest delays another's request by at most one task per guest.
#include "fair_queue.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <mutex>
#include <vector>

namespace hu::daemon {
namespace {

TEST(FairQueue, AnotherGuestIsServedBetweenAFloodsTasks) {
  std::mutex mu;
  std::vector<uint32_t> order;
  std::promise<void> gate;
  std::shared_future<void> open = gate.get_future().share();
  {
    FairQueue q(1, 1);
    // Guest 1's first task holds the only worker until the gate opens;
    // meanwhile it queues 50 more, and guest 2 queues one.
    q.Post(1, [&] { open.wait(); });
    for (int i = 0; i < 50; ++i) {
      q.Post(1, [&] {
        std::lock_guard lk(mu);
        order.push_back(1);
      });
    }
    q.Post(2, [&] {
      std::lock_guard lk(mu);
      order.push_back(2);
    });
    gate.set_value();
  }  // the destructor runs everything posted
  ASSERT_EQ(order.size(), 51u);
  // Guest 2 came second: right after the one task of guest 1 ahead of it.
  size_t at = 0;
  while (order[at] != 2) ++at;
  EXPECT_LE(at, 1u);
}

TEST(FairQueue, AGuestHoldsAtMostItsShareOfWorkers) {
  std::atomic<int> running{0}, most{0};
  std::promise<void> gate;
  std::shared_future<void> open = gate.get_future().share();
  std::atomic<int> started_other{0};
  {
    FairQueue q(4, 2);
    for (int i = 0; i < 10; ++i) {
      q.Post(1, [&] {
        int now = ++running;
        int prev = most.load();
        while (now > prev && !most.compare_exchange_weak(prev, now)) {
        }
        open.wait();
        --running;
      });
    }
    // Guest 2 still finds a worker while guest 1's tasks all block.
    std::promise<void> ran;
    q.Post(2, [&] {
      ++started_other;
      ran.set_value();
    });
    EXPECT_EQ(ran.get_future().wait_for(std::chrono::seconds(30)), std::future_status::ready);
    gate.set_value();
  }
  EXPECT_EQ(most.load(), 2);
  EXPECT_EQ(started_other.load(), 1);
}

}  // namespace
}  // namespace hu::daemon
