// The run-time checks the JIT leaves out, and where it must not. An access
// through a register the same basic block set to r10 + c is checked when
// translated, like one through r10; every other access keeps its run-time
// check. An image with no run-time check at all does not need the region
// table (hu_jit_image.needs_regions), which is how these tests see whether
// a check was emitted. Every program also runs in both engines, which must
// agree on r0, the error and its pc. JitStackHint: reads through a
// pointer derived from r10 compare with the stack before the context; the
// order must never change an outcome.
#include <gtest/gtest.h>

#include <array>
#include <string>
#include <string_view>
#include <vector>

#include "hyperupcall/asm.hpp"
#include "hyperupcall/interp.h"
#include "hyperupcall/jit.hpp"

namespace {

uint64_t Add(hu_run*, uint64_t a, uint64_t b, uint64_t, uint64_t, uint64_t) { return a + b; }

const std::array<hu_helper_fn, 2> kHelpers{nullptr, Add};

struct Outcome {
  int err;
  uint32_t err_pc;
  uint64_t r0;
};

struct Engines {
  std::vector<hu_insn> prog;
  hu::jit::Image img;
  bool checked;  // the image checks some access at run time
};

Engines Compile(std::string_view text) {
  auto p = hu::Assemble(text);
  if (!p.ok()) throw std::runtime_error(p.error().message);
  auto img = hu::jit::Image::Compile(*p, kHelpers.data(), kHelpers.size());
  if (!img.ok()) throw std::runtime_error(img.error().message);
  bool checked = img->image().needs_regions != 0;
  return Engines{std::move(*p), std::move(*img), checked};
}

// Run-time checks on the fast path in the image: each ends with
// `cmovae r10, r12` (4d 0f 43 d4), which nothing else emits. The seed is
// fixed so that no blinded constant can spell it by chance.
std::string Code(std::string_view text) {
  auto p = hu::Assemble(text);
  if (!p.ok()) throw std::runtime_error(p.error().message);
  auto img = hu::jit::Image::Compile(*p, kHelpers.data(), kHelpers.size(), {.seed = 1});
  if (!img.ok()) throw std::runtime_error(img.error().message);
  return std::string(static_cast<const char*>(img->code()), img->code_size());
}

size_t FastChecks(std::string_view text) {
  std::string code = Code(text);
  size_t n = 0;
  for (size_t at = code.find("\x4d\x0f\x43\xd4"); at != std::string::npos;
       at = code.find("\x4d\x0f\x43\xd4", at + 1)) {
    ++n;
  }
  return n;
}

// A context of 16 bytes, registered as the first region as in a hook: r1
// points to it.
struct Ctx {
  uint64_t a = 40, b = 2;
};

Outcome Run(const Engines& e, bool jit) {
  alignas(16) std::array<uint8_t, HU_STACK_FRAME * HU_MAX_CALL_DEPTH> stack{};
  Ctx ctx;
  // A writable region, as a map value is in a hook: r2 points to it.
  static std::array<uint64_t, 2> value;
  value = {};
  std::array<hu_mem_region, 2> regions{{
      {reinterpret_cast<uintptr_t>(&ctx), sizeof ctx, 0, 0},
      {reinterpret_cast<uintptr_t>(value.data()), sizeof value, 1, 0},
  }};
  hu_run run{};
  run.regions = regions.data();
  run.nregions = regions.size();
  run.insns = e.prog.data();
  run.ninsns = static_cast<uint32_t>(e.prog.size());
  run.helpers = kHelpers.data();
  run.nhelpers = kHelpers.size();
  run.stack = stack.data();
  run.stack_size = stack.size();
  run.budget = 10'000;
  uint64_t r1 = reinterpret_cast<uintptr_t>(&ctx);
  uint64_t r2 = reinterpret_cast<uintptr_t>(value.data());
  int err = jit ? e.img.Run(&run, r1, r2, 0) : hu_interp_run(&run, r1, r2, 0);
  return {err, run.err_pc, run.r0};
}

// Both engines, the same outcome; returns it.
Outcome Same(const Engines& e) {
  Outcome i = Run(e, false), j = Run(e, true);
  EXPECT_EQ(i.err, j.err);
  EXPECT_EQ(i.err_pc, j.err_pc);
  EXPECT_EQ(i.r0, j.r0);
  return j;
}

// A program that ends with r0 in both engines, with (checked) or without
// a run-time check in its image.
void ExpectR0(std::string_view text, bool checked, uint64_t r0) {
  auto e = Compile(text);
  EXPECT_EQ(e.checked, checked);
  EXPECT_EQ(Same(e).r0, r0);
}

// A program whose access keeps its run-time check and faults there with
// HU_RUN_OOB_MEM at pc, in both engines.
void ExpectKeptAndFaults(std::string_view text, uint32_t pc) {
  auto e = Compile(text);
  EXPECT_TRUE(e.checked);
  Outcome o = Same(e);
  EXPECT_EQ(o.err, HU_RUN_OOB_MEM);
  EXPECT_EQ(o.err_pc, pc);
}

// Elided: the block moved r10 into r1 and added constants.
TEST(JitElide, FrameOffsetThroughAddAndSub) {
  ExpectR0(R"(
    mov %r1, %r10
    add %r1, -16
    stdw [%r1+0], 7
    stdw [%r1+8], 35
    sub %r1, 8
    ldxdw %r0, [%r1+8]
    ldxdw %r2, [%r1+16]
    add %r0, %r2
    exit
  )",
           false, 42);
}

