// Differential testing of the JIT against the interpreter: a program is
// verified for trace.exit (with the one array map progen.hpp describes),
// relocated as a host would, and run by both engines from identical state.
// They must agree on the error and its pc, r0, the whole stack buffer, the
// map's values and the trace records written.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "hyperupcall/ebpf.h"

namespace hu::fuzz {

struct DiffOutcome {
  bool verified = false;  // the verifier accepted it
  bool compared = false;  // both engines ran it to the end (no budget stop)
  bool counted = false;   // its image has a loop whose rounds the JIT counted
  bool looped = false;    // one of them kept its back edge (too long to unroll)
  std::string mismatch;   // empty when they agree
};

// `ctx_seed` fills the context; the same program and seed give the same run.
DiffOutcome RunDifferential(const std::vector<hu_insn>& prog, uint64_t ctx_seed);

// The same comparison without the verifier, for raw programs: the two
// engines agree unless the run calls a helper (the JIT leaves r1-r5 as the
// helper left them) or the interpreter's budget runs out first. Returns the
// mismatch, or empty.
std::string CompareRaw(const std::vector<hu_insn>& prog, std::vector<uint8_t> mem);

}  // namespace hu::fuzz
