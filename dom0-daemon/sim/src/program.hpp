// An installed program: its checked image, relocated instructions, maps,
// guest regions and statistics, and one run of it through the engine's JIT
// (the default; policy jit=off, or a translation that fails, leaves it to
// the interpreter) with the helpers of abi.h bound to the simulated guest.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "guest.hpp"
#include "hyperupcall/daemon/backend.hpp"
#include "hyperupcall/interp.h"
#include "hyperupcall/jit.hpp"
#include "maps.hpp"
#include "trace_ring.hpp"

namespace hu::daemon::sim {

// Map pointers the program sees: opaque tokens, not host addresses, so a
// program can never dereference a map object (only values, via lookup).
inline constexpr uint64_t kMapHandleBase = 0x4855'4d41'5000'0000ull;

// The largest program the sim installs (reported to the daemon's policy
// check through Backend::Limits, so a larger one is refused unverified).
inline constexpr uint32_t kMaxInsns = 1u << 16;

// What a run needs to know about where the hook fired.
struct RunSite {
  Guest* guest = nullptr;
  int32_t vcpu = -1;    // the vCPU in whose context the hook fired; -1: none
  uint64_t cr3 = 0;     // page tables read_gva walks
  uint64_t now_ns = 0;  // simulated host time (ktime_ns)
  TraceRing* ring = nullptr;
};

struct RunOutcome {
  bool ok = false;  // completed; r0 valid
  uint64_t r0 = 0;
  int err = HU_RUN_OK;
};

class Program {
 public:
  // Checks everything a guest supplied (maps, regions, instructions) and
  // relocates map references. `guest` gives RAM size and vCPU count;
  // `map_gap` is Map::Create's gap (the soundness harness varies it).
  static Result<std::unique_ptr<Program>> Create(const ProgramImage& image, const Guest& guest,
                                                 uint64_t default_budget, uint32_t map_gap = 0);

  uint64_t id() const { return image_.id; }
  hu_hook_id hook() const { return image_.hook; }
  uint32_t max_grace_us() const { return image_.max_grace_us; }
  const ProgramStats& stats() const { return stats_; }
  std::vector<Map>& maps() { return maps_; }
  const std::vector<hu_region>& regions() const { return image_.regions; }
  bool jitted() const { return jit_.has_value(); }

  RunOutcome Run(const RunSite& site, const void* ctx, uint32_t ctx_size);
  // The stack runs use. It keeps what the last run left (as Xen's per-CPU
  // buffer does); the soundness harness fills it with patterns to catch a
  // verified program that reads bytes it did not write.
  std::span<uint8_t> stack() { return stack_; }

  // What a run's env points to, for the helpers.
  struct Env {
    Program* prog;
    const RunSite* site;
    uint64_t helper_errors = 0;  // helper calls of this run that answered an error
  };

 private:
  Program() = default;
  ProgramImage image_;
  std::vector<hu_insn> insns_;
  std::vector<Map> maps_;
  std::vector<hu_mem_region> mem_regions_;  // [0] = context, then map arenas
  std::vector<uint8_t> stack_;
  uint64_t budget_ = 0;
  std::optional<jit::Image> jit_;  // runs instead of the interpreter when set
  ProgramStats stats_;
};

// Helpers, indexed by id; write_gva returns -EPERM outside hooks allowing it.
bool HookAllowsGuestWrite(hu_hook_id hook);
const hu_helper_fn* HelperTable();

}  // namespace hu::daemon::sim
