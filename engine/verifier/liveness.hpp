// Register liveness, per instruction and per function: which registers some
// path from an instruction may read before writing them. Pruning compares
// only live registers, so a state that differs from an explored one in a
// dead register (a loop counter on an exit path, a clobbered temporary)
// is still recognised as covered.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "cfg.hpp"
#include "hyperupcall/ebpf.h"

namespace hu::verifier {

// Bit r set: register r is live before the instruction. Local calls are
// modelled inside the caller (reads r1-r5, writes r0-r5); a callee's exit
// reads r0 only. Always over-approximates the registers read.
std::vector<uint16_t> LiveIn(std::span<const hu_insn> prog, const Cfg& cfg);

}  // namespace hu::verifier
