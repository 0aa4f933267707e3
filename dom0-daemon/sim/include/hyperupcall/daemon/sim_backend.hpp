// The `sim` backend: an in-process model of a host that fires the five hooks
// of abi.h from their natural places (page reclaim, TLB shootdown, preemption,
// hypercalls and traps, writes to protected frames) through the engine's
// interpreter. It stands in for Xen when hyperupcalld runs without one, and
// it is what most tests run against.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "hyperupcall/daemon/backend.hpp"

namespace hu::daemon::sim {

struct GuestConfig {
  uint32_t domid = 1;
  std::string name = "guest1";
  std::string uuid;  // empty: derived from domid
  uint32_t vcpus = 4;
  uint32_t memory_mib = 64;  // 16..1024
};

struct SimOptions {
  // Where each guest's kallsyms goes: <dir>/<domid>/kallsyms. Empty: none.
  std::string kallsyms_dir;
  std::vector<GuestConfig> guests = {
      {1, "guest1", "", 4, 64},
      {2, "guest2", "", 4, 64},
  };
  uint32_t pcpus = 2;                     // vCPUs of all guests share these
  uint64_t seed = 1;                      // guest workload randomness
  uint32_t tick_us = 100;                 // simulated time per tick
  uint32_t slice_us = 1000;               // round-robin time slice
  uint32_t tick_interval_us = 1000;       // real time between ticks of Start()'s thread
  uint64_t default_run_budget = 100'000;  // when ProgramImage::run_budget is 0
  uint32_t default_max_grace_us = 1000;   // when ProgramImage::max_grace_us is 0
  // Reclaim runs while the guests' resident frames exceed this share of
  // their total (percent); it reclaims reclaim_batch frames per tick.
  uint32_t pressure_percent = 85;
  uint32_t reclaim_batch = 16;
  uint32_t trace_ring_records = 4096;
};

// What the model did, for people and for tests that compare against ground
// truth (e.g. lost_pages must stay 0 with a correct reclaim policy).
struct SimCounters {
  uint64_t ticks = 0;
  uint64_t now_ns = 0;
  uint64_t context_switches = 0;
  uint64_t preemptions = 0;
  uint64_t grace_granted = 0;  // preemptions a program postponed
  uint64_t grace_us_total = 0;
  uint64_t lock_holder_preemptions = 0;  // preempted while holding a spinlock
  uint64_t page_allocs = 0;
  uint64_t page_frees = 0;
  uint64_t lock_acquires = 0;
  uint64_t tlb_shootdowns = 0;  // requests, each with one or more targets
  uint64_t tlb_ipis = 0;        // flushes delivered now (IPI, target woken)
  uint64_t tlb_deferred = 0;    // flushes deferred to the target's entry
  uint64_t hypercalls = 0;
  uint64_t traps = 0;
  uint64_t vmexits = 0;            // HLT exits of idling vCPUs
  uint64_t reclaim_asked = 0;      // frames offered to mem.reclaim
  uint64_t reclaim_discarded = 0;  // dropped without writing (program said free)
  uint64_t reclaim_swapped = 0;    // written to swap
  uint64_t swap_ins = 0;
  uint64_t lost_pages = 0;      // discarded while the guest used them: a wrong FREE
  uint64_t protect_writes = 0;  // writes to protected frames
  uint64_t protect_denied = 0;  // of those, denied (fault injected)
  uint64_t trace_dropped = 0;   // trace_output records lost to a full ring
};

// One vCPU as the model sees it (the host's view, like vcpu_state).
struct VcpuView {
  uint32_t vcpu = 0;
  bool running = false;
  bool idle = false;
  uint32_t pcpu = 0;
  uint64_t rip = 0, rsp = 0, cr3 = 0, gs_base = 0;
  uint32_t preempt_count = 0;
  uint32_t spin_depth = 0;
  bool lazy_tlb = false;
  uint64_t pending_flushes = 0;  // deferred flushes waiting for its entry
};

class Model;
class Map;

class SimBackend final : public Backend {
 public:
  // Throws on bad options; see MakeSimBackend.
  explicit SimBackend(const SimOptions& options);
  ~SimBackend() override;

  std::string Name() const override { return "sim"; }
  uint64_t DefaultRunBudget() const override { return options_default_run_budget_; }
  std::vector<DomainInfo> Domains() override;
  std::optional<DomainInfo> Domain(uint32_t domid) override;
  BackendLimits Limits() const override;
  Status Install(const ProgramImage& image) override;
  Status Uninstall(uint32_t domid, uint64_t prog_id) override;
  Result<ProgramStats> Stats(uint32_t domid, uint64_t prog_id) override;
  Result<std::vector<MapEntry>> MapDump(uint32_t domid, uint64_t prog_id,
                                        uint32_t map_index) override;
  Status MapUpdate(uint32_t domid, uint64_t prog_id, uint32_t map_index,
                   const MapEntry& entry) override;
  Status MapDelete(uint32_t domid, uint64_t prog_id, uint32_t map_index,
                   const std::vector<uint8_t>& key) override;
  std::vector<TraceRecord> DrainTrace() override;
  uint64_t TraceRecordsLost() override;
  void SetDomainEventSink(std::function<void(const DomainEvent&)> sink) override;
  Status Start() override;
  void Stop() override;

