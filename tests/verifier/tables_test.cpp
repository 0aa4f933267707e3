// The tables: unsafe programs that must be rejected, each with the message
// (and instruction) a guest admin would see, and safe programs that must be
// accepted. Programs are written in the assembler's syntax; a few
// structural cases the assembler refuses to produce are raw slots.
#include <gtest/gtest.h>

#include <cstdio>
#include <string>
#include <vector>

#include "table.hpp"

namespace hu::verifier {
namespace {

using namespace table;

std::vector<Case> RejectTable() {
  return {
      // CVE-2020-8835: 64-bit umin >= 1 and 32-bit umax <= 1 do not make the
      // value 1 (0x100000000 passes both), so r6 & 1 - 1 may be -1.
      {"CVE-2020-8835 32-bit bounds from jmp32", L(R"(
  jeq %r0, 0, out
  ldxdw %r6, [%r0+0]
  jlt %r6, 1, out
  jgt32 %r6, 1, out
  and %r6, 1
  sub %r6, 1
  add %r0, %r6
  ldxb %r1, [%r0+0]
out:
  mov %r0, 0
  exit)"),
       "map value access out of bounds: bytes [-1, 1)", 13},
      // CVE-2021-3490: and32 of a subregister known to be 1 (upper half
      // unknown) with 2 is 0; stale 32-bit bounds said 1.
      {"CVE-2021-3490 alu32 and/or/xor bounds", L(R"(
  jeq %r0, 0, out
  ldxdw %r6, [%r0+0]
  lsh %r6, 32
  or %r6, 1
  lddw %r7, 0x100000002
  and32 %r6, %r7
  sub %r6, 1
  add %r0, %r6
  ldxb %r1, [%r0+0]
out:
  mov %r0, 0
  exit)"),
       "map value access out of bounds: bytes [-1, 0)", 15},
      // CVE-2021-31440: r6 in [0, 2^32] says nothing about w6 (0xffffffff
      // is in range); truncating the 64-bit bounds claimed w6 = 0.
      {"CVE-2021-31440 64-to-32 bounds", L(R"(
  jeq %r0, 0, out
  ldxdw %r6, [%r0+0]
  lddw %r7, 0x100000000
  jgt %r6, %r7, out
  mov32 %r6, %r6
  add %r0, %r6
  ldxb %r1, [%r0+0]
out:
  mov %r0, 0
  exit)"),
       "pointer arithmetic with an unbounded scalar r6", 12},
      // CVE-2022-23222: arithmetic on a maybe-NULL pointer turns NULL into
      // a non-zero address the null check no longer catches.
      {"CVE-2022-23222 arithmetic on map_value_or_null", L(R"(
  add %r0, 8
  jeq %r0, 0, out
  ldxdw %r1, [%r0+0]
out:
  mov %r0, 0
  exit)"),
       "arithmetic on r0, which may be NULL", 6},
      // CVE-2023-2163: one path to the merge bounds r6, the other does not;
      // pruning the second against the first accepted an unbounded offset.
      {"CVE-2023-2163 unsound pruning at a merge", L(R"(
  jeq %r0, 0, out
  ldxdw %r6, [%r0+0]
  jgt %r6, 7, big
  ja merge
big:
  mov %r1, 0
merge:
  add %r0, %r6
  ldxb %r1, [%r0+0]
out:
  mov %r0, 0
  exit)"),
       "pointer arithmetic with an unbounded scalar r6", 11},
      {"pointer stored to a map", L(R"(
  jeq %r0, 0, out
  stxdw [%r0+0], %r10
out:
  mov %r0, 0
  exit)"),
       "storing a pointer into map_value memory would leak its address", 7},
      {"pointer compared with a scalar", L(R"(
  jeq %r0, 0, out
  ldxdw %r2, [%r0+0]
  jgt %r10, %r2, out
  mov %r0, 1
  exit
out:
  mov %r0, 0
  exit)"),
       "comparing pointer r10 with a scalar other than 0 would leak its address", 8},
      {"stack read before write", R"(
  ldxdw %r0, [%r10-8]
  exit)",
       "read of uninitialised stack: fp-8 is read before it is written", 0},
      {"null map value dereferenced", L(R"(
  ldxdw %r1, [%r0+0]
  mov %r0, 0
  exit)"),
       "possible NULL dereference", 6},
      {"out-of-bounds context read", R"(
  ldxdw %r0, [%r1+32]
  exit)",
       "context read out of bounds: bytes [32, 40) (struct hu_ctx_mem_reclaim, 32 bytes", 0},
      {"infinite loop", R"(
  mov %r0, 0
spin:
  ja spin)",
       "loop may not terminate: iteration 1 reaches its head in the same state", 1},
      {"unbounded counting loop", R"(
  mov %r0, 0
again:
  add %r0, 1
  ja again)",
       "loop not finished within the ", 1},
      {"loop bound by an unknown value", R"(
  ldxdw %r2, [%r1+0]
  mov %r0, 0
again:
  add %r0, 1
  jne %r0, %r2, again
  exit)",
       "loop not finished within the ", 2},
      {"unreachable code", R"(
  mov %r0, 0
  exit
  mov %r0, 1
  exit)",
       "unreachable instruction", 2},
      {"jump out of range", R"(
  ja +5
  exit)",
       "jump target 6 outside the program [0, 2)", 0},
      {"falls off the end", R"(
  mov %r0, 0)",
       "falls off the end", 0},
      {"r1 read after a call", R"(
  call 8
  mov %r0, %r1
  exit)",
       "r1 is read before it is written", 1},
      {"helper the hook may not call", R"(
  mov %r1, 0
  mov %r2, %r10
  add %r2, -8
  mov %r3, 8
  call 6
  exit)",
       "helper write_gva (6) is not allowed for hook mem.reclaim", 4},
      {"helper the operator forbids", R"(
  call 8
  exit)",
       "helper ktime_ns (8) is not allowed by the operator's policy", 0, HU_HOOK_MEM_RECLAIM,
       ~(1ull << HU_HELPER_KTIME_NS)},
      {"unbounded helper size", R"(
  ldxdw %r2, [%r1+0]
  mov %r1, %r10
  add %r1, -16
  mov %r3, 0
  call 4
  exit)",
       "size r2 (argument 2 of read_gva) may be up to", 4},
      {"helper buffer too small for its size", R"(
  mov %r1, %r10
  add %r1, -16
  mov %r2, 24
  mov %r3, 0
  call 4
  exit)",
       "read_gva argument r1: stack access out of bounds: bytes [-16, 8)", 4},
      {"context write", R"(
  stw [%r1+0], 1
  mov %r0, 0
  exit)",
       "the context is read-only", 0},
      {"context read across fields", R"(
  ldxdw %r0, [%r1+4]
  exit)",
       "is not an aligned part of one field", 0},
      {"stack out of bounds", R"(
  stdw [%r10-520], 1
  mov %r0, 0
  exit)",
       "stack access out of bounds: bytes [-520, -512)", 0},
      {"call depth", R"(
  call local f
  exit
f:
  call local f
  exit)",
       "call depth exceeds 8 frames", 2},
      {"pointer returned", R"(
  mov %r0, %r10
  exit)",
       "r0 at exit is a pointer", 1},
      {"pointer to the callee's stack returned", R"(
  call local f
  mov %r0, 0
  exit
f:
  mov %r0, %r10
  exit)",
       "returning a pointer to the callee's own stack", 4},
      {"spilled pointer passed to a helper as data", R"(
  stxdw [%r10-8], %r1
  mov %r1, %r10
  add %r1, -8
  mov %r2, 8
  call 7
  exit)",
       "part of a spilled pointer at fp-8", 4},
      {"pointer passed as a number", R"(
  mov %r3, %r1
  mov %r1, %r10
  add %r1, -8
  mov %r2, 8
  call 4
  exit)",
       "r3 (argument 3 of read_gva) is a pointer", 4},
      {"multiplying a pointer", R"(
  mul %r1, 2
  mov %r0, 0
  exit)",
       "pointer arithmetic with 'mul' would leak the address in r1", 0},
      {"32-bit move of a pointer", R"(
  mov32 %r0, %r1
  exit)",
       "32-bit move of a pointer would leak its address", 0},
      {"unknown helper", R"(
  call 99
  exit)",
       "unknown helper id 99", 0},
      {"callx through a register that is not a known constant", R"(
  ldxdw %r2, [%r1+0]
  and %r2, 3
  call %r2
  exit)",
       "callx through r2: the helper id must be a known constant, not a range: "
       "r2=scalar([0,3]",
       2},
      {"callx through a pointer", R"(
  call %r1
  exit)",
       "callx through r1: r1 is a pointer, not a helper id", 0},
      {"callx to an unknown helper id", R"(
  mov %r2, 99
  call %r2
  exit)",
       "callx through r2: unknown helper id 99: r2=99", 1},
      {"callx through an uninitialised register", R"(
  call %r3
  exit)",
       "r3 (callx target) is read before it is written", 0},
      {"callx to a helper the hook may not call", R"(
  mov %r1, 0
  mov %r2, %r10
  add %r2, -8
  mov %r3, 8
  mov %r4, 6
  call %r4
  exit)",
       "helper write_gva (6) is not allowed for hook mem.reclaim", 5},
      {"callx: r1-r5 do not survive it", R"(
  mov %r2, 8
  call %r2
  mov %r0, %r2
  exit)",
       "r2 is read before it is written", 2},
      {"map index out of range", R"(
  lddw %r1, map[3]
  mov %r0, 0
  exit)",
       "map index 3 out of range (the program has 2 maps)", 0},
      {"map value read past value_size", L(R"(
  jeq %r0, 0, out
  ldxdw %r1, [%r0+16]
out:
  mov %r0, 0
  exit)"),
       "map value access out of bounds: bytes [16, 24) outside value_size 16 of map 0", 7},
      {"map object dereferenced", R"(
  lddw %r1, map[0]
  ldxdw %r0, [%r1+0]
  exit)",
       "a map pointer cannot be dereferenced", 2},
      {"scalar dereferenced (guest memory only through helpers)", R"(
  ldxdw %r2, [%r1+8]
  ldxdw %r0, [%r2+0]
  exit)",
       "dereference of a scalar", 1},
      {"a copy loses its bound when the original changes", C(R"(
  jeq %r0, 0, out
  ldxdw %r6, [%r9+0]
  mov %r7, %r6
  add %r6, 100
  jgt %r7, 8, out
  add %r0, %r6
  ldxdw %r0, [%r0+0]
  exit
out:
  mov %r0, 0
  exit)"),
       "pointer arithmetic with an unbounded scalar r6", 12},
      {"variable stack read partly uninitialised", R"(
  ldxdw %r2, [%r1+0]
  and %r2, 8
  stdw [%r10-16], 0
  mov %r3, %r10
  add %r3, %r2
  ldxdw %r0, [%r3-16]
  exit)",
       "read of uninitialised stack: fp-8", 5},
  };
}

