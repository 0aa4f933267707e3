// The trace ring: records from trace_output, drained by the daemon. Bounded;
// when full, new records are dropped and counted (the program sees -ENOSPC),
// so a chatty guest cannot grow host memory.
#pragma once

#include <cstdint>
#include <deque>
#include <mutex>
#include <vector>

#include "hyperupcall/daemon/backend.hpp"

namespace hu::daemon::sim {

class TraceRing {
 public:
  explicit TraceRing(size_t capacity) : capacity_(capacity) {}

  bool Push(TraceRecord rec) {
    std::lock_guard<std::mutex> lock(mu_);
    if (records_.size() >= capacity_) {
      ++dropped_;
      return false;
    }
    records_.push_back(std::move(rec));
    return true;
  }
  std::vector<TraceRecord> Drain() {
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<TraceRecord> out(std::make_move_iterator(records_.begin()),
                                 std::make_move_iterator(records_.end()));
    records_.clear();
    return out;
  }
  uint64_t dropped() const {
    std::lock_guard<std::mutex> lock(mu_);
    return dropped_;
  }

 private:
  mutable std::mutex mu_;
  size_t capacity_;
  std::deque<TraceRecord> records_;
  uint64_t dropped_ = 0;
};

}  // namespace hu::daemon::sim