  // The analogue of Xen's reclaim scan domctl: asks the domain's mem.reclaim
  // program about gfns [first_gfn, first_gfn + count) and returns those it
  // reports free, ascending. Frames are not reclaimed. Needs a mem.reclaim
  // program on the domain (FailedPrecondition otherwise); count <= 1 << 20.
  Result<std::vector<uint64_t>> ReclaimScan(uint32_t domid, uint64_t first_gfn,
                                            uint64_t count) override;
  // The analogue of Xen's reclaim domctl: every resident frame the domain's
  // mem.reclaim program reports free is discarded (it comes back zeroed on
  // its next touch), up to max_frames; the model does not tick meanwhile.
  Result<ReclaimReport> Reclaim(uint32_t domid, uint64_t max_frames) override;

  // Deterministic stepping for tests (and the thread): advances n ticks.
  void RunTicks(uint64_t n);

  // Explicit model events, each firing its hook as the model would.
  // A shootdown from src to every other vCPU of the domain; returns the
  // number of targets whose flush was deferred.
  Result<uint32_t> TlbShootdown(uint32_t domid, uint32_t src_vcpu, uint64_t va, uint64_t nr_pages);
  // A hypercall (kind HU_EXIT_HYPERCALL) or trap (HU_EXIT_TRAP) on a vCPU.
  Status GuestExit(uint32_t domid, uint32_t vcpu, uint32_t kind, uint64_t code,
                   const uint64_t (&args)[6]);
  // A guest write of `size` bytes at gva (kernel address). Returns true if
  // the write happened, false if mem.protect denied it.
  Result<bool> GuestWrite(uint32_t domid, uint32_t vcpu, uint64_t gva, uint64_t rip, uint64_t value,
                          uint32_t size);
  // Asks the scheduler to preempt the vCPU now (it must be running); returns
  // the grace period granted in µs (0: preempted at once).
  Result<uint32_t> PreemptNow(uint32_t domid, uint32_t vcpu);
  // Puts a vCPU's guest into a state, for tests: lock depth (each lock also
  // raises preempt_count, as spin_lock does), idle (lazy TLB).
  Status SetVcpuState(uint32_t domid, uint32_t vcpu, uint32_t spin_depth, bool idle);
  // Makes the vCPU run on a pCPU now (descheduling whoever ran there).
  Status ScheduleVcpu(uint32_t domid, uint32_t vcpu);
  // Host memory pressure: offers `count` resident frames to reclaim now.
  Status ReclaimPressure(uint32_t domid, uint32_t count);

  // Domain lifecycle, reported to the domain event sink (from the calling
  // thread, after the change). Destroying a domain drops its programs.
  Status CreateDomain(const GuestConfig& config);
  Status DestroyDomain(uint32_t domid);

  // Ground truth.
  SimCounters Counters();
  Result<std::vector<VcpuView>> Vcpus(uint32_t domid);
  // The guest kernel's free-page bitmap, one bool per gfn (true = free).
  Result<std::vector<bool>> GuestFreeFrames(uint32_t domid);
  // Guest memory through the page tables rooted at cr3 (0: the kernel's).
  Result<uint64_t> Translate(uint32_t domid, uint64_t cr3, uint64_t gva);
  Result<std::vector<uint8_t>> ReadGuestVirtual(uint32_t domid, uint64_t cr3, uint64_t gva,
                                                uint64_t len);
  // Kernel symbol address, as in the guest's kallsyms.
  Result<uint64_t> Symbol(uint32_t domid, const std::string& name);
  std::string Kallsyms(uint32_t domid);

 private:
  // The model's lock is held.
  Result<Map*> FindMap(uint32_t domid, uint64_t prog_id, uint32_t map_index);
  std::unique_ptr<Model> model_;
  uint64_t options_default_run_budget_;
};

// Checks options the way the constructor does, with the reason on failure.
Status CheckSimOptions(const SimOptions& options);

// Throws std::invalid_argument on bad options (see CheckSimOptions) and
// std::runtime_error when the kallsyms directory cannot be written.
std::unique_ptr<Backend> MakeSimBackend(const SimOptions& options);
// The same, reporting those failures as an Error instead.
Result<std::unique_ptr<SimBackend>> TryMakeSimBackend(const SimOptions& options);

}  // namespace hu::daemon::sim