// Elided: copies of a tracked register, and atomics through them.
TEST(JitElide, FrameOffsetThroughCopiesAndAtomics) {
  ExpectR0(R"(
    mov %r2, %r10
    mov %r3, %r2
    sub %r3, 8
    stdw [%r3+0], 40
    mov %r4, 2
    lock add [%r3+0], %r4
    ldxdw %r0, [%r2-8]
    exit
  )",
           false, 42);
}

// Kept: the offset is no longer a constant once a register is added.
TEST(JitElide, NotAfterAddingARegister) {
  ExpectR0(R"(
    mov %r2, 8
    mov %r1, %r10
    add %r1, -16
    add %r1, %r2
    stdw [%r1+0], 42
    ldxdw %r0, [%r10-8]
    exit
  )",
           true, 42);
}

// Kept: a 32-bit operation on the register (it truncates the address).
TEST(JitElide, NotAfterA32BitOperation) {
  ExpectKeptAndFaults(R"(
    mov %r1, %r10
    add32 %r1, -8
    stdw [%r1+0], 42
    mov %r0, 0
    exit
  )",
                      2);
}

// Kept: a jump target starts a new block (another path may reach it with
// anything in r1).
TEST(JitElide, NotAcrossAJumpTarget) {
  ExpectR0(R"(
    mov %r1, %r10
    add %r1, -8
    jeq %r3, 0, store
    mov %r1, 0
  store:
    stdw [%r1+0], 42
    ldxdw %r0, [%r10-8]
    exit
  )",
           true, 42);
}

// Kept: a loop's accesses through its induction pointer (the back edge
// enters the body with another offset each time). Its counter is set in
// another block, so the JIT cannot count its rounds (jit_test.cpp,
// JitCount: a counted one runs unchecked, or unrolled).
TEST(JitElide, NotInALoopBody) {
  ExpectR0(R"(
    mov %r2, 8
    ja start
  start:
    mov %r1, %r10
    add %r1, -64
  loop:
    stdw [%r1+0], 5
    add %r1, 8
    sub %r2, 1
    jne %r2, 0, loop
    ldxdw %r0, [%r10-8]
    exit
  )",
           true, 5);
}

