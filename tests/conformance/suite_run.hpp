// Runs one program the way the conformance suite expects: r1 = memory,
// r2 = its length (both 0 without memory), the memory writable, the
// suite's helpers, a fresh zeroed stack, and a generous budget.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "hyperupcall/ebpf.h"
#include "hyperupcall/result.hpp"

namespace hu::conformance {

inline constexpr uint64_t kSuiteBudget = 1'000'000;

// r0, or an error naming the interpreter's error code and pc.
Result<uint64_t> RunSuiteProgram(std::span<const hu_insn> prog, std::vector<uint8_t> mem);

}  // namespace hu::conformance
