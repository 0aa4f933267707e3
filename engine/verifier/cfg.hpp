// The front end: structural checks of every slot (through ValidateInsn),
// then the control-flow graph: successors, predecessor counts, loop heads
// (targets of back edges), and the checks that need the whole graph:
// jumps in range and not into an lddw, no falling off the end, no
// unreachable instructions.
#pragma once

#include <optional>
#include <span>
#include <vector>

#include "failure.hpp"
#include "hyperupcall/ebpf.h"

namespace hu::verifier {

struct Cfg {
  std::vector<std::vector<int32_t>> succ;     // per pc; empty for exit
  std::vector<uint16_t> preds;                // number of CFG predecessors
  std::vector<bool> second_slot;              // pc is an lddw's second half
  std::vector<bool> loop_head;                // target of a back edge
  std::vector<int32_t> back_edge_from;        // for a loop head: one back edge source
  std::vector<std::vector<int32_t>> back_to;  // per pc: loop heads it jumps back to
};

// Target of the jump or local call at `pc` (no range check).
int64_t JumpTarget(const hu_insn& insn, int32_t pc);
bool IsCondJump(const hu_insn& insn);

std::optional<Failure> BuildCfg(std::span<const hu_insn> prog, Cfg* cfg);

}  // namespace hu::verifier
