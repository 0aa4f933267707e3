// The verifier: proves a guest program safe for one hook before it reaches
// a hypervisor. Reads context layouts and helper prototypes from the hook
// ABI (abi.h) through a Platform; never hard-codes a hook.
#pragma once

#include <chrono>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "hyperupcall/abi.h"
#include "hyperupcall/ebpf.h"

namespace hu::verifier {

class Platform;  // engine/verifier/platform.hpp

struct Options {
  hu_hook_id hook = HU_HOOK_NONE;
  std::vector<hu_map_def> maps;  // lddw src=HU_PSEUDO_MAP_IDX imm=index
  uint32_t max_insns = HU_MAX_INSNS_DEFAULT;
  // The verifier's budget: instructions it may process (every iteration of
  // a loop is analysed, so long loops cost their length). The limit that
  // rejects a bounded loop that is too long; operator policy raises it per
  // domain (Policy::verifier_budget).
  uint64_t max_states = 1'000'000;
  // CPU time of the verifying thread (not wall time: verdicts must not
  // depend on the host's load).
  std::chrono::milliseconds time_limit{2000};
  // Bit i: helper id i allowed by operator policy; intersected with the
  // helpers the hook itself allows.
  uint64_t allowed_helpers = ~0ull;
  int log_level = 0;  // 0: errors; 1: summary; 2: state at every insn
};

struct Range {
  int64_t smin = INT64_MIN, smax = INT64_MAX;
  uint64_t umin = 0, umax = UINT64_MAX;
};

struct Report {
  bool accepted = false;
  // One line a guest admin can act on: instruction index, the instruction,
  // the reason, and the state of the registers involved, e.g.
  // "insn 12 `ldxdw %r0, [%r1+64]`: context read out of bounds (hook
  //  mem.reclaim, ctx size 32): r1=ctx+0".
  std::string error;
  int32_t error_pc = -1;
  std::string log;  // per log_level
  uint64_t states = 0;
  uint64_t insns_processed = 0;
  double elapsed_ms = 0;
  Range r0;  // r0 at every exit of the main frame, joined (when accepted)
  // When accepted: the most instructions one run can execute, each loop
  // with the iterations the analysis unrolled, each call with its callee
  // (engine/verifier/worst_case.hpp). Compared with the run budget at load.
  uint64_t worst_case_insns = 0;
};

// Verifies against the hook ABI platform.
Report Verify(std::span<const hu_insn> prog, const Options& opts);
// Verifies against another platform (tests: the conformance suite's).
Report Verify(std::span<const hu_insn> prog, const Options& opts, const Platform& platform);

// "mem.reclaim" <-> HU_HOOK_MEM_RECLAIM; HU_HOOK_NONE / "" when unknown.
const char* HookName(hu_hook_id hook);
hu_hook_id HookFromName(std::string_view name);

}  // namespace hu::verifier
