// The three classes of unsoundness hostile programs went after, each with
// the unsafe shapes that must be rejected and the safe neighbours that must
// still be accepted:
//  - what helpers write into a program's buffers (every byte the verifier
//    takes as written is written on every path, failure included);
//  - arithmetic and comparisons between two pointers (only inside one
//    object, or the host's layout leaks);
//  - identities across merged paths (a NULL check of one register resolves
//    another only where both paths promise they are equal);
// and the comparisons of a pointer with 0 that cannot leak.
#include <gtest/gtest.h>

#include "table.hpp"

namespace hu::verifier {
namespace {

using namespace table;

// ---------------------------------------------------------------------
// Helper effects.
// ---------------------------------------------------------------------

// r1 = fp-16 for read_gva's buffer, with the size in r2 and gva 0 in r3.
const char* kReadGva16 = R"(
  mov %r1, %r10
  add %r1, -16
  mov %r3, 0
  call 4
)";

TEST(HelperEffects, UnsafeShapesAreRejected) {
  const std::vector<Case> cases = {
      {"vcpu_state asked for more than struct hu_vcpu_state", R"(
  mov %r1, 0
  mov %r2, %r10
  add %r2, -128
  mov %r3, 128
  call 9
  ldxdw %r0, [%r10-8]
  exit)",
       "size r3 (argument 3 of vcpu_state) may be up to 128, more than 64", 4},
      {"read_gva of a variable size: bytes past the smallest size are not written", R"(
  ldxdw %r2, [%r1+0]
  and %r2, 15
  add %r2, 1
)" + std::string(kReadGva16) + R"(
  ldxdw %r0, [%r10-8]
  exit)",
       "fp-8 is read before it is written (insn 6 writes at a variable offset", 7},
      {"read_gva at a variable offset: no byte is surely written", R"(
  ldxdw %r6, [%r1+0]
  and %r6, 8
  mov %r1, %r10
  add %r1, -24
  add %r1, %r6
  mov %r2, 8
  mov %r3, 0
  call 4
  ldxdw %r0, [%r10-24]
  exit)",
       "fp-24 is read before it is written (insn 7 writes at a variable offset", 8},
      {"a helper overwrites a spilled pointer: the fill is a number", R"(
  stxdw [%r10-16], %r1
  mov %r2, 8
)" + std::string(kReadGva16) + R"(
  ldxdw %r1, [%r10-16]
  ldxdw %r0, [%r1+0]
  exit)",
       "dereference of a scalar", 7},
      {"a helper overwrites half a spilled pointer: the rest is unreadable", R"(
  stxdw [%r10-8], %r1
  mov %r2, 8
  mov %r1, %r10
  add %r1, -12
  mov %r3, 0
  call 4
  ldxdw %r0, [%r10-8]
  exit)",
       "fp-4 is read before it is written", 6},
      {"trace_output of a buffer with a spilled pointer in it", R"(
  stxdw [%r10-8], %r1
  mov %r1, %r10
  add %r1, -8
  mov %r2, 8
  call 7
  mov %r0, 0
  exit)",
       "trace_output argument r1 reads part of a spilled pointer at fp-8", 4, HU_HOOK_TRACE_EXIT},
      {"trace_output of a size that may run past the record limit", R"(
  ldxdw %r2, [%r1+8]
  and %r2, 511
  mov %r1, %r10
  add %r1, -512
  call 7
  mov %r0, 0
  exit)",
       "may be up to 511, more than 256", 4, HU_HOOK_TRACE_EXIT},
      {"map_update_elem of a value not fully written", R"(
  stw [%r10-4], 0
  stw [%r10-16], 1
  lddw %r1, map[0]
  mov %r2, %r10
  add %r2, -4
  mov %r3, %r10
  add %r3, -20
  mov %r4, 0
  call 2
  mov %r0, 0
  exit)",
       "map_update_elem argument r3 reads uninitialised stack: fp-20", 9},
  };
  for (const Case& c : cases) ExpectRejected(c);
}

