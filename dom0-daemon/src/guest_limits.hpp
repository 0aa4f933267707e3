// What one guest may take of the daemon, enforced before any work is done
// on its behalf (the guest server checks these when a call starts, before
// its request is even read): connections (at accept), requests in flight,
// requests per second, and how long a request may take to arrive and its
// answer to be read. A guest past a limit gets RESOURCE_EXHAUSTED naming
// the limit (a connection past the limit is closed at once); the others
// and the operator do not notice.
#pragma once

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>

namespace hu::daemon {

struct GuestLimits {
  uint32_t max_connections = 8;         // open at once, per guest
  uint32_t streams_per_connection = 8;  // HTTP/2 MAX_CONCURRENT_STREAMS: the client queues the rest
  uint32_t max_inflight = 32;           // calls at once, all of a guest's connections
  double rate = 5000;                   // requests per second, per guest (0: no limit)
  double burst = 10000;                 // requests at once above the rate
  uint32_t request_timeout_ms = 10000;  // from a call's start to its whole request
  uint32_t reply_timeout_ms = 10000;    // for the guest to read the answer
  uint32_t idle_timeout_ms = 30000;     // a connection without calls is closed after
  uint32_t workers = 0;                 // 0: twice the CPUs, at least 4
};

// One guest's counters against its limits.
class GuestAdmission {
 public:
  GuestAdmission(uint32_t domid, const GuestLimits& limits)
      : domid_(domid), limits_(limits), tokens_(limits.burst) {}

  uint32_t domid() const { return domid_; }

  struct Refusal {
    std::string message;
    int64_t retry_after_ms;
  };
  // A call starts: nullopt when admitted (Release when it is done).
  std::optional<Refusal> Admit(int64_t now_ns) {
    if (inflight_.fetch_add(1) >= limits_.max_inflight) {
      inflight_.fetch_sub(1);
      ++refused_inflight_;
      return Refusal{fmt::format("domain {} has {} requests in flight, the most a guest may have "
                                 "at once (--guest-max-inflight); retry when one is answered",
                                 domid_, limits_.max_inflight),
                     20};
    }
    if (limits_.rate > 0) {
      std::lock_guard lk(mu_);
      if (last_ns_) {
        tokens_ = std::min(limits_.burst,
                           tokens_ + static_cast<double>(now_ns - last_ns_) * limits_.rate / 1e9);
      }
      last_ns_ = now_ns;
      if (tokens_ < 1) {
        inflight_.fetch_sub(1);
        ++refused_rate_;
        const auto wait_ms = static_cast<int64_t>((1 - tokens_) * 1000 / limits_.rate) + 1;
        return Refusal{fmt::format("domain {} sends more than {} requests a second (burst {}), "
                                   "the rate a guest may have (--guest-rate); retry in {} ms",
                                   domid_, limits_.rate, limits_.burst, wait_ms),
                       wait_ms};
      }
      tokens_ -= 1;
    }
    return std::nullopt;
  }
  void Release() { inflight_.fetch_sub(1); }

  uint32_t inflight() const { return inflight_.load(); }
  uint64_t refused_inflight() const { return refused_inflight_.load(); }
  uint64_t refused_rate() const { return refused_rate_.load(); }

 private:
  const uint32_t domid_;
  const GuestLimits limits_;
  std::atomic<uint32_t> inflight_{0};
  std::atomic<uint64_t> refused_inflight_{0}, refused_rate_{0};
  std::mutex mu_;
  double tokens_;
  int64_t last_ns_ = 0;
};

}  // namespace hu::daemon