// Kept: a helper leaves r0-r5 as it likes; here r0 is its result, 0, so
// the store faults at run time in both engines.
TEST(JitElide, NotAfterAHelperCall) {
  ExpectKeptAndFaults(R"(
    mov %r0, %r10
    add %r0, -8
    mov %r1, 0
    mov %r2, 0
    call 1
    stdw [%r0-8], 42
    exit
  )",
                      5);
}

// Kept: a callee gets the caller's frame pointer in r1; its own r10 is
// another frame, so the access is checked at run time (and is fine).
TEST(JitElide, NotInACalleeThroughTheCallersPointer) {
  ExpectR0(R"(
    mov %r1, %r10
    add %r1, -8
    call local fill
    ldxdw %r0, [%r10-8]
    exit
  fill:
    stdw [%r1+0], 42
    exit
  )",
           true, 42);
}

// Kept: a known offset outside the current frame is not proven; above
// the outermost frame there is no stack, and both engines say so.
TEST(JitElide, NotOutsideTheFrame) {
  ExpectKeptAndFaults(R"(
    mov %r1, %r10
    add %r1, 8
    ldxdw %r0, [%r1+0]
    exit
  )",
                      2);

  auto below = Compile(R"(
    mov %r1, %r10
    add %r1, -520
    ldxdw %r0, [%r1+0]
    exit
  )");
  EXPECT_TRUE(below.checked);
  Same(below);  // the frame below is in the stack buffer: both read it
}

// Kept: a load into the register replaces what the block knew.
TEST(JitElide, NotAfterALoadIntoIt) {
  ExpectKeptAndFaults(R"(
    mov %r1, %r10
    add %r1, -8
    stdw [%r1+0], 0
    ldxdw %r1, [%r1+0]
    stdw [%r1+0], 42
    exit
  )",
                      4);
}

// Reads through a pointer the dataflow finds derived from r10 on every
// path compare with the stack before the context (a hint only: these
// check that the order never changes an outcome). A loop's pointer into
// the stack, with the context registered first (the counters set in
// another block: rounds the JIT counts need no check, JitCount):
TEST(JitStackHint, LoopReadsThroughAStackPointer) {
  ExpectR0(R"(
    mov %r0, 0
    mov %r3, 8
    ja fill_start
  fill_start:
    mov %r2, %r10
    add %r2, -64
  fill:
    stxdw [%r2+0], %r3
    add %r2, 8
    sub %r3, 1
    jne %r3, 0, fill
    mov %r3, 8
    ja sum_start
  sum_start:
    mov %r2, %r10
    add %r2, -64
  sum:
    ldxdw %r4, [%r2+0]
    add %r0, %r4
    add %r2, 8
    sub %r3, 1
    jne %r3, 0, sum
    exit
  )",
           true, 36);
}

// A register that is the stack on one path and the context on the other:
// no hint, and both reads are right.
TEST(JitStackHint, PathsThatDisagree) {
  for (const char* pick : {"0", "1"}) {
    std::string text = std::string(R"(
      stdw [%r10-16], 7
      mov %r2, %r10
      add %r2, -16
      mov %r3, )") + pick +
                       R"(
      jeq %r3, 0, read
      mov %r2, %r1
    read:
      ldxdw %r0, [%r2+0]
      exit
    )";
    auto e = Compile(text);
    EXPECT_TRUE(e.checked);
    EXPECT_EQ(Same(e).r0, pick[0] == '0' ? 7u : 40u);
  }
}

// The context read through a pointer the hint calls a stack pointer (it
// was, then a register was added to it): the stack compare misses and the
// scan finds the context.
TEST(JitStackHint, WrongHintStillFindsTheRegion) {
  ExpectR0(R"(
    mov %r2, %r10
    mov %r3, %r1
    sub %r3, %r10
    add %r2, %r3
    ldxdw %r0, [%r2+8]
    exit
  )",
           true, 2);
}