TEST(HelperEffects, WhatEveryPathWritesIsReadable) {
  const std::vector<Safe> cases = {
      // The helper zeroes the buffer when it fails: all 64 bytes count.
      {"vcpu_state fills every byte it was given", R"(
  ldxw %r1, [%r1+24]
  mov %r2, %r10
  add %r2, -64
  mov %r3, 64
  call 9
  ldxdw %r0, [%r10-64]
  ldxdw %r1, [%r10-8]
  add %r0, %r1
  exit)"},
      {"read_gva of a variable size: the smallest size is written", R"(
  ldxdw %r2, [%r1+0]
  and %r2, 7
  add %r2, 8
)" + std::string(kReadGva16) + R"(
  ldxdw %r0, [%r10-16]
  exit)"},
      // Offsets -16 or -15, 8 bytes: [-15, -8) is written either way.
      {"read_gva at a variable offset: what every offset covers is written", R"(
  ldxdw %r6, [%r1+0]
  and %r6, 1
  mov %r1, %r10
  add %r1, -16
  add %r1, %r6
  mov %r2, 8
  mov %r3, 0
  call 4
  ldxw %r0, [%r10-12]
  exit)"},
  };
  for (const Safe& c : cases) ExpectAccepted(c);
}

// The rest of a hostile guest's repertoire, one shape each: stale bytes in
// every frame, pointers out through every channel, bounds only a 32-bit
// view knows, a callee's frame escaping.
TEST(HostileShapes, AreRejected) {
  const std::vector<Case> cases = {
      {"a slot written on one path only", R"(
  ldxdw %r2, [%r1+0]
  jeq %r2, 0, skip
  stdw [%r10-8], 1
skip:
  ldxdw %r0, [%r10-8]
  exit)",
       "fp-8 is read before it is written", 3},
      {"a callee's fresh frame holds its caller's old bytes", R"(
  stdw [%r10-8], 7
  call local f
  exit
f:
  ldxdw %r0, [%r10-8]
  exit)",
       "fp-8 is read before it is written", 3},
      {"a pointer into a map through map_update_elem's value", R"(
  stw [%r10-4], 0
  stxdw [%r10-16], %r10
  lddw %r1, map[1]
  mov %r2, %r10
  add %r2, -16
  mov %r3, %r10
  add %r3, -16
  mov %r4, 0
  call 2
  mov %r0, 0
  exit)",
       "map_update_elem argument r2 reads part of a spilled pointer at fp-16", 9},
      {"half a pointer through a narrow store", R"(
  stxw [%r10-8], %r10
  mov %r0, 0
  exit)",
       "a narrow store of a pointer would leak part of its address", 0},
      {"half a spilled pointer through a narrow load", R"(
  stxdw [%r10-8], %r1
  ldxw %r0, [%r10-8]
  exit)",
       "read of part of a spilled pointer at fp-8 as data would leak its address", 1},
      {"a pointer through a 32-bit add", R"(
  add32 %r1, 0
  mov %r0, %r1
  exit)",
       "32-bit arithmetic on a pointer would leak its address", 0},
      {"a pointer's bits through a shift", R"(
  mov %r0, %r10
  rsh %r0, 63
  exit)",
       "pointer arithmetic with 'rsh' would leak the address", 1},
      {"a helper size bounded only in its 32-bit view", R"(
  ldxdw %r2, [%r1+0]
  jgt32 %r2, 8, out
  mov %r1, %r10
  add %r1, -8
  mov %r3, 0
  call 4
out:
  mov %r0, 0
  exit)",
       "size r2 (argument 2 of read_gva) may be up to", 5},
      {"a callee's frame pointer stored into its caller's stack", R"(
  mov %r1, %r10
  add %r1, -8
  call local f
  mov %r0, 0
  exit
f:
  stxdw [%r1+0], %r10
  mov %r0, 0
  exit)",
       "storing a pointer to a callee's stack into its caller's stack", 5},
      {"a callee's frame pointer returned", R"(
  call local f
  mov %r0, 0
  exit
f:
  mov %r0, %r10
  add %r0, -8
  exit)",
       "returning a pointer to the callee's own stack", 5},
      {"a loop stepping over its bound", R"(
  mov %r0, 0
  mov %r6, 0
again:
  add %r6, 2
  jne %r6, 7, again
  exit)",
       "loop not finished within the ", 2},
  };
  for (const Case& c : cases) ExpectRejected(c);
}

// ---------------------------------------------------------------------
// Pointer - pointer and pointer <-> pointer.
// ---------------------------------------------------------------------

// Two lookups of map 0, keys 0 and 1, both checked: r6 and r7.
const char* kTwoLookups = R"(
  stw [%r10-4], 0
  mov %r2, %r10
  add %r2, -4
  lddw %r1, map[0]
  call 1
  jeq %r0, 0, out
  mov %r6, %r0
  stw [%r10-4], 1
  mov %r2, %r10
  add %r2, -4
  lddw %r1, map[0]
  call 1
  jeq %r0, 0, out
  mov %r7, %r0
)";

