// One simulated guest: its memory, page tables, kernel data and vCPUs. The
// guest "kernel" state (free-page bitmap, per-CPU preempt counts, lock depth,
// lazy TLB flags) lives in guest memory, where a policy can read it; the
// host-side vCPU state (registers, scheduling) lives here.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "guest_layout.hpp"
#include "guest_memory.hpp"
#include "hyperupcall/daemon/sim_backend.hpp"

namespace hu::daemon::sim {

struct Vcpu {
  uint32_t id = 0;
  uint64_t rip = 0, rsp = 0, rflags = 0x202, cr3 = 0, gs_base = 0, kernel_gs_base = 0;
  uint32_t cpl = 0;
  bool running = false;
  int32_t pcpu = -1;
  bool runnable = true;          // false while idle (blocked)
  uint64_t wake_at_ns = 0;       // when an idle vCPU becomes runnable
  uint64_t lock_release_ns = 0;  // when the innermost held lock is dropped
  uint64_t last_ran_ns = 0;      // when it last left a pCPU
  uint64_t ran_ns = 0;           // in the current slice
  uint64_t slice_end_ns = 0;
  bool grace_granted = false;    // this slice
  uint64_t pending_flushes = 0;  // deferred by tlb.flush, done at next entry
  bool queued = false;           // on the run queue
  uint32_t process = 0;          // index into Guest::process_cr3
};

enum class FrameState : uint8_t { kResident, kSwapped, kDiscarded };

class Guest {
 public:
  explicit Guest(const GuestConfig& config);

  const GuestConfig& config() const { return config_; }
  uint32_t domid() const { return config_.domid; }
  std::string uuid() const;
  GuestMemory& mem() { return mem_; }
  const GuestMemory& mem() const { return mem_; }
  uint64_t frames() const { return mem_.frames(); }
  std::vector<Vcpu>& vcpus() { return vcpus_; }
  uint64_t kernel_cr3() const { return kernel_cr3_; }
  const std::vector<uint64_t>& process_cr3() const { return process_cr3_; }

  // Kernel symbols: name -> address (per-CPU variables: offset).
  const std::map<std::string, uint64_t>& symbols() const { return symbols_; }
  std::string Kallsyms() const;

  // The guest kernel's page allocator state, in guest memory.
  bool IsFree(uint64_t gfn) const;
  void SetFree(uint64_t gfn, bool free);
  // Frames the kernel itself owns (image, page tables): never free, never reclaimed.
  bool Pinned(uint64_t gfn) const { return gfn < pinned_.size() && pinned_[gfn]; }
  std::vector<FrameState>& frame_state() { return frame_state_; }

  // Per-CPU variables of vCPU `cpu`, in guest memory.
  uint64_t PercpuGpa(uint32_t cpu, uint64_t var_offset) const;
  uint32_t PreemptCount(uint32_t cpu) const;
  uint32_t SpinDepth(uint32_t cpu) const;
  bool LazyTlb(uint32_t cpu) const;
  void SetPreemptCount(uint32_t cpu, uint32_t v);
  void SetSpinDepth(uint32_t cpu, uint32_t v);
  void SetLazyTlb(uint32_t cpu, bool lazy);
  void SetCurrentTask(uint32_t cpu, uint64_t task);
  uint64_t TaskAddress(uint32_t process) const;
  uint64_t InitTask() const { return layout::kData + layout::kInitTaskOff; }

  // Kernel image virtual address -> gpa (the image is mapped linearly).
  static uint64_t ImageGpa(uint64_t va) { return va - layout::kKernelMap; }

 private:
  uint64_t BootAlloc();
  void BuildPageTables();
  void BuildKernelData();
  void AddSymbol(const std::string& name, uint64_t addr, char type);

  GuestConfig config_;
  GuestMemory mem_;
  std::vector<Vcpu> vcpus_;
  uint64_t boot_next_ = 0;
  uint64_t kernel_cr3_ = 0;
  std::vector<uint64_t> process_cr3_;
  std::vector<bool> pinned_;
  std::vector<FrameState> frame_state_;
  std::map<std::string, uint64_t> symbols_;
  std::vector<std::pair<uint64_t, std::string>> kallsyms_;  // "addr type name" lines
};

}  // namespace hu::daemon::sim
