// Where states are joined and where they are not: joins keep branchy code
// linear; a loop runs one iteration at a time and iterations are never
// joined with each other (a counter stays exact), while the exits of all
// iterations are joined after the loop; loops that may not end are still
// rejected.
#include <gtest/gtest.h>

#include <cstdio>
#include <string>
#include <vector>

#include "cfg.hpp"
#include "hyperupcall/asm.hpp"
#include "hyperupcall/verifier.hpp"
#include "table.hpp"

namespace hu::verifier {
namespace {

using table::Build;

Report Check(const std::string& text) {
  Options opts;
  opts.hook = HU_HOOK_MEM_RECLAIM;
  return Verify(Build(text), opts);
}

// n if/else diamonds on context fields, each changing r0 on both arms: 2^n
// paths, which a path-by-path analysis could not finish for n = 30.
std::string Diamonds(int n, const std::string& reg = "%r0") {
  std::string s;
  for (int i = 0; i < n; i++) {
    std::string k = std::to_string(i);
    s += "  ldxdw %r2, [%r1+" + std::to_string((i % 3) * 8) + "]\n  jgt %r2, " + k + ", big" + k +
         "\n  add " + reg + ", 10\n  ja join" + k + "\nbig" + k + ":\n  add " + reg + ", 20\njoin" +
         k + ":\n";
  }
  return s;
}

TEST(Joins, SequentialDiamondsCostLinearStates) {
  uint64_t states[4] = {};
  for (int i = 1; i <= 3; i++) {
    Report r = Check("  mov %r0, 0\n" + Diamonds(10 * i) + "  exit\n");
    ASSERT_TRUE(r.accepted) << r.error;
    states[i] = r.states;
    EXPECT_EQ(r.r0.umin, 100u * i);
    EXPECT_EQ(r.r0.umax, 200u * i);
  }
  // Every 10 diamonds cost the same number of states: 30 diamonds are 3x
  // the states of 10, not 2^20 times.
  EXPECT_EQ(states[3] - states[2], states[2] - states[1]);
  // Four per diamond: each arm, and each arm's arrival at the join.
  EXPECT_LE(states[3], 4 * 30 + 2u);
}

// A loop whose every iteration may branch into a handler (30 diamonds, then
// exit). The handler is not part of the loop (it never comes back to it),
// so the states entering it from every iteration wait at its first
// instruction and are joined: it is explored once.
std::string LoopWithHandler(const std::string& handler_end) {
  return R"(
  mov %r6, 0
head:
  ldxdw %r2, [%r1+0]
  jne %r2, %r6, next
  mov %r3, 0
)" + Diamonds(30, "%r3") +
         handler_end + R"(
next:
  add %r6, 1
  jlt %r6, 16, head
  mov %r0, 0
  exit
)";
}

TEST(Joins, AHandlerLeftFromEveryIterationIsExploredOnce) {
  Report r = Check(LoopWithHandler("  mov %r0, %r3\n  exit\n"));
  ASSERT_TRUE(r.accepted) << r.error;
  std::printf("loop with handler: %llu states, %llu insns\n", (unsigned long long)r.states,
              (unsigned long long)r.insns_processed);
  // 16 iterations of 5 instructions, one handler of 30 diamonds (4 each).
  EXPECT_LT(r.insns_processed, 16 * 5 + 2 * 30 * 4) << r.insns_processed;
  EXPECT_EQ(r.r0.umin, 0u);
  EXPECT_EQ(r.r0.umax, 600u);
}

// Inside the loop, every iteration keeps its own counter: a bit test on it
// whose two arms rejoin before the back edge does not merge iterations.
TEST(Joins, IterationsAreNeverJoined) {
  Report r = Check(R"(
  stdw [%r10-8], 0
  mov %r6, 0
  mov %r0, 0
head:
  mov %r2, %r6
  and %r2, 1
  jeq %r2, 0, even
  add %r0, 1
  ja join
even:
  add %r0, 2
join:
  mov %r3, %r10
  add %r3, %r6
  ldxb %r4, [%r3-8]
  add %r6, 1
  jlt %r6, 8, head
  exit)");
  ASSERT_TRUE(r.accepted) << r.error;
  // Four odd and four even iterations, exactly.
  EXPECT_EQ(r.r0.umin, 12u);
  EXPECT_EQ(r.r0.umax, 12u);
}