// Writes through a pointer that is not the stack compare with the first
// writable region (the map value) first; a callee's writes through its
// caller's stack pointer with the stack (the hint follows the call).
TEST(JitStackHint, WritesToAMapValueAndThroughACallersStackPointer) {
  ExpectR0(R"(
    stdw [%r2+8], 5
    ldxdw %r0, [%r2+8]
    mov %r1, %r10
    add %r1, -8
    call local fill
    ldxdw %r3, [%r10-8]
    add %r0, %r3
    exit
  fill:
    stdw [%r1+0], 37
    exit
  )",
           true, 42);
}

// Read-modify-write: a load and a store a few instructions later through
// the same unchanged register at the same offset share one run-time check
// (the load's, against a writable region first). Whatever the check
// finds, the outcome is the interpreter's: a store the load's region does
// not allow still fails at the store's pc, an access outside every region
// at the load's.
TEST(JitPair, OneCheckForALoadAndItsStore) {
  const char* text = R"(
    ldxdw %r3, [%r2+8]
    add %r3, 41
    stxdw [%r2+8], %r3
    ldxdw %r0, [%r2+8]
    exit
  )";
  EXPECT_EQ(FastChecks(text), 2u);  // the pair's, the last load's
  ExpectR0(text, true, 41);
}

TEST(JitPair, NarrowerStoreAndSignExtendingLoad) {
  const char* text = R"(
    stdw [%r2+0], -2
    ldxsw %r3, [%r2+0]
    neg %r3
    stxb [%r2+0], %r3
    ldxdw %r0, [%r2+0]
    exit
  )";
  EXPECT_EQ(FastChecks(text), 3u);  // the first store, the pair, the load
  ExpectR0(text, true, 0xffffffffffffff02ull);
}

// The context is read-only: reached through a pointer the hint does not
// call the context's (an `and` drops it), the load passes and the store
// fails, at its own pc, as in the interpreter.
TEST(JitPair, StoreIntoAReadOnlyRegionFailsAtTheStore) {
  const char* text = R"(
    mov %r3, %r1
    and %r3, -1
    ldxdw %r4, [%r3+0]
    add %r4, 1
    stxdw [%r3+0], %r4
    mov %r0, 0
    exit
  )";
  EXPECT_EQ(FastChecks(text), 1u);
  auto e = Compile(text);
  Outcome o = Same(e);
  EXPECT_EQ(o.err, HU_RUN_READONLY);
  EXPECT_EQ(o.err_pc, 4u);
}

TEST(JitPair, OutsideEveryRegionFailsAtTheLoad) {
  const char* text = R"(
    mov %r3, %r2
    add %r3, 16
    ldxdw %r4, [%r3+0]
    add %r4, 1
    stxdw [%r3+0], %r4
    mov %r0, 0
    exit
  )";
  EXPECT_EQ(FastChecks(text), 1u);
  ExpectKeptAndFaults(text, 2);
}

// Through a stack pointer (the block that set it ended): the pair compares
// with the stack buffer.
TEST(JitPair, ThroughAStackPointer) {
  const char* text = R"(
    stdw [%r10-8], 4
    mov %r3, %r10
    add %r3, -8
    ja next
  next:
    ldxdw %r4, [%r3+0]
    mul %r4, 10
    stxdw [%r3+0], %r4
    ldxdw %r0, [%r10-8]
    exit
  )";
  EXPECT_EQ(FastChecks(text), 1u);
  ExpectR0(text, true, 40);
}

