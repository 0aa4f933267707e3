// Runs one program the way the conformance suite expects: r1 = memory,
// r2 = its length (both 0 without memory), the memory writable, the
// suite's helpers, a fresh zeroed stack, and a generous budget; with the
// interpreter or through the JIT (blinded, as in Xen).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "hyperupcall/ebpf.h"
#include "hyperupcall/result.hpp"

namespace hu::conformance {

inline constexpr uint64_t kSuiteBudget = 1'000'000;

enum class Engine { kInterp, kJit };

// r0, or an error naming the engine's error code and pc.
Result<uint64_t> RunSuiteProgram(std::span<const hu_insn> prog, std::vector<uint8_t> mem,
                                 Engine engine = Engine::kInterp);

// "--jit" among a command line's arguments selects the JIT.
Engine EngineFromArgs(int argc, char** argv);

}  // namespace hu::conformance
