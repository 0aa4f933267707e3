#include "fair_queue.hpp"

#include <algorithm>

namespace hu::daemon {

FairQueue::FairQueue(size_t threads, size_t per_guest)
    : per_guest_(std::max<size_t>(per_guest, 1)) {
  for (size_t i = 0; i < std::max<size_t>(threads, 1); ++i) {
    threads_.emplace_back([this] { Work(); });
  }
}

FairQueue::~FairQueue() {
  {
    std::lock_guard lk(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  for (auto& t : threads_) t.join();
}

void FairQueue::MaybeRing(uint32_t id, Guest& g) {
  if (!g.in_ring && !g.tasks.empty() && g.running < per_guest_) {
    g.in_ring = true;
    ring_.push_back(id);
  }
}

void FairQueue::Post(uint32_t guest, std::function<void()> task) {
  {
    std::lock_guard lk(mu_);
    Guest& g = guests_[guest];
    g.tasks.push_back(std::move(task));
    MaybeRing(guest, g);
  }
  cv_.notify_one();
}

size_t FairQueue::Waiting(uint32_t guest) {
  std::lock_guard lk(mu_);
  auto it = guests_.find(guest);
  return it == guests_.end() ? 0 : it->second.tasks.size();
}

void FairQueue::Work() {
  std::unique_lock lk(mu_);
  for (;;) {
    cv_.wait(lk, [&] { return !ring_.empty() || (stop_ && guests_.empty()); });
    if (ring_.empty()) return;  // stopping, and everything posted has run
    const uint32_t id = ring_.front();
    ring_.pop_front();
    Guest& g = guests_[id];
    g.in_ring = false;
    auto task = std::move(g.tasks.front());
    g.tasks.pop_front();
    ++g.running;
    MaybeRing(id, g);  // to the back: the other guests come first
    lk.unlock();
    task();
    lk.lock();
    Guest& after = guests_[id];
    --after.running;
    MaybeRing(id, after);
    if (after.tasks.empty() && after.running == 0) guests_.erase(id);
    // This worker takes the next task itself; wake another only if there
    // is more (one, not all: a wake-up that finds nothing is a wasted
    // context switch), or everyone when the queue is drained for good.
    if (stop_ && guests_.empty()) {
      cv_.notify_all();
    } else if (ring_.size() > 1) {
      cv_.notify_one();
    }
  }
}

}  // namespace hu::daemon