// Where the store keeps its own check: another offset, a wider store, the
// base changed, a jump target, a helper call or an instruction that needs
// r10 in between, or a context pointer (its region is read-only). The
// outcome is the same either way.
TEST(JitPair, NotWhenTheStoreIsNotCovered) {
  const char* cases[] = {
      "ldxdw %r3, [%r2+0]\n stxdw [%r2+8], %r3\n",
      "ldxw %r3, [%r2+0]\n stxdw [%r2+0], %r3\n",
      "ldxdw %r3, [%r2+0]\n add %r2, 0\n stxdw [%r2+0], %r3\n",
      "ldxdw %r3, [%r2+0]\n ja l\n l: stxdw [%r2+0], %r3\n",
      "ldxdw %r3, [%r2+0]\n mov %r6, %r2\n call 1\n stxdw [%r6+0], %r3\n",
      "ldxdw %r3, [%r2+0]\n lsh %r3, %r3\n stxdw [%r2+0], %r3\n",
      "ldxdw %r3, [%r2+0]\n div %r3, 3\n stxdw [%r2+0], %r3\n",
      "ldxdw %r3, [%r2+0]\n and %r3, 0x12345\n stxdw [%r2+0], %r3\n",
      "ldxdw %r3, [%r2+0]\n ldxdw %r4, [%r1+0]\n stxdw [%r2+0], %r3\n",
  };
  for (const char* body : cases) {
    std::string text = std::string(body) + "ldxdw %r0, [%r2+0]\n exit\n";
    SCOPED_TRACE(body);
    EXPECT_GE(FastChecks(text), 3u);
    auto e = Compile(text);
    Same(e);
  }
  // A store through a context pointer: no pair; it fails at the store.
  const char* ctx = R"(
    ldxdw %r3, [%r1+0]
    stxdw [%r1+0], %r3
    exit
  )";
  EXPECT_EQ(FastChecks(ctx), 2u);
  Outcome o = Same(Compile(ctx));
  EXPECT_EQ(o.err, HU_RUN_READONLY);
  EXPECT_EQ(o.err_pc, 1u);
}

// Windows: a loop whose accesses go through one pointer that grows by a
// constant is checked once an iteration at its head, against a limit the
// out-of-line check sets; only that check has an lfence (0f ae e8), which
// is how these tests see that a loop got a window.
bool Windowed(std::string_view text) {
  return Code(text).find("\x0f\xae\xe8") != std::string::npos;
}

// Sums n words from r2 (the 16-byte map value: two words).
std::string SumLoop(int n) {
  return R"(
    mov %r0, 0
    mov %r4, )" +
         std::to_string(n) + R"(
  loop:
    ldxdw %r3, [%r2+0]
    add %r0, %r3
    add %r2, 8
    sub %r4, 1
    jne %r4, 0, loop
    exit
  )";
}

TEST(JitWindow, LoopInsideTheRegion) {
  std::string text = "stdw [%r2+0], 30\n stdw [%r2+8], 12\n ja go\n go:\n" + SumLoop(2);
  EXPECT_TRUE(Windowed(text));
  ExpectR0(text, true, 42);
}

// The iteration past the end faults at the load, as in the interpreter.
TEST(JitWindow, LoopRunsOffTheRegion) {
  std::string text = SumLoop(3);
  EXPECT_TRUE(Windowed(text));
  ExpectKeptAndFaults(text, 2);
}

// A loop that stores past the writable region fails at the store; one
// that loads and stores a read-only region passes the load and fails at
// the store (both from the first iteration on).
TEST(JitWindow, StoresFailAtTheStore) {
  const char* past = R"(
    mov %r4, 3
  loop:
    stxdw [%r2+0], %r4
    add %r2, 8
    sub %r4, 1
    jne %r4, 0, loop
    exit
  )";
  EXPECT_TRUE(Windowed(past));
  ExpectKeptAndFaults(past, 1);
  const char* readonly = R"(
    mov %r4, 2
  loop:
    ldxdw %r3, [%r1+0]
    add %r3, 1
    stxdw [%r1+0], %r3
    add %r1, 8
    sub %r4, 1
    jne %r4, 0, loop
    exit
  )";
  EXPECT_TRUE(Windowed(readonly));
  Outcome o = Same(Compile(readonly));
  EXPECT_EQ(o.err, HU_RUN_READONLY);
  EXPECT_EQ(o.err_pc, 3u);
}