TEST(RejectTable, EachIsRejectedWithItsMessage) {
  for (const Case& c : RejectTable()) ExpectRejected(c);
}

// Structural cases the assembler would not produce.
TEST(RejectTable, RawSlots) {
  struct Raw {
    const char* name;
    std::vector<hu_insn> prog;
    const char* expect;
    int pc;
  };
  const uint8_t mov_k = HU_CLS_ALU64 | HU_ALU_MOV | HU_SRC_K;
  const uint8_t exit = HU_CLS_JMP | HU_JMP_EXIT;
  const uint8_t lddw = HU_CLS_LD | HU_MODE_IMM | HU_SIZE_DW;
  std::vector<Raw> table = {
      {"bad register number", {{mov_k, 11, 0, 0, 0}, {exit, 0, 0, 0, 0}}, "register 11", 0},
      {"write to r10", {{mov_k, 10, 0, 0, 0}, {exit, 0, 0, 0, 0}}, "r10 is read-only", 0},
      {"reserved field not zero", {{mov_k, 0, 0, 3, 0}, {exit, 0, 0, 0, 0}}, "off field", 0},
      {"jump into the middle of lddw",
       {{HU_CLS_JMP | HU_JMP_JA, 0, 0, 1, 0},
        {lddw, 0, 0, 0, 1},
        {0, 0, 0, 0, 0},
        {exit, 0, 0, 0, 0}},
       "jump target 2 is the middle of an lddw",
       0},
      // The legacy callx form names the register in imm (dst 0).
      {"callx, legacy form, to an unknown helper",
       {{mov_k, 3, 0, 0, 99},
        {HU_CLS_JMP | HU_JMP_CALL | HU_SRC_X, 0, 0, 0, 3},
        {exit, 0, 0, 0, 0}},
       "callx through r3: unknown helper id 99: r3=99",
       1},
      {"legacy packet access",
       {{HU_CLS_LD | HU_MODE_ABS | HU_SIZE_W, 0, 0, 0, 0}, {exit, 0, 0, 0, 0}},
       "",
       0},
  };
  for (const Raw& c : table) {
    SCOPED_TRACE(c.name);
    Report r = RunOn(c.prog, HU_HOOK_MEM_RECLAIM);
    EXPECT_FALSE(r.accepted);
    EXPECT_NE(r.error.find(c.expect), std::string::npos) << r.error;
    EXPECT_EQ(r.error_pc, c.pc) << r.error;
  }
}

