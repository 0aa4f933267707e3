// The blob of XEN_DOMCTL_HYPERUPCALL_save and _load (xen-patches/0030):
// a domain's hyperupcall programs with their maps' contents and statistics,
// as Xen writes it and as the migration stream carries it. The daemon reads
// it to check arriving programs against its own policy and verifier before
// they are loaded, and writes it back with its own program ids.
//
// The blob comes from a save file or a migration stream: ParseState trusts
// none of it and says what is wrong and where.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "hyperupcall/abi.h"
#include "hyperupcall/ebpf.h"
#include "hyperupcall/result.hpp"
#include "xen_domctl.hpp"

namespace hu::xen {

struct SavedMap {
  hu_map_def def{};
  uint32_t value_size = 0;  // bytes of one entry's value: all per-vCPU copies
  std::vector<MapSlot> entries;
};

struct SavedProgram {
  uint64_t id = 0;
  hu_hook_id hook = HU_HOOK_NONE;
  uint64_t budget = 0;
  uint32_t max_grace_us = 0;   // sched.preempt only; 0: Xen's cap
  uint32_t jit = 0;            // HU_XEN_JIT*: the engine, not the code (load translates again)
  std::vector<hu_insn> insns;  // as installed: map references in lddw form
  std::vector<hu_region> regions;
  std::vector<SavedMap> maps;
  std::vector<uint8_t> annotation;  // the control domain's, opaque to Xen
  ProgStats stats;
};

struct SavedState {
  std::vector<SavedProgram> programs;
};

Result<SavedState> ParseState(std::span<const uint8_t> blob);
std::vector<uint8_t> SerializeState(const SavedState& state);

}  // namespace hu::xen
