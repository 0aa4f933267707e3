// One hyperupcalld per state directory: STATE/hyperupcalld.lock, held with
// flock(2) for the daemon's life and holding its pid, so a second daemon
// on the same state is refused with the pid of the first instead of both
// writing one database. The kernel drops the lock when the holder dies
// (kill -9 included): there is never a stale lock to remove by hand.
#pragma once

#include <memory>
#include <string>

#include "hyperupcall/result.hpp"

namespace hu::daemon {

class StateLock {
 public:
  // FAILED_PRECONDITION "state directory DIR is in use by hyperupcalld pid
  // N" when another process holds it.
  static Result<std::unique_ptr<StateLock>> Acquire(const std::string& state_dir);
  ~StateLock();
  StateLock(const StateLock&) = delete;
  StateLock& operator=(const StateLock&) = delete;

 private:
  explicit StateLock(int fd) : fd_(fd) {}
  int fd_;
};

}  // namespace hu::daemon
