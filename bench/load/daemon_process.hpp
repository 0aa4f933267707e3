// A private hyperupcalld for one load run: its own state directory and
// sockets under a temporary directory, its log in a file there, started
// and waited for, stopped (SIGTERM) at the end. Also what /proc says about
// it (CPU time, resident memory).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

namespace hu::bench {

class DaemonProcess {
 public:
  // Starts `binary` with --sim-guests `guests` and `extra` arguments; waits
  // until every guest's socket exists. Throws std::runtime_error when it
  // does not come up (with the end of its log).
  DaemonProcess(const std::string& binary, uint32_t guests, const std::vector<std::string>& extra,
                const std::string& state_parent);
  ~DaemonProcess();

  pid_t pid() const { return pid_; }
  std::string GuestSocket(uint32_t domid) const;
  std::string KallsymsPath(uint32_t domid) const;
  std::string StateDb() const { return dir_ + "/state/state.db"; }

  // user+system CPU seconds so far; resident and peak resident MiB.
  double CpuSeconds() const;
  double RssMiB() const;
  double PeakRssMiB() const;

 private:
  std::string dir_;
  pid_t pid_ = -1;
};

// Busy and total jiffies of the whole machine (/proc/stat), to say how
// loaded it was during a run.
struct HostCpu {
  uint64_t busy = 0, total = 0;
  static HostCpu Now();
};

}  // namespace hu::bench
