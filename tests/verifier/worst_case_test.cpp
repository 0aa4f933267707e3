// The longest-path bound (engine/verifier/worst_case.hpp): exact on
// programs whose worst path is known by hand, the same with pruning on and
// off, and never below what the interpreter executes (differential_test
// checks that on random programs too).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "hyperupcall/asm.hpp"
#include "hyperupcall/interp.h"
#include "hyperupcall/verifier.hpp"
#include "table.hpp"

namespace hu::verifier {
namespace {

using table::Build;

uint64_t Worst(const std::string& text) {
  Options opts;
  opts.hook = HU_HOOK_MEM_RECLAIM;
  Report r = Verify(Build(text), opts);
  EXPECT_TRUE(r.accepted) << r.error << "\n" << text;
  return r.worst_case_insns;
}

// Instructions the interpreter executes with the context's first word = x.
uint64_t Executed(const std::string& text, uint64_t x) {
  auto prog = Build(text);
  uint64_t ctx[8] = {x};
  alignas(8) uint8_t stack[HU_STACK_FRAME * HU_MAX_CALL_DEPTH];
  hu_mem_region region{reinterpret_cast<uintptr_t>(ctx), sizeof(ctx), 0, 0};
  hu_run run{};
  run.insns = prog.data();
  run.ninsns = static_cast<uint32_t>(prog.size());
  run.regions = &region;
  run.nregions = 1;
  run.stack = stack;
  run.stack_size = sizeof(stack);
  run.budget = 1'000'000;
  EXPECT_EQ(hu_interp_run(&run, reinterpret_cast<uintptr_t>(ctx), 0, 0), HU_RUN_OK);
  return run.executed;
}

TEST(WorstCase, StraightLine) { EXPECT_EQ(Worst("mov %r0, 1\nadd %r0, 2\nexit\n"), 3u); }

TEST(WorstCase, LongerArmOfABranch) {
  const std::string text = R"(
  ldxdw %r2, [%r1+0]
  mov %r0, 0
  jeq %r2, 0, short
  add %r0, 1
  add %r0, 1
  add %r0, 1
short:
  exit
)";
  EXPECT_EQ(Worst(text), 7u);
  EXPECT_EQ(Executed(text, 1), 7u);
  EXPECT_EQ(Executed(text, 0), 4u);
}

// 2 before, 10 iterations of 2, the exit: 23, and the loop is counted with
// its bound, not once.
TEST(WorstCase, CountedLoop) {
  const std::string text = R"(
  mov %r0, 0
  mov %r2, 0
head:
  add %r2, 1
  jlt %r2, 10, head
  exit
)";
  EXPECT_EQ(Worst(text), 23u);
  EXPECT_EQ(Executed(text, 0), 23u);
}

// The bound of a loop is what the guest's data allows: a loop over a
// context value clamped to 100 runs up to 100 times.
TEST(WorstCase, LoopBoundedByAClampedInput) {
  const std::string text = R"(
  ldxdw %r3, [%r1+0]
  jle %r3, 100, ok
  mov %r3, 100
ok:
  mov %r0, 0
  mov %r2, 0
head:
  jge %r2, %r3, done
  add %r0, 3
  add %r2, 1
  ja head
done:
  exit
)";
  const uint64_t worst = Worst(text);
  EXPECT_EQ(Executed(text, 100), 4u + 100 * 4 + 2);
  EXPECT_EQ(Executed(text, 1000), 5u + 100 * 4 + 2);
  EXPECT_EQ(worst, Executed(text, 1000));
}

// Nested loops multiply; a local call counts its callee on each call.
TEST(WorstCase, NestedLoopsAndCalls) {
  const std::string text = R"(
  mov %r6, 0
outer:
  mov %r7, 0
inner:
  call local f
  add %r7, 1
  jlt %r7, 4, inner
  add %r6, 1
  jlt %r6, 3, outer
  mov %r0, 0
  exit
f:
  mov %r0, 1
  exit
)";
  // 1 + 3 * (1 + 4 * (1 + 2 + 2) + 2) + 2
  EXPECT_EQ(Worst(text), 1u + 3 * (1 + 4 * 5 + 2) + 2);
  EXPECT_EQ(Worst(text), Executed(text, 0));
}

// Joined states keep the longest path: the diamonds' arms join at each
// join label, and the bound is that of the longer arm, on the iteration
// that runs the handler last.
TEST(WorstCase, JoinsKeepTheBound) {
  std::string text = R"(
  mov %r6, 0
head:
  ldxdw %r2, [%r1+0]
  jne %r2, %r6, next
  mov %r3, 0
)";
  for (int i = 0; i < 12; i++) {
    std::string k = std::to_string(i);
    text += "  ldxdw %r2, [%r1+8]\n  jgt %r2, " + k + ", big" + k + "\n  add %r3, 1\n  ja join" +
            k + "\nbig" + k + ":\n  add %r3, 2\n  add %r3, 2\njoin" + k + ":\n";
  }
  text += R"(
  mov %r0, %r3
  exit
next:
  add %r6, 1
  jlt %r6, 16, head
  mov %r0, 0
  exit
)";
  // The worst run: 15 iterations that skip the handler (4 instructions
  // each), then the handler: 12 diamonds of 4 instructions either way.
  EXPECT_EQ(Worst(text), 1u + 15 * 4 + 2 + (1 + 12 * 4 + 2));
  EXPECT_EQ(Worst(text), Executed(text, 15));
}

TEST(WorstCase, RejectedProgramHasNone) {
  Options opts;
  opts.hook = HU_HOOK_MEM_RECLAIM;
  Report r = Verify(Build("ldxdw %r0, [%r1+4096]\nexit\n"), opts);
  ASSERT_FALSE(r.accepted);
  EXPECT_EQ(r.worst_case_insns, 0u);
}

}  // namespace
}  // namespace hu::verifier
