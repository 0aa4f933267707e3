// The guests' work runs on a few threads, taken from the guests in turn:
// each guest has its own queue, the workers go round the guests that have
// work, and no guest holds more than `per_guest` workers at once. A guest
// sending a flood of expensive programs therefore slows only itself: the
// next guest's request waits for at most one task per guest ahead of it,
// never for the whole flood.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

namespace hu::daemon {

class FairQueue {
 public:
  FairQueue(size_t threads, size_t per_guest);
  // Runs what was posted, then joins the workers.
  ~FairQueue();
  FairQueue(const FairQueue&) = delete;
  FairQueue& operator=(const FairQueue&) = delete;

  void Post(uint32_t guest, std::function<void()> task);
  // Tasks waiting (not running) for `guest`.
  size_t Waiting(uint32_t guest);

 private:
  struct Guest {
    std::deque<std::function<void()>> tasks;
    size_t running = 0;
    bool in_ring = false;
  };
  void Work();
  // Puts g in the ring when it has work and room for another worker.
  void MaybeRing(uint32_t id, Guest& g);

  const size_t per_guest_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::map<uint32_t, Guest> guests_;
  std::deque<uint32_t> ring_;  // guests with work a worker may take, in turn
  bool stop_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace hu::daemon
