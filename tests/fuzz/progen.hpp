// Random programs for the trace.exit hook that the verifier mostly
// accepts, for differential testing of the JIT against the interpreter:
// every ALU operation (64 and 32 bits, immediate and register, signed
// division, sign extension, byte swaps), every kind of jump (ja and gotol
// too), loads of every size from the context, the stack (through r10 and
// through a derived pointer) and map values, stores and atomics, lddw,
// bounded loops, local calls, and the helpers map_lookup_elem,
// trace_output and ktime_ns (by call and by callx). The choices come
// from a caller's source of numbers, so libFuzzer's bytes or a seeded
// PRNG can drive it.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "hyperupcall/ebpf.h"

namespace hu::fuzz {

// Uniform choice in [0, n) (n > 0).
using Pick = std::function<uint64_t(uint64_t n)>;

// The program's one map: an array of kMapEntries values of kMapValue bytes,
// referenced as map index 0.
inline constexpr uint32_t kMapEntries = 4;
inline constexpr uint32_t kMapValue = 64;

std::vector<hu_insn> GenerateProgram(const Pick& pick);

}  // namespace hu::fuzz
