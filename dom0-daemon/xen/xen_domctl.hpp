// A client for XEN_DOMCTL_hyperupcall (xen-patches/0002), issued through
// libxencall because Debian's libxenctrl predates the op. One object per
// process; calls are serialised by the caller.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "domctl_abi.h"
#include "hyperupcall/abi.h"
#include "hyperupcall/ebpf.h"
#include "hyperupcall/result.hpp"

struct xencall_handle;

namespace hu::xen {

struct InstallArgs {
  uint32_t domid = 0;
  uint64_t id = 0;
  hu_hook_id hook = HU_HOOK_NONE;
  std::span<const hu_insn> insns;
  std::span<const hu_map_def> maps;
  std::span<const hu_region> regions;
  uint64_t budget = 0;        // 0: Xen's default
  uint32_t max_grace_us = 0;  // sched.preempt only; 0: Xen's cap (500 us)
  // Run it as x86-64 code (Xen falls back to its interpreter when it
  // cannot translate it; List says which). plain: without constant
  // blinding, for measurements only.
  bool jit = false;
  bool jit_plain = false;
};

struct ProgStats {
  uint64_t runs = 0, insns = 0, run_ns = 0, budget_aborts = 0, errors = 0;
  uint64_t last_result = 0;
  uint32_t last_err = 0, last_err_pc = 0;
  uint64_t cycles = 0;       // TSC cycles in runs
  uint64_t nested = 0;       // firings skipped: the pCPU was running a program
  uint64_t acted = 0;        // tlb.flush: deferrals; sched.preempt: grants
  uint64_t acted_units = 0;  // sched.preempt: microseconds granted
  uint64_t overridden = 0;   // verdicts Xen did not follow (caps, faults)
  uint64_t jit_runs = 0;     // runs as x86-64 code
};

struct MapSlot {
  std::vector<uint8_t> key;
  std::vector<uint8_t> value;  // per-vCPU arrays: one copy per vCPU
};

struct ReclaimResult {
  uint64_t frames = 0;          // scanned: fewer than asked past Xen's work limit
  std::vector<uint8_t> bitmap;  // bit i: first_gfn + i reported free
  uint64_t nr_free = 0;
  uint64_t nr_errors = 0;
};

// One XEN_DOMCTL_HYPERUPCALL_reclaim call: frames walked from first_gfn
// (0: past the domain's memory) and what became of the RAM among them.
struct ReclaimFramesResult {
  uint64_t walked = 0;
  uint64_t reclaimed = 0;  // now populate-on-demand, their pages back in Xen
  uint64_t kept = 0;       // the program said keep
  uint64_t busy = 0;       // RAM the guest does not hold alone
  uint64_t errors = 0;     // failed runs (kept)
};

struct TraceRecordRaw {
  uint64_t prog_id = 0;
  uint64_t time_ns = 0;
  std::vector<uint8_t> data;
};

struct TraceBatch {
  std::vector<TraceRecordRaw> records;
  uint32_t lost = 0;
};

class Domctl {
 public:
  static Result<std::unique_ptr<Domctl>> Open();
  ~Domctl();
  Domctl(const Domctl&) = delete;
  Domctl& operator=(const Domctl&) = delete;

  Status Install(const InstallArgs& args);
  Status Uninstall(uint32_t domid, uint64_t id);
  Result<std::vector<hu_xen_prog_info>> List(uint32_t domid);
  Result<ProgStats> Stats(uint32_t domid, uint64_t id);
  // Every used slot of map `map`, key and value sizes from the program.
  Result<std::vector<MapSlot>> MapDump(uint32_t domid, uint64_t id, uint32_t map, uint32_t key_size,
                                       uint32_t value_size);
  Status MapUpdate(uint32_t domid, uint64_t id, uint32_t map, std::span<const uint8_t> key,
                   std::span<const uint8_t> value, uint32_t flags);
  Result<ReclaimResult> ReclaimScan(uint32_t domid, uint64_t id, uint64_t first_gfn,
                                    uint64_t nr_frames);
  Result<TraceBatch> TraceRead(uint32_t domid);
  // Reclaims at most max_reclaim of the frames program `id` (0: any
  // mem.reclaim program) reports free among [first_gfn, first_gfn + nr).
  Result<ReclaimFramesResult> ReclaimFrames(uint32_t domid, uint64_t id, uint64_t first_gfn,
                                            uint64_t nr_frames, uint64_t max_reclaim);

  // Save, restore and migration (xen-patches/0030). Save: the domain's
  // programs, maps and statistics as one blob (state_blob.hpp), taken with
  // the domain paused. Load: makes the domain's programs exactly those of
  // the blob; returns how many there are.
  Result<std::vector<uint8_t>> Save(uint32_t domid);
  Result<uint32_t> Load(uint32_t domid, std::span<const uint8_t> blob);
  // Opaque bytes Xen keeps with program `id` and carries in save and load.
  Status Annotate(uint32_t domid, uint64_t id, std::span<const uint8_t> note);

 private:
  explicit Domctl(xencall_handle* xc) : xc_(xc) {}
  // Issues the domctl; on failure the error names the sub-op and errno.
  Status Call(uint32_t domid, hu_xen_domctl_hyperupcall& op, const char* what);

  xencall_handle* xc_;
  int last_errno_ = 0;  // of the last failed Call
};

}  // namespace hu::xen