TEST(Limits, ProgramSize) {
  std::string text;
  for (int i = 0; i < 4095; i++) text += "mov %r0, " + std::to_string(i) + "\n";
  text += "exit\n";
  auto prog = Build(text);
  EXPECT_TRUE(RunOn(prog, HU_HOOK_MEM_RECLAIM).accepted);
  prog.insert(prog.begin(), prog[0]);
  Report r = RunOn(prog, HU_HOOK_MEM_RECLAIM);
  EXPECT_FALSE(r.accepted);
  EXPECT_NE(r.error.find("program has 4097 instructions, the limit is 4096"), std::string::npos)
      << r.error;
  Options opts;
  opts.hook = HU_HOOK_MEM_RECLAIM;
  opts.max_insns = 8192;  // an operator may raise it
  EXPECT_TRUE(Verify(prog, opts).accepted);
}

// The budget of instructions processed is what rejects a bounded loop that
// is too long: the message names the loop and the budget, and a larger
// budget (operator policy: verifier_budget) accepts it.
TEST(Limits, BudgetRejectsLongLoopsNamingThem) {
  auto loop = [](int n) {
    return Build(R"(
  mov %r0, 0
again:
  add %r0, 1
  jlt %r0, )" + std::to_string(n) +
                 R"(, again
  exit)");
  };
  Options opts;
  opts.hook = HU_HOOK_MEM_RECLAIM;
  EXPECT_EQ(opts.max_states, 1'000'000u);
  Report r = Verify(loop(8192), opts);
  EXPECT_TRUE(r.accepted) << r.error;
  EXPECT_EQ(r.r0.umin, 8192u);
  EXPECT_EQ(r.r0.umax, 8192u);
  opts.max_states = 500;
  r = Verify(loop(1000), opts);
  EXPECT_FALSE(r.accepted);
  EXPECT_NE(r.error.find("insn 1 `add %r0, 1`: loop not finished within the verifier's budget "
                         "of 500 instructions processed: it had run 24"),
            std::string::npos)
      << r.error;
  EXPECT_NE(r.error.find("back edge from insn 2"), std::string::npos) << r.error;
  EXPECT_NE(r.error.find("verifier_budget"), std::string::npos) << r.error;
  EXPECT_EQ(r.error_pc, 1);
  opts.max_states = 2500;
  EXPECT_TRUE(Verify(loop(1000), opts).accepted);
  // Without a loop, the budget names the program.
  std::string straight;
  for (int i = 0; i < 600; i++) straight += "mov %r0, " + std::to_string(i) + "\n";
  opts.max_states = 500;
  r = Verify(Build(straight + "exit\n"), opts);
  EXPECT_FALSE(r.accepted);
  EXPECT_NE(r.error.find("program too complex: the verifier's budget of 500 instructions"),
            std::string::npos)
      << r.error;
}