// The window closes on the way into the loop: entered a second time with
// a pointer below the region, the first load faults (a window left open
// from the first entry would let it read below the region).
TEST(JitWindow, ClosedOnTheWayIn) {
  const char* text = R"(
    mov %r0, 0
    mov %r5, 2
    mov %r6, %r2
  outer:
    mov %r3, %r6
    mov %r4, 2
  inner:
    ldxdw %r7, [%r3+0]
    add %r0, %r7
    add %r3, 8
    sub %r4, 1
    jne %r4, 0, inner
    sub %r6, 64
    sub %r5, 1
    jne %r5, 0, outer
    exit
  )";
  EXPECT_TRUE(Windowed(text));
  ExpectKeptAndFaults(text, 5);
}

// callx right before the loop: its way on to the next instruction also
// passes through the code that closes the window (the second entry, with
// a base below the region, faults at the load).
TEST(JitWindow, ClosedAfterACallx) {
  const char* text = R"(
    stdw [%r10-8], 2
    mov %r6, %r2
  outer:
    mov %r9, %r6
    mov %r7, 2
    mov %r8, 1
    mov %r1, 0
    mov %r2, 0
    call %r8
  inner:
    ldxdw %r5, [%r9+0]
    add %r0, %r5
    add %r9, 8
    sub %r7, 1
    jne %r7, 0, inner
    sub %r6, 64
    ldxdw %r1, [%r10-8]
    sub %r1, 1
    stxdw [%r10-8], %r1
    jne %r1, 0, outer
    exit
  )";
  EXPECT_TRUE(Windowed(text));
  ExpectKeptAndFaults(text, 8);
}

// A byte loop that walks off the 16-byte context faults at its load.
TEST(JitWindow, Bytes) {
  const char* text = R"(
    mov %r4, 100000
  loop:
    ldxb %r3, [%r1+0]
    add %r1, 1
    sub %r4, 1
    jne %r4, 0, loop
    exit
  )";
  EXPECT_TRUE(Windowed(text));
  ExpectKeptAndFaults(text, 1);
}

// Loops that keep a check per access (and the same outcomes): entered at
// the head by a jump from elsewhere, a pointer that shrinks, an access
// through another pointer before this one's, an offset past 8 bytes, the
// pointer changed by anything but a constant, a store before the last
// access, no stride at all.
TEST(JitWindow, NotWhenTheLoopDoesNotFit) {
  const char* cases[] = {
      "mov %r4, 2\n ja loop\n loop:\n ldxdw %r3, [%r2+0]\n add %r2, 8\n sub %r4, 1\n"
      "jne %r4, 0, loop\n",
      "mov %r4, 2\n add %r2, 8\n loop:\n ldxdw %r3, [%r2+0]\n sub %r2, 8\n sub %r4, 1\n"
      "jne %r4, 0, loop\n",
      "mov %r4, 2\n loop:\n ldxdw %r5, [%r1+0]\n ldxdw %r3, [%r2+0]\n add %r2, 8\n"
      "sub %r4, 1\n jne %r4, 0, loop\n",
      "mov %r4, 1\n loop:\n ldxdw %r3, [%r2+8]\n ldxw %r3, [%r2+12]\n add %r2, 8\n"
      "sub %r4, 1\n jne %r4, 0, loop\n",
      "mov %r4, 2\n mov %r6, 8\n loop:\n ldxdw %r3, [%r2+0]\n add %r2, %r6\n sub %r4, 1\n"
      "jne %r4, 0, loop\n",
      "mov %r4, 2\n loop:\n stxdw [%r2+0], %r4\n ldxdw %r3, [%r2+0]\n add %r2, 8\n"
      "sub %r4, 1\n jne %r4, 0, loop\n",
      "mov %r4, 2\n loop:\n ldxdw %r3, [%r2+0]\n sub %r4, 1\n jne %r4, 0, loop\n",
  };
  for (const char* body : cases) {
    std::string text = std::string(body) + "mov %r0, %r3\n exit\n";
    SCOPED_TRACE(body);
    EXPECT_FALSE(Windowed(text));
    Same(Compile(text));
  }
}

}  // namespace

