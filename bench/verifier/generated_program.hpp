// A generated program of exactly `n` instructions that looks like a real
// policy: context reads, arithmetic, if/else diamonds, spills and fills, map
// lookups with null checks, helper calls and a small bounded loop, repeated
// until the size is reached. Used by the benchmark and by a test that checks
// the verifier accepts it.
#pragma once

#include <string>
#include <vector>

#include "hyperupcall/asm.hpp"
#include "hyperupcall/ebpf.h"

namespace hu::verifier::bench {

inline std::string GeneratedProgramText(int n) {
  // Each block is 30 slots (lddw takes two) and keeps r6 = ctx, r7 = sum.
  static const char* kBlock = R"(
  ldxdw %r2, [%r6+{F}]
  and %r2, 15
  add %r7, %r2
  jgt %r2, 7, big{I}
  add %r7, 3
  ja join{I}
big{I}:
  sub %r7, 1
join{I}:
  stxdw [%r10-8], %r7
  ldxdw %r3, [%r10-8]
  rsh %r3, 1
  xor %r7, %r3
  stw [%r10-12], {K}
  mov %r2, %r10
  add %r2, -12
  lddw %r1, map[0]
  call 1
  jeq %r0, 0, miss{I}
  ldxdw %r3, [%r0+0]
  and %r3, 0xff
  add %r7, %r3
  stxdw [%r0+8], %r7
miss{I}:
  mov %r8, 0
loop{I}:
  add %r7, %r8
  add %r8, 1
  jlt %r8, 2, loop{I}
  mov32 %r4, %r7
  lsh %r4, 2
  arsh %r4, 1
  or %r7, %r4
)";
  const int kBlockSlots = 30;
  std::string text = "  mov %r6, %r1\n  mov %r7, 0\n";
  int used = 2;
  for (int i = 0; used + kBlockSlots + 2 <= n; i++, used += kBlockSlots) {
    std::string b = kBlock;
    auto sub = [&b](const std::string& from, const std::string& to) {
      for (size_t p; (p = b.find(from)) != std::string::npos;) b.replace(p, from.size(), to);
    };
    sub("{I}", std::to_string(i));
    sub("{F}", std::to_string((i % 3) * 8));
    sub("{K}", std::to_string(i % 4));
    text += b;
  }
  for (; used < n - 2; used++) text += "  add %r7, 1\n";
  text += "  mov %r0, %r7\n  exit\n";
  return text;
}

// A loop of `iterations` whose every iteration may enter a handler of
// `diamonds` if/else diamonds that ends the program; the loop counter is dead
// in the handler, so pruning against explored states explores it twice
// instead of once per iteration.
inline std::string LoopWithHandlerText(int iterations, int diamonds) {
  std::string s = "  mov %r6, 0\nhead:\n  ldxdw %r2, [%r1+0]\n  jne %r2, %r6, next\n  mov %r3, 0\n";
  for (int i = 0; i < diamonds; i++) {
    std::string k = std::to_string(i);
    s += "  ldxdw %r2, [%r1+" + std::to_string((i % 3) * 8) + "]\n  jgt %r2, " + k + ", big" + k +
         "\n  add %r3, 1\n  ja join" + k + "\nbig" + k + ":\n  add %r3, 2\njoin" + k + ":\n";
  }
  s += "  mov %r0, %r3\n  exit\nnext:\n  add %r6, 1\n  jlt %r6, " + std::to_string(iterations) +
       ", head\n  mov %r0, 0\n  exit\n";
  return s;
}

// `for (i = 0; i < iterations; i++) if (ctx->gfn >> (i & 63) & 1) n++;`:
// an ordinary counted loop with a branch in its body. The verifier follows
// it one iteration at a time, so its cost grows with `iterations`.
inline std::string CountedLoopText(int iterations) {
  return "  mov %r7, 0\n  mov %r8, 0\nhead:\n  ldxdw %r2, [%r1+0]\n  mov %r3, %r8\n"
         "  and %r3, 63\n  rsh %r2, %r3\n  and %r2, 1\n  jeq %r2, 0, skip\n  add %r7, 1\n"
         "skip:\n  add %r8, 1\n  jlt %r8, " +
         std::to_string(iterations) + ", head\n  mov %r0, %r7\n  exit\n";
}

}  // namespace hu::verifier::bench