// The handler reads the loop counter: the states of all iterations are
// joined there, so it sees every value the counter had.
TEST(Joins, AJoinedHandlerSeesEveryIterationsValues) {
  Report r = Check(R"(
  mov %r6, 0
head:
  ldxdw %r2, [%r1+0]
  jne %r2, %r6, next
  mov %r0, %r6
  exit
next:
  add %r6, 1
  jlt %r6, 16, head
  mov %r0, 100
  exit)");
  ASSERT_TRUE(r.accepted) << r.error;
  EXPECT_EQ(r.r0.umin, 0u);
  EXPECT_EQ(r.r0.umax, 100u);
  // The same counter used as a stack offset: safe in the first 8 iterations,
  // out of the frame in the 9th.
  r = Check(R"(
  mov %r6, 0
head:
  ldxdw %r2, [%r1+0]
  jne %r2, %r6, next
  mov %r3, %r10
  sub %r3, %r6
  stdw [%r3-8], 0
  mov %r0, 0
  exit
next:
  add %r6, 64
  jlt %r6, 1024, head
  mov %r0, 0
  exit)");
  EXPECT_FALSE(r.accepted);
  EXPECT_NE(r.error.find("stack"), std::string::npos) << r.error;
  EXPECT_EQ(r.error_pc, 5) << r.error;
}

// The handler never ends: it is reported.
TEST(Loops, AnInfiniteLoopInAHandlerIsRejected) {
  Report r = Check(LoopWithHandler("  mov %r0, 0\nspin:\n  ldxdw %r4, [%r1+8]\n  ja spin\n"));
  EXPECT_FALSE(r.accepted);
  EXPECT_NE(r.error.find("loop may not terminate"), std::string::npos) << r.error;
}

// Waiting on a context field that never changes: the head state repeats.
TEST(Loops, WaitingOnTheContextIsRejected) {
  Report r = Check(R"(
again:
  ldxdw %r2, [%r1+0]
  jne %r2, 0, again
  mov %r0, 0
  exit)");
  EXPECT_FALSE(r.accepted);
  EXPECT_NE(r.error.find("loop may not terminate"), std::string::npos) << r.error;
  EXPECT_EQ(r.error_pc, 0) << r.error;
}

// A local call made in a loop: the callee's states are keyed by the call
// chain and the caller's iteration, so each call is checked with its own
// argument.
TEST(Loops, ACalleeInALoopSeesEachIterationsArguments) {
  Report r = Check(R"(
  mov %r6, 0
  stdw [%r10-8], 0
head:
  mov %r1, %r10
  add %r1, %r6
  call local touch
  add %r6, 1
  jlt %r6, 9, head
  mov %r0, 0
  exit
touch:
  ldxb %r0, [%r1-8]
  exit)");
  EXPECT_FALSE(r.accepted);
  // Iteration 8 reads fp+0, outside the frame.
  EXPECT_NE(r.error.find("stack access out of bounds: bytes [0, 1)"), std::string::npos) << r.error;
}

std::vector<int32_t> LoopOf(const std::string& text, Cfg* cfg) {
  auto prog = Build(text);
  EXPECT_FALSE(BuildCfg(prog, cfg).has_value());
  return cfg->loop_of;
}

TEST(LoopForest, NestedLoopsAndTheirCode) {
  Cfg cfg;
  auto loop_of = LoopOf(R"(
  mov %r0, 0
  mov %r1, 0
outer:
  mov %r2, 0
inner:
  add %r0, 1
  add %r2, 1
  jlt %r2, 10, inner
  add %r1, 1
  jlt %r1, 10, outer
  exit)",
                        &cfg);
  EXPECT_EQ(loop_of, (std::vector<int32_t>{-1, -1, 2, 3, 3, 3, 2, 2, -1}));
  EXPECT_EQ(cfg.loop_parent[3], 2);
  EXPECT_EQ(cfg.loop_parent[2], -1);
  EXPECT_TRUE(cfg.InLoop(4, 2));
  EXPECT_FALSE(cfg.InLoop(6, 3));
  EXPECT_FALSE(cfg.InLoop(8, 2));
}

}  // namespace
}  // namespace hu::verifier