TEST(Limits, Time) {
  auto prog = Build(R"(
  mov %r0, 0
again:
  add %r0, 1
  jlt %r0, 60000, again
  exit)");
  Options opts;
  opts.hook = HU_HOOK_MEM_RECLAIM;
  opts.time_limit = std::chrono::milliseconds(0);
  Report r = Verify(prog, opts);
  EXPECT_FALSE(r.accepted);
  EXPECT_NE(
      r.error.find("loop not finished within the verification time limit of 0 ms of CPU time"),
      std::string::npos)
      << r.error;
}

std::vector<Safe> SafeTable() {
  return {
      {"callx of a helper id known as a constant", R"(
  mov %r2, 8
  call %r2
  exit)"},
      {"bounded loop", R"(
  mov %r0, 0
  mov %r1, 0
again:
  add %r0, %r1
  add %r1, 1
  jlt %r1, 100, again
  exit)"},
      {"loop bounded by a context field", R"(
  ldxw %r2, [%r1+28]
  and %r2, 63
  mov %r0, 0
again:
  jge %r0, %r2, done
  add %r0, 1
  ja again
done:
  exit)"},
      {"loop indexing a map value", L(R"(
  jeq %r0, 0, out
  mov %r6, 0
  mov %r7, 0
again:
  mov %r1, %r0
  add %r1, %r6
  ldxb %r2, [%r1+0]
  add %r7, %r2
  add %r6, 1
  jlt %r6, 16, again
  mov %r0, %r7
  exit
out:
  mov %r0, 0
  exit)")},
      {"nested loops (100 x 100 iterations)", R"(
  mov %r0, 0
  mov %r1, 0
outer:
  mov %r2, 0
inner:
  add %r0, 1
  add %r2, 1
  jlt %r2, 100, inner
  add %r1, 1
  jlt %r1, 100, outer
  exit)"},
      {"32-bit subregister bounds a 64-bit index", C(R"(
  jeq %r0, 0, out
  ldxdw %r6, [%r9+0]
  mov32 %r6, %r6
  jgt32 %r6, 15, out
  add %r0, %r6
  ldxb %r0, [%r0+0]
  exit
out:
  mov %r0, 0
  exit)")},
      {"32-bit ops keep the upper half zero", C(R"(
  jeq %r0, 0, out
  ldxdw %r6, [%r9+0]
  and32 %r6, 0xf
  add32 %r6, 0
  lsh32 %r6, 0
  add %r0, %r6
  ldxb %r0, [%r0+0]
  exit
out:
  mov %r0, 0
  exit)")},
      {"signed 32-bit check and sign extension", C(R"(
  jeq %r0, 0, out
  ldxw %r6, [%r9+24]
  jslt32 %r6, 0, out
  jsgt32 %r6, 8, out
  add %r0, %r6
  ldxdw %r0, [%r0+0]
  exit
out:
  mov %r0, 0
  exit)")},
      {"spill and fill of pointers", C(R"(
  stxdw [%r10-16], %r0
  stxdw [%r10-24], %r9
  ldxdw %r6, [%r10-16]
  jeq %r6, 0, out
  ldxdw %r1, [%r10-24]
  ldxdw %r2, [%r9+0]
  stxdw [%r6+8], %r2
  ldxdw %r0, [%r6+8]
  exit
out:
  mov %r0, 0
  exit)")},
      {"branch-correlated null check through a copy", L(R"(
  mov %r6, %r0
  mov %r7, %r0
  jne %r7, 0, use
  mov %r0, 0
  exit
use:
  ldxdw %r0, [%r6+0]
  exit)")},
      {"null check on a spilled copy", L(R"(
  stxdw [%r10-16], %r0
  jeq %r0, 0, out
  ldxdw %r1, [%r10-16]
  ldxdw %r0, [%r1+8]
  exit
out:
  mov %r0, 0
  exit)")},
      {"division by a possibly-zero register", R"(
  ldxdw %r2, [%r1+0]
  mov %r0, 100
  div %r0, %r2
  mod %r0, %r2
  exit)"},
      {"map update from the stack", R"(
  stdw [%r10-8], 7
  stdw [%r10-16], 42
  lddw %r1, map[1]
  mov %r2, %r10
  add %r2, -8
  mov %r3, %r10
  add %r3, -16
  mov %r4, 0
  call 2
  exit)"},
      {"read guest memory into the stack, bounded size", R"(
  ldxdw %r3, [%r1+8]
  ldxw %r2, [%r1+24]
  and %r2, 31
  add %r2, 1
  mov %r1, %r10
  add %r1, -32
  call 5
  ldxb %r0, [%r10-32]
  exit)"},
      {"vcpu state into the stack", R"(
  mov %r1, 0
  mov %r2, %r10
  add %r2, -64
  mov %r3, 64
  call 9
  ldxdw %r0, [%r10-64]
  exit)",
       HU_HOOK_SCHED_PREEMPT},
      {"write_gva where the hook allows it", R"(
  ldxdw %r1, [%r1+8]
  stdw [%r10-8], 0
  mov %r2, %r10
  add %r2, -8
  mov %r3, 8
  call 6
  mov %r0, 0
  exit)",
       HU_HOOK_TLB_FLUSH},
      {"trace output of a context field", R"(
  ldxdw %r2, [%r1+16]
  stxdw [%r10-8], %r2
  mov %r1, %r10
  add %r1, -8
  mov %r2, 8
  call 7
  mov %r0, 0
  exit)",
       HU_HOOK_TRACE_EXIT},
      {"local call with a stack pointer argument", R"(
  mov %r1, %r10
  add %r1, -8
  call local fill
  ldxdw %r0, [%r10-8]
  exit
fill:
  stdw [%r1+0], 5
  mov %r0, 0
  exit)"},
      {"atomics on the stack and a map value", L(R"(
  jeq %r0, 0, out
  mov %r1, 1
  lock add [%r0+0], %r1
  stdw [%r10-16], 0
  lock fetch add [%r10-16], %r1
  mov %r0, %r1
  exit
out:
  mov %r0, 0
  exit)")},
      {"pointer difference within the stack", R"(
  mov %r2, %r10
  add %r2, -16
  mov %r0, %r10
  sub %r0, %r2
  exit)"},
      {"signed loads and v4 ALU", R"(
  ldxw %r2, [%r1+24]
  ldxsh %r4, [%r1+28]
  movsx864 %r3, %r2
  sdiv %r3, 3
  smod %r3, 2
  bswap32 %r2
  be16 %r2
  sdiv32 %r4, %r3
  mov %r0, %r3
  exit)"},
      {"bounds check on a copy bounds the original", C(R"(
  jeq %r0, 0, out
  ldxdw %r6, [%r9+0]
  mov %r7, %r6
  jgt %r7, 8, out
  add %r0, %r6
  ldxdw %r0, [%r0+0]
  exit
out:
  mov %r0, 0
  exit)")},
      {"every hook's context", R"(
  ldxdw %r0, [%r1+0]
  exit)",
       HU_HOOK_MEM_PROTECT},
  };
}

TEST(SafeTable, EachIsAccepted) {
  for (const Safe& c : SafeTable()) ExpectAccepted(c);
}

TEST(Results, R0RangeIsComputed) {
  auto prog = Build(R"(
  ldxw %r0, [%r1+28]
  and %r0, 3
  add %r0, 10
  exit)");
  Report r = RunOn(prog, HU_HOOK_MEM_RECLAIM);
  ASSERT_TRUE(r.accepted) << r.error;
  EXPECT_EQ(r.r0.umin, 10u);
  EXPECT_EQ(r.r0.umax, 13u);
}

TEST(Log, LevelTwoDumpsTheStateAtEveryInstruction) {
  auto prog = Build(R"(
  mov %r0, 1
  add %r0, 2
  exit)");
  Options opts;
  opts.hook = HU_HOOK_MEM_RECLAIM;
  opts.log_level = 2;
  Report r = Verify(prog, opts);
  ASSERT_TRUE(r.accepted) << r.error;
  EXPECT_NE(r.log.find("0: mov %r0, 1 ; r1=ctx+0 r10=fp+0"), std::string::npos) << r.log;
  EXPECT_NE(r.log.find("2: exit ; r0=3 r1=ctx+0 r10=fp+0"), std::string::npos) << r.log;
  opts.log_level = 0;
  EXPECT_TRUE(Verify(prog, opts).log.empty());
}

TEST(Log, IsCappedForLongAnalyses) {
  auto prog = Build(R"(
  mov %r0, 0
  mov %r1, 0
outer:
  mov %r2, 0
inner:
  add %r0, 1
  add %r2, 1
  jlt %r2, 40, inner
  add %r1, 1
  jlt %r1, 4000, outer
  exit)");
  Options opts;
  opts.hook = HU_HOOK_MEM_RECLAIM;
  opts.log_level = 2;
  opts.time_limit = std::chrono::minutes(10);  // slow machines and sanitizers
  Report r = Verify(prog, opts);
  EXPECT_TRUE(r.accepted) << r.error;
  EXPECT_LT(r.log.size(), 17u << 20);
  EXPECT_NE(r.log.find("... log truncated at 16 MiB"), std::string::npos);
}

TEST(Maps, DefinitionsAreChecked) {
  auto prog = Build("mov %r0, 0\nexit\n");
  struct {
    hu_map_def def;
    const char* expect;
  } bad[] = {
      {{9, 4, 8, 1}, "map 0: unknown type 9"},
      {{HU_MAP_HASH, 0, 8, 1}, "map 0: key_size 0 outside [1, 64]"},
      {{HU_MAP_ARRAY, 8, 8, 1}, "map 0: array maps have 4-byte keys, not 8"},
      {{HU_MAP_HASH, 8, 5000, 1}, "map 0: value_size 5000 outside [1, 4096]"},
      {{HU_MAP_HASH, 8, 8, 0}, "map 0: max_entries 0 outside [1, 65536]"},
  };
  for (const auto& b : bad) {
    Options opts;
    opts.hook = HU_HOOK_MEM_RECLAIM;
    opts.maps = {b.def};
    Report r = Verify(prog, opts);
    EXPECT_FALSE(r.accepted);
    EXPECT_EQ(r.error, b.expect);
  }
}

TEST(Maps, DirectValueAddress) {
  auto ok = Build("lddw %r1, map_value[0]+8\nldxdw %r0, [%r1+0]\nexit\n");
  EXPECT_TRUE(RunOn(ok, HU_HOOK_MEM_RECLAIM).accepted);
  auto past = Build("lddw %r1, map_value[0]+16\nldxdw %r0, [%r1+0]\nexit\n");
  Report r = RunOn(past, HU_HOOK_MEM_RECLAIM);
  EXPECT_FALSE(r.accepted);
  EXPECT_NE(r.error.find("is past value_size 16"), std::string::npos) << r.error;
  auto hash = Build("lddw %r1, map_value[1]+0\nldxdw %r0, [%r1+0]\nexit\n");
  r = RunOn(hash, HU_HOOK_MEM_RECLAIM);
  EXPECT_FALSE(r.accepted);
  EXPECT_NE(r.error.find("needs an array map"), std::string::npos) << r.error;
}

TEST(Hooks, UnknownHookIsRejected) {
  auto prog = Build("mov %r0, 0\nexit\n");
  Report r = RunOn(prog, HU_HOOK_NONE);
  EXPECT_FALSE(r.accepted);
  EXPECT_EQ(r.error, "unknown hook id 0");
}

TEST(Hooks, NamesRoundTrip) {
  for (int h = HU_HOOK_NONE + 1; h < HU_HOOK_MAX; h++)
    EXPECT_EQ(HookFromName(HookName(static_cast<hu_hook_id>(h))), h);
  EXPECT_EQ(HookFromName("nope"), HU_HOOK_NONE);
}

}  // namespace
}  // namespace hu::verifier
