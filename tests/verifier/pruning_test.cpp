// Pruning: joins keep branchy code linear, states covered by a completely
// explored one are dropped, and states still being explored (an earlier
// iteration of the loop we are in) never prune, so loops that may not end
// are still rejected.
#include <gtest/gtest.h>

#include <cstdio>
#include <string>
#include <vector>

#include "cfg.hpp"
#include "hyperupcall/asm.hpp"
#include "hyperupcall/verifier.hpp"
#include "liveness.hpp"

namespace hu::verifier {
namespace {

std::vector<hu_insn> Build(const std::string& text) {
  auto prog = Assemble(text);
  EXPECT_TRUE(prog.ok()) << (prog.ok() ? "" : prog.error().message) << "\n" << text;
  return prog.ok() ? *prog : std::vector<hu_insn>{};
}

Report Check(const std::string& text, bool prune = true) {
  Options opts;
  opts.hook = HU_HOOK_MEM_RECLAIM;
  opts.prune = prune;
  return Verify(Build(text), opts);
}

// n if/else diamonds on context fields, each changing r0 on both arms: 2^n
// paths, which a path-by-path analysis could not finish for n = 30.
std::string Diamonds(int n, const char* reg = "%r0") {
  std::string s;
  for (int i = 0; i < n; i++) {
    std::string k = std::to_string(i);
    s += "  ldxdw %r2, [%r1+" + std::to_string((i % 3) * 8) + "]\n";
    s += "  jgt %r2, " + k + ", big" + k + "\n";
    s += "  add " + std::string(reg) + ", 1\n  ja join" + k + "\n";
    s += "big" + k + ":\n  add " + std::string(reg) + ", 2\n";
    s += "join" + k + ":\n";
  }
  return s;
}

TEST(Pruning, SequentialDiamondsCostLinearStates) {
  uint64_t states[4];
  for (int i = 1; i <= 3; i++) {
    Report r = Check("  mov %r0, 0\n" + Diamonds(10 * i) + "  exit\n");
    ASSERT_TRUE(r.accepted) << r.error;
    states[i] = r.states;
    // Both arms of every diamond, joined: r0 is anywhere in [n, 2n].
    EXPECT_EQ(r.r0.umin, 10u * i);
    EXPECT_EQ(r.r0.umax, 20u * i);
  }
  // Every 10 diamonds cost the same number of states: 30 diamonds are 3x
  // the states of 10, not 2^20 times.
  EXPECT_EQ(states[3] - states[2], states[2] - states[1]);
  // Four per diamond: each arm, and each arm's arrival at the join.
  EXPECT_LE(states[3], 4 * 30 + 2u);
}

// A loop whose every iteration may branch into a handler (30 diamonds, then
// exit) in which the loop counter is dead: the handler of the first iterations
// is explored completely, the others are covered by it and dropped.
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

TEST(Pruning, ExploredHandlerIsNotExploredAgain) {
  std::string text = LoopWithHandler("  mov %r0, %r3\n  exit\n");
  Report with = Check(text, true);
  Report without = Check(text, false);
  ASSERT_TRUE(with.accepted) << with.error;
  ASSERT_TRUE(without.accepted) << without.error;
  std::printf(
      "with pruning: %llu states, %llu insns, %llu pruned; without: %llu states, %llu insns\n",
      (unsigned long long)with.states, (unsigned long long)with.insns_processed,
      (unsigned long long)with.pruned, (unsigned long long)without.states,
      (unsigned long long)without.insns_processed);
  EXPECT_GT(with.pruned, 0u);
  EXPECT_EQ(without.pruned, 0u);
  // 16 handlers without pruning, 2 with (the first one at a pc is not kept).
  EXPECT_LT(with.insns_processed * 4, without.insns_processed)
      << with.insns_processed << " vs " << without.insns_processed;
  EXPECT_LT(with.states * 4, without.states) << with.states << " vs " << without.states;
  // Pruning loses nothing: the exits of dropped states are those of the
  // state that covers them.
  EXPECT_EQ(with.r0.umin, without.r0.umin);
  EXPECT_EQ(with.r0.umax, without.r0.umax);
  EXPECT_EQ(with.r0.smin, without.r0.smin);
  EXPECT_EQ(with.r0.smax, without.r0.smax);
}

// The handler reads the loop counter: it is live there, so no iteration's
// handler state covers another's, and each is checked with its own value.
TEST(Pruning, LiveRegistersAreCompared) {
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
  EXPECT_EQ(r.pruned, 0u);
  // The same counter used as a stack offset: safe in the first 8 iterations,
  // out of the frame in the 9th, which must not be pruned against the 1st.
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

// The handler never ends: no state in it ever completes, so none prunes,
// and the loop is reported.
TEST(Pruning, InfiniteLoopInAHandlerIsStillRejected) {
  std::string text = LoopWithHandler("  mov %r0, 0\nspin:\n  ldxdw %r4, [%r1+8]\n  ja spin\n");
  Report r = Check(text);
  EXPECT_FALSE(r.accepted);
  EXPECT_NE(r.error.find("loop may not terminate"), std::string::npos) << r.error;
}

// Waiting on a context field that never changes: from the second iteration
// on, the state at the head is covered (in its live registers) by the one
// of the iteration before. That one is still being explored (it leads to
// this one), so it must not prune: the loop is rejected as it repeats.
TEST(Pruning, InProgressStatesNeverPrune) {
  Report r = Check(R"(
again:
  ldxdw %r2, [%r1+0]
  jne %r2, 0, again
  mov %r0, 0
  exit)");
  EXPECT_FALSE(r.accepted);
  EXPECT_NE(r.error.find("loop may not terminate"), std::string::npos) << r.error;
  EXPECT_EQ(r.error_pc, 0) << r.error;
  EXPECT_EQ(r.pruned, 0u);
}

// The same through a local call made in a loop: the callee's states are
// keyed by the call chain and compared frame by frame, the caller's frame
// in the registers live after the call returns.
TEST(Pruning, CalleeInALoopIsPrunedAgainstEarlierCalls) {
  std::string text = R"(
  mov %r6, 0
  mov %r7, %r1
head:
  mov %r1, %r7
  call local handler
  add %r6, 1
  jlt %r6, 16, head
  mov %r0, 0
  exit
handler:
  mov %r3, 0
)" + Diamonds(30, "%r3") +
                     R"(
  mov %r0, %r3
  exit
)";
  Report with = Check(text, true);
  Report without = Check(text, false);
  ASSERT_TRUE(with.accepted) << with.error;
  ASSERT_TRUE(without.accepted) << without.error;
  // r6 is live in the caller after the call, and differs each time: the
  // callee is explored in full on every call, and nothing is pruned.
  EXPECT_EQ(with.pruned, 0u);
  EXPECT_EQ(with.insns_processed, without.insns_processed);
}

std::vector<uint16_t> Live(const std::string& text) {
  auto prog = Build(text);
  Cfg cfg;
  EXPECT_FALSE(BuildCfg(prog, &cfg).has_value());
  return LiveIn(prog, cfg);
}

constexpr uint16_t R(int r) { return static_cast<uint16_t>(1u << r); }

TEST(Liveness, ReadsWritesAndCalls) {
  auto live = Live(R"(
  mov %r6, %r1
  mov %r7, 5
  ldxdw %r0, [%r6+0]
  call 8
  add %r0, %r7
  exit)");
  const uint16_t fp = R(10);
  EXPECT_EQ(live[5], R(0) | fp);                // exit reads r0
  EXPECT_EQ(live[4], R(0) | R(7) | fp);         // add reads both operands
  EXPECT_EQ(live[3], 0x3e | R(7) | fp);         // a call reads r1-r5, writes r0
  EXPECT_EQ(live[2], R(6) | R(7) | 0x3e | fp);  // the load writes r0
  EXPECT_EQ(live[1], R(6) | 0x3e | fp);         // mov writes r7 without reading it
  EXPECT_EQ(live[0], R(1) | 0x3c | fp);         // r6 comes from r1
}

TEST(Liveness, LocalCallsAndLoops) {
  auto live = Live(R"(
  mov %r6, 0
again:
  call local sub
  add %r6, 1
  jlt %r6, 4, again
  exit
sub:
  mov %r0, %r9
  exit)");
  // The loop reads r6 before writing it; the callee's read of r9 belongs to
  // its frame, not the caller's, and r0 is written by the call.
  EXPECT_EQ(live[1], 0x3e | R(6) | R(10));
  EXPECT_EQ(live[0], 0x3e | R(10));
  EXPECT_EQ(live[4], R(0) | R(10));
  EXPECT_EQ(live[5], R(9) | R(10));  // the callee's first insn
}

}  // namespace
}  // namespace hu::verifier
