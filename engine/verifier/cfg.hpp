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
  std::vector<uint32_t> preds;                // number of CFG predecessors
  std::vector<bool> second_slot;              // pc is an lddw's second half
  std::vector<bool> loop_head;                // target of a back edge
  std::vector<int32_t> back_edge_from;        // for a loop head: one back edge source
  std::vector<std::vector<int32_t>> back_to;  // per pc: loop heads it jumps back to
  // The loop forest: the innermost loop (its head) each pc belongs to, -1
  // for none (a head belongs to its own loop), and each head's enclosing
  // loop. A loop is the code that reaches one of its back edges without
  // passing its head.
  std::vector<int32_t> loop_of;
  std::vector<int32_t> loop_parent;

  // pc is inside the loop headed by `head` (or one nested in it).
  bool InLoop(int32_t pc, int32_t head) const {
    for (int32_t h = loop_of[pc]; h >= 0; h = loop_parent[h])
      if (h == head) return true;
    return false;
  }
};

// Target of the jump or local call at `pc` (no range check).
int64_t JumpTarget(const hu_insn& insn, int32_t pc);
bool IsCondJump(const hu_insn& insn);

std::optional<Failure> BuildCfg(std::span<const hu_insn> prog, Cfg* cfg);

}  // namespace hu::verifier