std::string Two(const char* body) {
  return std::string(kTwoLookups) + body + "\nout:\n  mov %r0, 0\n  exit\n";
}

TEST(PointerPairs, AcrossObjectsAreRejected) {
  const std::vector<Case> cases = {
      {"difference of two lookups' values", Two(R"(
  sub %r7, %r6
  mov %r0, %r7
  exit)"),
       "difference of pointers into different objects would leak where the host placed them", 16},
      {"difference of two lookups stored in a map value", Two(R"(
  mov %r1, %r7
  sub %r1, %r6
  stxdw [%r6+0], %r1
  mov %r0, 0
  exit)"),
       "difference of pointers into different objects", 17},
      {"order of two lookups' values", Two(R"(
  jgt %r7, %r6, out
  mov %r0, 1
  exit)"),
       "comparison of pointers into different objects", 16},
      {"equality of two lookups' values", Two(R"(
  jeq %r7, %r6, out
  mov %r0, 1
  exit)"),
       "comparison of pointers into different objects", 16},
      {"a lookup's value minus the map's direct value", L(R"(
  jeq %r0, 0, out
  lddw %r1, map_value[0]+0
  sub %r0, %r1
  exit
out:
  mov %r0, 0
  exit)"),
       "difference of pointers into different objects", 9},
      // The same site in two iterations: the second result is another
      // element; the first loses the identity it had.
      {"one lookup site, two iterations", R"(
  mov %r8, 0
  mov %r6, 0
again:
  stw [%r10-4], 0
  stxw [%r10-4], %r8
  mov %r2, %r10
  add %r2, -4
  lddw %r1, map[0]
  call 1
  jeq %r0, 0, out
  jeq %r8, 1, diff
  mov %r6, %r0
  add %r8, 1
  ja again
diff:
  sub %r0, %r6
  exit
out:
  mov %r0, 0
  exit)",
       "difference of pointers into different objects", 14},
      // Paths that looked up different elements merge: no identity left.
      {"values of different lookups merged", C(R"(
  jeq %r0, 0, out
  mov %r6, %r0
  ldxdw %r1, [%r9+0]
  jeq %r1, 0, other
  lddw %r6, map_value[0]+8
other:
  sub %r6, %r0
  mov %r0, %r6
  exit
out:
  mov %r0, 0
  exit)"),
       "difference of pointers into different objects", 13},
      {"a caller's stack minus the callee's", R"(
  mov %r1, %r10
  call local f
  exit
f:
  mov %r0, %r1
  sub %r0, %r10
  exit)",
       "difference of pointers into different objects", 4},
      {"the context minus the stack", R"(
  mov %r0, %r1
  sub %r0, %r10
  exit)",
       "difference of pointers into different objects", 1},
  };
  for (const Case& c : cases) ExpectRejected(c);
}

