// Each domain's most recent trace_output records, kept for its guest to
// read back (GuestService.ReadTrace) the way an operator follows Events:
// numbered per domain, a bounded window, a reader told how many it missed.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <vector>

#include "hyperupcall/daemon/backend.hpp"

namespace hu::daemon {

class TraceWindow {
 public:
  static constexpr size_t kPerDomain = 4096;

  struct Entry {
    uint64_t seq = 0;
    TraceRecord record;
  };
  struct Read {
    std::vector<Entry> entries;
    uint64_t missed = 0;  // after after_seq, dropped from the window unread
  };

  void Add(const TraceRecord& r);
  Read After(uint32_t domid, uint64_t after_seq, size_t max) const;
  void Forget(uint32_t domid);  // the domain is gone

 private:
  struct Domain {
    std::deque<Entry> entries;
    uint64_t next = 1;
  };
  mutable std::mutex mu_;
  std::map<uint32_t, Domain> domains_;
};

}  // namespace hu::daemon