namespace {

// A loop through r10 + c, c in the current frame by the block's own
// instructions, has its window set on the way in (window_open: its
// `lea r10, [rbp + 1 - 8]` for 8-byte accesses, 4c 8d 55 f9, which no
// other code of these programs has), so the first round needs no trip out
// of line; it is still a window, checked once a round, and leaves the
// frame only through the out-of-line check.
bool OpensOnTheWayIn(std::string_view text) {
  return Code(text).find("\x4c\x8d\x55\xf9") != std::string::npos;
}

// Its bounds are a register: no counted rounds (jit_test.cpp, JitCount).
TEST(JitWindowOpen, AFrameLoop) {
  const char* text = R"(
    mov %r0, 0
    mov %r2, 2
    mov %r6, 8
  outer:
    mov %r3, 0
    mov %r4, %r10
    add %r4, -64
  fill:
    stxdw [%r4+0], %r3
    add %r4, 8
    add %r3, 1
    jlt %r3, %r6, fill
    mov %r3, 0
    mov %r4, %r10
    add %r4, -64
  sum:
    ldxdw %r5, [%r4+0]
    add %r0, %r5
    add %r4, 8
    add %r3, 1
    jlt %r3, %r6, sum
    sub %r2, 1
    jne %r2, 0, outer
    exit
  )";
  EXPECT_TRUE(Windowed(text));
  EXPECT_TRUE(OpensOnTheWayIn(text));
  ExpectR0(text, true, 28 * 2);
}

// Off the top of the outermost frame, past the stack buffer: the round
// whose base reaches the frame's end goes out of line and faults at the
// store, as in the interpreter.
TEST(JitWindowOpen, RunsOffTheFrameAndFaults) {
  const char* text = R"(
    mov %r3, 0
    mov %r4, %r10
    add %r4, -16
  fill:
    stxdw [%r4+0], %r3
    add %r4, 8
    add %r3, 1
    jlt %r3, 4, fill
    exit
  )";
  EXPECT_TRUE(OpensOnTheWayIn(text));
  ExpectKeptAndFaults(text, 3);
}

// In a callee, off its frame into its caller's: the stack buffer, which
// both engines allow.
TEST(JitWindowOpen, RunsIntoTheCallersFrame) {
  const char* text = R"(
    call local f
    ldxdw %r0, [%r10-504]
    exit
  f:
    mov %r3, 0
    mov %r4, %r10
    add %r4, -16
  fill:
    stxdw [%r4+0], %r3
    add %r4, 8
    add %r3, 1
    jlt %r3, 4, fill
    exit
  )";
  EXPECT_TRUE(OpensOnTheWayIn(text));
  ExpectR0(text, true, 3);
}

// Not opened on the way in (the first round goes out of line, as for any
// pointer): a base changed by a register, one below the frame, a
// caller's pointer in a callee, one that comes through a jump target.
// Outcomes the same in both engines.
TEST(JitWindowOpen, NotWhenTheBaseIsNotAFrameAddress) {
  const char* cases[] = {
      "mov %r6, -64\n mov %r4, %r10\n add %r4, %r6\n",
      "mov %r4, %r10\n add %r4, -520\n",
      "mov %r1, %r10\n add %r1, -64\n call local f\n exit\n f:\n mov %r4, %r1\n",
      "mov %r4, %r10\n add %r4, -64\n ja next\n next:\n",
  };
  for (const char* head : cases) {
    std::string text = std::string(head) +
                       "mov %r3, 0\n loop:\n stxdw [%r4+0], %r3\n add %r4, 8\n add %r3, 1\n"
                       "jlt %r3, 4, loop\n mov %r0, %r3\n exit\n";
    SCOPED_TRACE(text);
    EXPECT_TRUE(Windowed(text));
    EXPECT_FALSE(OpensOnTheWayIn(text));
    EXPECT_EQ(Same(Compile(text)).r0, 4u);
  }
}

}  // namespace