TEST(PointerPairs, InsideOneObjectAreOffsets) {
  const std::vector<Safe> cases = {
      {"two pointers into one lookup result", L(R"(
  jeq %r0, 0, out
  mov %r6, %r0
  add %r6, 8
  sub %r6, %r0
  mov %r0, %r6
  exit
out:
  mov %r0, 8
  exit)")},
      {"compared inside one lookup result", L(R"(
  jeq %r0, 0, out
  mov %r6, %r0
  add %r6, 8
  jgt %r6, %r0, out
  mov %r0, 1
  exit
out:
  mov %r0, 8
  exit)")},
      {"copies of one result checked on one path only", C(R"(
  mov %r6, %r0
  mov %r7, %r0
  ldxdw %r1, [%r9+0]
  jeq %r1, 0, join
  jeq %r6, 0, out
join:
  jeq %r6, 0, out
  mov %r0, %r7
  sub %r0, %r6
  exit
out:
  mov %r0, 0
  exit)")},
      {"two direct values of one array map", R"(
  lddw %r1, map_value[0]+12
  lddw %r2, map_value[0]+4
  sub %r1, %r2
  mov %r0, %r1
  exit)"},
      {"two stack pointers of one frame", R"(
  mov %r1, %r10
  add %r1, -64
  mov %r0, %r10
  sub %r0, %r1
  exit)"},
  };
  for (const Safe& c : cases) {
    Report r = ExpectAccepted(c);
    if (r.accepted && std::string(c.name).starts_with("two")) {
      EXPECT_TRUE(r.r0.umin == r.r0.umax) << c.name << ": a difference of offsets is known";
    }
  }
}

// ---------------------------------------------------------------------
// Identities across merged paths.
// ---------------------------------------------------------------------

TEST(Joins, OneSidedPromisesDoNotSurvive) {
  const std::vector<Case> cases = {
      // r6 and r7 are copies of one maybe-NULL result. On one path r6 is
      // replaced by a non-NULL pointer, on the other r7: after the merge,
      // r6 != 0 says nothing about r7.
      {"a NULL check of one register resolves another after a merge", C(R"(
  mov %r6, %r0
  mov %r7, %r0
  ldxdw %r1, [%r9+0]
  jeq %r1, 0, b
  lddw %r6, map_value[0]+0
  ja join
b:
  lddw %r7, map_value[0]+0
join:
  jeq %r6, 0, out
  ldxb %r0, [%r7+0]
  exit
out:
  mov %r0, 0
  exit)"),
       "possible NULL dereference", 17},
      // The same through the stack.
      {"a spilled copy resolved by a check of a register merged from another path", C(R"(
  stxdw [%r10-16], %r0
  mov %r6, %r0
  ldxdw %r1, [%r9+0]
  jeq %r1, 0, b
  lddw %r6, map_value[0]+0
  ja join
b:
  lddw %r2, map_value[0]+0
  stxdw [%r10-16], %r2
join:
  jeq %r6, 0, out
  ldxdw %r7, [%r10-16]
  ldxb %r0, [%r7+0]
  exit
out:
  mov %r0, 0
  exit)"),
       "possible NULL dereference", 19},
      // Two lookups: one path checks r6 and keeps r7 unchecked, the other
      // swaps them. A check of r6 after the merge must not clear r7.
      {"checked on one path, unchecked on the other", C(R"(
  mov %r6, %r0
  stw [%r10-4], 1
  mov %r2, %r10
  add %r2, -4
  lddw %r1, map[0]
  call 1
  mov %r7, %r0
  ldxdw %r1, [%r9+0]
  jeq %r1, 0, b
  jeq %r6, 0, out
  ja join
b:
  mov %r1, %r6
  mov %r6, %r7
  mov %r7, %r1
join:
  jeq %r6, 0, out
  ldxb %r0, [%r7+0]
  exit
out:
  mov %r0, 0
  exit)"),
       "possible NULL dereference", 23},
      // A scalar bound learned on a copy: only registers that are copies on
      // every path share it.
      {"a bound on one register does not reach a merged non-copy", C(R"(
  jeq %r0, 0, out
  ldxdw %r6, [%r9+0]
  ldxdw %r8, [%r9+8]
  mov %r7, %r6
  ldxdw %r1, [%r9+16]
  jeq %r1, 0, join
  mov %r7, %r8
join:
  jgt %r6, 15, out
  add %r0, %r7
  ldxb %r0, [%r0+0]
  exit
out:
  mov %r0, 0
  exit)"),
       "pointer arithmetic with an unbounded scalar r7", 15},
  };
  for (const Case& c : cases) ExpectRejected(c);
}

TEST(Joins, PromisesBothPathsKeepSurvive) {
  const std::vector<Safe> cases = {
      {"copies that are copies on every path stay resolved together", C(R"(
  mov %r6, %r0
  mov %r7, %r0
  ldxdw %r1, [%r9+0]
  jeq %r1, 0, join
  jeq %r6, 0, out
join:
  jeq %r6, 0, out
  ldxb %r0, [%r7+0]
  exit
out:
  mov %r0, 0
  exit)")},
      {"a scalar copy on every path is bounded with its original", C(R"(
  jeq %r0, 0, out
  ldxdw %r6, [%r9+0]
  mov %r7, %r6
  ldxdw %r1, [%r9+16]
  jeq %r1, 0, join
  mov %r8, 1
join:
  jgt %r6, 15, out
  add %r0, %r7
  ldxb %r0, [%r0+0]
  exit
out:
  mov %r0, 0
  exit)")},
  };
  for (const Safe& c : cases) ExpectAccepted(c);
}

// ---------------------------------------------------------------------
// A pointer compared with 0.
// ---------------------------------------------------------------------

TEST(PointerAndZero, UnsignedConditionsAreNullChecksOrConstant) {
  const std::vector<Safe> cases = {
      {"p <= 0 is p == 0", L(R"(
  jle %r0, 0, out
  ldxb %r0, [%r0+0]
  exit
out:
  mov %r0, 0
  exit)")},
      {"p > 0 is p != 0", L(R"(
  jgt %r0, 0, deref
  mov %r0, 0
  exit
deref:
  ldxb %r0, [%r0+0]
  exit)")},
      {"0 < p, with 0 in a register", L(R"(
  mov %r2, 0
  jlt %r2, %r0, deref
  mov %r0, 0
  exit
deref:
  ldxb %r0, [%r0+0]
  exit)")},
      {"a stack pointer < 0 never holds, >= 0 always does", R"(
  mov %r0, 0
  jlt %r10, 0, bad
  jge %r10, 0, good
bad:
  ldxdw %r0, [%r10+8]
good:
  exit)"},
  };
  for (const Safe& c : cases) ExpectAccepted(c);
}

TEST(PointerAndZero, LeakingOrUncheckingConditionsAreRejected) {
  const std::vector<Case> cases = {
      {"signed p < 0 tells the address's top bit", L(R"(
  jslt %r0, 0, out
  mov %r0, 1
  exit
out:
  mov %r0, 0
  exit)"),
       "signed comparison of pointer r0 with 0 would leak its address's top bit", 6},
      {"signed p <= 0 as well", R"(
  mov %r0, 0
  jsle %r10, 0, out
  mov %r0, 1
out:
  exit)",
       "signed comparison of pointer r10 with 0", 1},
      {"p < 0 checks nothing", L(R"(
  jlt %r0, 0, out
  ldxb %r0, [%r0+0]
  exit
out:
  mov %r0, 0
  exit)"),
       "possible NULL dereference", 7},
      {"p >= 0 checks nothing", L(R"(
  jge %r0, 0, deref
  mov %r0, 0
  exit
deref:
  ldxb %r0, [%r0+0]
  exit)"),
       "possible NULL dereference", 9},
      {"p > 1 compares with a number", L(R"(
  jgt %r0, 1, out
  mov %r0, 0
out:
  exit)"),
       "comparing pointer r0 with a scalar other than 0 would leak its address", 6},
  };
  for (const Case& c : cases) ExpectRejected(c);
}

// ---------------------------------------------------------------------
// Stack writes at a variable offset.
// ---------------------------------------------------------------------

TEST(VariableOffsetStackWrites, InitialiseWhatEveryOffsetCovers) {
  // Offsets -16 or -15, 8 bytes: [-15, -8) is written either way.
  ExpectAccepted({"what every offset covers", R"(
  ldxdw %r6, [%r1+0]
  and %r6, 1
  mov %r7, %r10
  add %r7, %r6
  stdw [%r7-16], 0
  ldxw %r0, [%r10-12]
  exit)"});
  // Offsets -16 or -8 (known bits: a multiple of 8): the bytes in between
  // are never touched, so reading them after writing them is fine.
  ExpectAccepted({"only the offsets the known bits allow", R"(
  stdw [%r10-16], 0
  stdw [%r10-8], 0
  stw [%r10-24], 0
  ldxdw %r6, [%r1+0]
  and %r6, 8
  mov %r7, %r10
  add %r7, %r6
  stw [%r7-16], 1
  ldxw %r0, [%r10-12]
  ldxw %r1, [%r10-24]
  add %r0, %r1
  exit)"});
}

TEST(VariableOffsetStackWrites, SayWhyTheyDoNotInitialise) {
  ExpectRejected({"a variable-offset write leaves what it may miss unwritten", R"(
  ldxdw %r6, [%r1+0]
  and %r6, 8
  mov %r7, %r10
  add %r7, %r6
  stdw [%r7-16], 0
  ldxdw %r0, [%r10-16]
  exit)",
                  "read of uninitialised stack: fp-16 is read before it is written (insn 4 "
                  "writes at a variable offset that may not reach it",
                  5});
  ExpectRejected({"a variable-offset write over a spilled pointer", R"(
  stxdw [%r10-16], %r1
  ldxdw %r6, [%r1+0]
  and %r6, 8
  mov %r7, %r10
  add %r7, %r6
  stdw [%r7-16], 0
  ldxdw %r1, [%r10-16]
  ldxdw %r0, [%r1+0]
  exit)",
                  "fp-16 is read before it is written", 6});
}

}  // namespace
}  // namespace hu::verifier
