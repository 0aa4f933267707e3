// At most one log line a second per kind of event, with the count of the
// ones left out: a guest that trips a limit ten thousand times a second
// must not fill the daemon's log (or slow it) with ten thousand lines.
#pragma once

#include <spdlog/spdlog.h>

#include <cstdint>
#include <map>
#include <mutex>
#include <string>

#include "program.hpp"

namespace hu::daemon {

class LogGate {
 public:
  void Warn(const std::string& key, const std::string& line) {
    const int64_t now = NowUnixMs();
    uint64_t left_out = 0;
    {
      std::lock_guard lk(mu_);
      auto& [last, suppressed] = gates_[key];
      if (now - last < 1000) {
        ++suppressed;
        return;
      }
      left_out = suppressed;
      last = now;
      suppressed = 0;
    }
    if (left_out) {
      spdlog::warn("{} (and {} more like it in the last second)", line, left_out);
    } else {
      spdlog::warn("{}", line);
    }
  }

 private:
  std::mutex mu_;
  std::map<std::string, std::pair<int64_t, uint64_t>> gates_;  // key -> (last ms, left out)
};

}  // namespace hu::daemon
