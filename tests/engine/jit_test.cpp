// What only the JIT has: its memory (write xor execute), its hardening
// (ENDBR64, constant blinding, no indirect branch), its budget charging,
// layouts with long jumps, the limits of hu_jit_run, and images shared by
// concurrent runs. Behaviour shared with the interpreter is in run_test.cpp.
#include "hyperupcall/jit.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "hyperupcall/asm.hpp"
#include "hyperupcall/interp.h"

namespace {

uint64_t Add(hu_run*, uint64_t a, uint64_t b, uint64_t, uint64_t, uint64_t) { return a + b; }
uint64_t Twice(hu_run*, uint64_t a, uint64_t, uint64_t, uint64_t, uint64_t) { return 2 * a; }

const std::array<hu_helper_fn, 3> kHelpers{nullptr, Add, Twice};

std::vector<hu_insn> Asm(std::string_view text) {
  auto p = hu::Assemble(text);
  EXPECT_TRUE(p.ok()) << (p.ok() ? "" : p.error().message);
  return p.ok() ? *p : std::vector<hu_insn>{};
}

hu::jit::Image Jit(const std::vector<hu_insn>& prog, hu::jit::Options opts = {}) {
  auto img = hu::jit::Image::Compile(prog, kHelpers.data(), kHelpers.size(), opts);
  if (!img.ok()) throw std::runtime_error(img.error().message);
  return std::move(*img);
}

struct Runner {
  alignas(16) std::array<uint8_t, HU_STACK_FRAME * HU_MAX_CALL_DEPTH> stack{};
  std::vector<hu_mem_region> regions;
  hu_run run{};
  Runner() {
    run.stack = stack.data();
    run.stack_size = stack.size();
    run.helpers = kHelpers.data();
    run.nhelpers = kHelpers.size();
    run.budget = 1'000'000;
  }
  int Go(const hu::jit::Image& img, uint64_t r1 = 0, uint64_t r2 = 0) {
    return img.Run(&run, r1, r2, 0);
  }
};

std::string Bytes(const hu::jit::Image& img) {
  return std::string(static_cast<const char*>(img.code()), img.code_size());
}

// objdump's listing of the image.
std::string Disassemble(const hu::jit::Image& img) {
  char path[] = "/tmp/hu-jit-XXXXXX";
  int fd = mkstemp(path);
  EXPECT_GE(fd, 0);
  EXPECT_EQ(write(fd, img.code(), img.code_size()), static_cast<ssize_t>(img.code_size()));
  close(fd);
  std::string cmd = std::string("objdump -D -b binary -mi386:x86-64 ") + path;
  FILE* p = popen(cmd.c_str(), "r");
  std::string dis;
  if (p != nullptr) {
    char buf[512];
    while (fgets(buf, sizeof buf, p)) dis += buf;
    EXPECT_EQ(pclose(p), 0);
  }
  unlink(path);
  return dis;
}

// Every line of /proc/self/maps that maps a JIT memfd.
std::vector<std::string> JitMappings() {
  std::ifstream maps("/proc/self/maps");
  std::vector<std::string> out;
  for (std::string line; std::getline(maps, line);) {
    if (line.find("memfd:hu-jit") != std::string::npos) out.push_back(line);
  }
  return out;
}

TEST(Jit, CodeIsExecutableAndNeverWritable) {
  auto img = Jit(Asm("mov %r0, 7\nexit"));
  auto maps = JitMappings();
  ASSERT_FALSE(maps.empty());
  bool found = false;
  const auto code = reinterpret_cast<uintptr_t>(img.code());
  for (const std::string& line : maps) {
    unsigned long lo = 0, hi = 0;
    char perms[5] = {};
    ASSERT_EQ(std::sscanf(line.c_str(), "%lx-%lx %4s", &lo, &hi, perms), 3) << line;
    EXPECT_EQ(perms[1], '-') << "a JIT mapping is writable: " << line;
    if (code >= lo && code < hi) {
      found = true;
      EXPECT_EQ(perms[0], 'r') << line;
      EXPECT_EQ(perms[2], 'x') << line;
    }
  }
  EXPECT_TRUE(found);
  Runner r;
  EXPECT_EQ(r.Go(img), HU_RUN_OK);
  EXPECT_EQ(r.run.r0, 7u);
}

TEST(Jit, MappingGoesWithTheImage) {
  size_t before = JitMappings().size();
  { auto img = Jit(Asm("exit")); }
  EXPECT_EQ(JitMappings().size(), before);
}

TEST(Jit, EntryIsEndbr64) {
  auto img = Jit(Asm("exit"));
  EXPECT_EQ(Bytes(img).substr(0, 4), std::string("\xf3\x0f\x1e\xfa", 4));
}

// Each immediate is one a JIT-spraying attacker would pick: it must not
// appear in the code when blinded, and does when not (so the test can fail).
constexpr const char* kConstants = R"(
  mov %r0, 0x3c0ffee3
  add %r0, 0x3c0ffee3
  xor %r0, 0x3c0ffee3
  mul %r0, 0x3c0ffee3
  stw [%r10-8], 0x3c0ffee3
  stdw [%r10-16], 0x3c0ffee3
  jeq %r0, 0x3c0ffee3, +1
  lddw %r1, 0x3c0ffee33c0ffee3
  mov32 %r2, 0x3c0ffee3
  sub32 %r2, 0x3c0ffee3
  jsgt32 %r2, 0x3c0ffee3, +0
  div %r2, 0x3c0ffee3
  mod32 %r2, 0x3c0ffee3
  exit
)";

TEST(Jit, BlindingHidesEveryImmediate) {
  const std::string needle("\xe3\xfe\x0f\x3c", 4);
  auto prog = Asm(kConstants);
  auto plain = Jit(prog, {.blind = false});
  EXPECT_NE(Bytes(plain).find(needle), std::string::npos);
  auto blinded = Jit(prog, {.blind = true, .seed = 1});
  EXPECT_EQ(Bytes(blinded).find(needle), std::string::npos);
  // Same result either way.
  Runner a, b;
  ASSERT_EQ(a.Go(plain), HU_RUN_OK);
  ASSERT_EQ(b.Go(blinded), HU_RUN_OK);
  EXPECT_EQ(a.run.r0, b.run.r0);
  EXPECT_EQ(std::memcmp(a.stack.data(), b.stack.data(), a.stack.size()), 0);
}

// The line blinding draws: constants in [-128, 127] stay as they are (one
// chosen byte, which jump and memory displacements give an attacker anyway;
// jit.c, small_imm), the first ones outside it are blinded in every form.
TEST(Jit, BlindingSparesOnlyOneByteConstants) {
  auto small = Asm(R"(
    mov %r0, 127
    add %r0, -128
    mul %r0, 3
    and32 %r0, 100
    stw [%r10-8], -1
    jlt %r0, 32, +0
    lddw %r1, -5
    exit
  )");
  EXPECT_EQ(Bytes(Jit(small, {.blind = true, .seed = 1})), Bytes(Jit(small, {.blind = false})));
  for (const char* text : {"add %r0, 128\nexit", "mov32 %r0, 128\nexit", "mul %r0, 128\nexit",
                           "jeq %r0, 128, +0\nexit", "stdw [%r10-8], 128\nexit"}) {
    const std::string needle("\x80\x00\x00\x00", 4);
    auto prog = Asm(text);
    EXPECT_NE(Bytes(Jit(prog, {.blind = false})).find(needle), std::string::npos) << text;
    EXPECT_EQ(Bytes(Jit(prog, {.blind = true, .seed = 1})).find(needle), std::string::npos) << text;
  }
  for (const char* text : {"add %r0, -129\nexit", "lddw %r0, -129\nexit"}) {
    // With its ModRM byte (rax): a jump of -129 bytes would match the rest.
    const std::string needle("\xc0\x7f\xff\xff\xff", 5);
    auto prog = Asm(text);
    EXPECT_NE(Bytes(Jit(prog, {.blind = false})).find(needle), std::string::npos) << text;
    EXPECT_EQ(Bytes(Jit(prog, {.blind = true, .seed = 1})).find(needle), std::string::npos) << text;
  }
}

TEST(Jit, BlindingValuesComeFromTheSeed) {
  auto prog = Asm(kConstants);
  auto a = Jit(prog, {.blind = true, .seed = 42});
  auto b = Jit(prog, {.blind = true, .seed = 42});
  auto c = Jit(prog, {.blind = true, .seed = 43});
  // Code differs by position only in helper calls; this program has none.
  EXPECT_EQ(Bytes(a), Bytes(b));
  EXPECT_NE(Bytes(a), Bytes(c));
  auto d = Jit(prog);  // seed 0: fresh from getrandom
  auto e = Jit(prog);
  EXPECT_NE(Bytes(d), Bytes(e));
}

// The image has no indirect call or jump at all (objdump reads it).
TEST(Jit, NoIndirectBranch) {
  auto img = Jit(Asm(R"(
    mov %r6, 2
    mov %r1, 3
    call %r6
    mov %r1, %r0
    mov %r2, 1
    call 1
    stxdw [%r10-8], %r0
    mov %r1, %r10
    add %r1, -8
    ldxdw %r0, [%r1]
    lock fetch or [%r1+0], %r0
    call local f
    exit
  f:
    mov %r0, 1
    exit
  )"));
  std::string dis = Disassemble(img);
  EXPECT_NE(dis.find("call"), std::string::npos) << "objdump printed no code";
  std::istringstream lines(dis);
  for (std::string line; std::getline(lines, line);) {
    bool branch = line.find("call") != std::string::npos || line.find("jmp") != std::string::npos;
    EXPECT_FALSE(branch && line.find('*') != std::string::npos) << line;
  }
}

}  // namespace

// A return thunk that counts the returns sent through it (inc leaves CF,
// which the image's region checks return their answer in).
extern "C" {
uint64_t hu_test_thunk_returns = 0;
void hu_test_ret_thunk();
}
asm(R"(
  .text
  .globl hu_test_ret_thunk
  .type hu_test_ret_thunk, @function
hu_test_ret_thunk:
  lock incq hu_test_thunk_returns(%rip)
  ret
  .size hu_test_ret_thunk, . - hu_test_ret_thunk
)");

namespace {

// With a return thunk, no `ret` is left in the image, and every way out of
// every function the image has (exit, a local call, a region check that
// hits or misses, an error unwinding a local call) goes through it with
// the same results as plain returns.
TEST(Jit, ReturnsGoThroughTheThunk) {
  auto prog = Asm(R"(
    mov %r6, %r1
    call local f
    jeq %r6, 0, +2
    ldxdw %r1, [%r6+0]
    add %r0, %r1
    exit
  f:
    ldxdw %r0, [%r2+8]
    exit
  )");
  const auto thunk = reinterpret_cast<uintptr_t>(&hu_test_ret_thunk);
  for (bool blind : {false, true}) {
    auto plain = Jit(prog, {.blind = blind, .seed = 1});
    auto img = Jit(prog, {.blind = blind, .seed = 1, .ret_thunk = thunk});
    EXPECT_NE(Disassemble(plain).find("\tret"), std::string::npos) << "no ret to replace";
    std::string dis = Disassemble(img);
    EXPECT_EQ(dis.find("\tret"), std::string::npos) << dis;
    // r1: one region's 8 bytes (or 0); r2: the other region, 16 bytes. The
    // read through r2 is not the first region: its check takes the scan.
    std::array<uint64_t, 1> a{40};
    std::array<uint64_t, 2> b{0, 2};
    const auto pa = reinterpret_cast<uintptr_t>(a.data());
    const auto pb = reinterpret_cast<uintptr_t>(b.data());
    // Both reads hit; no first read; the first read misses (an error in
    // the body); the read in f misses (an error unwinding the call).
    struct Case {
      uintptr_t r1, r2;
      int err;
    };
    for (auto [r1, r2, err] :
         {Case{pa, pb, HU_RUN_OK}, Case{0, pb, HU_RUN_OK}, Case{pa + 8, pb, HU_RUN_OOB_MEM},
          Case{pa, pb + 8, HU_RUN_OOB_MEM}}) {
      Runner x, y;
      for (Runner* r : {&x, &y}) {
        r->regions = {{reinterpret_cast<uintptr_t>(a.data()), sizeof a, 0, 0},
                      {reinterpret_cast<uintptr_t>(b.data()), sizeof b, 0, 0}};
        r->run.regions = r->regions.data();
        r->run.nregions = 2;
      }
      const uint64_t before = hu_test_thunk_returns;
      int e1 = x.Go(plain, r1, r2);
      int e2 = y.Go(img, r1, r2);
      EXPECT_EQ(e1, err);
      EXPECT_EQ(e2, err);
      EXPECT_EQ(x.run.r0, y.run.r0);
      EXPECT_EQ(x.run.err_pc, y.run.err_pc);
      EXPECT_GE(hu_test_thunk_returns - before, 3u);  // f, the body, the entry
    }
  }
  // Out of reach, like a helper: the translation fails.
  auto far = hu::jit::Image::Compile(prog, kHelpers.data(), kHelpers.size(),
                                     {.ret_thunk = thunk ^ (uint64_t{1} << 46)});
  ASSERT_FALSE(far.ok());
  EXPECT_NE(far.error().message.find("out of reach"), std::string::npos) << far.error().message;
}

TEST(Jit, BudgetIsChargedPerBackEdge) {
  // A 5-instruction loop run 100 times: about 500 units.
  auto img = Jit(Asm(R"(
    mov %r0, 0
    mov %r1, 100
  loop:
    add %r0, 2
    add %r0, 1
    sub %r0, 1
    sub %r1, 1
    jne %r1, 0, loop
    exit
  )"));
  Runner r;
  ASSERT_EQ(r.Go(img), HU_RUN_OK);
  EXPECT_EQ(r.run.r0, 200u);
  EXPECT_EQ(r.run.executed, 1u + 5 * 100);
  r.run.budget = 250;
  EXPECT_EQ(r.Go(img), HU_RUN_BUDGET);
  EXPECT_EQ(r.run.err_pc, 6u);
  EXPECT_EQ(r.run.executed, 250u);
}

// r0 (or the error) of a program in the interpreter and in the JIT.
std::pair<uint64_t, uint64_t> BothEngines(const std::vector<hu_insn>& prog) {
  Runner a, b;
  a.run.insns = prog.data();
  a.run.ninsns = static_cast<uint32_t>(prog.size());
  int ei = hu_interp_run(&a.run, 0, 0, 0);
  int ej = b.Go(Jit(prog));
  EXPECT_EQ(ei, ej);
  return {ei ? ei : a.run.r0, ej ? ej : b.run.r0};
}

// `jeq/jne r, 0` right after an ALU operation into r tests the flags that
// operation left (no `test`), and only when nothing else can reach the
// jump and the widths agree.
TEST(Jit, CompareWithZeroUsesTheFlagsOfTheOperationBefore) {
  auto loop = Asm(R"(
    mov %r0, 0
    mov %r1, 100
  loop:
    add %r0, 3
    sub %r1, 1
    jne %r1, 0, loop
    exit
  )");
  EXPECT_EQ(Disassemble(Jit(loop)).find("test "), std::string::npos);
  auto [i, j] = BothEngines(loop);
  EXPECT_EQ(i, 300u);
  EXPECT_EQ(j, 300u);
  const char* kept[] = {
      // The jump is a target: it arrives with the flags of `jeq r2, 5`.
      "mov %r1, 1\n mov %r2, 5\n jeq %r2, 5, check\n sub %r1, 1\n check:\n"
      "jne %r1, 0, yes\n mov %r0, 0\n exit\n yes:\n mov %r0, 1\n exit\n",
      // A 32-bit jump after a 64-bit operation: the low half is zero.
      "lddw %r1, 0x100000001\n sub %r1, 1\n jne32 %r1, 0, no\n mov %r0, 1\n exit\n"
      "no:\n mov %r0, 2\n exit\n",
      // Another register.
      "mov %r1, 0\n mov %r2, 1\n sub %r2, 1\n jeq %r1, 0, yes\n mov %r0, 2\n exit\n"
      "yes:\n mov %r0, 1\n exit\n",
  };
  for (const char* text : kept) {
    SCOPED_TRACE(text);
    auto [ri, rj] = BothEngines(Asm(text));
    EXPECT_EQ(ri, 1u);
    EXPECT_EQ(rj, 1u);
  }
  // Fused: a 64-bit jump after a 32-bit operation (zero-extended), and
  // after each operation whose flags it uses, blinded or not.
  const char* fused[] = {
      "lddw %r1, 0x100000001\n sub32 %r1, 1\n jne %r1, 0, no\n mov %r0, 1\n exit\n"
      "no:\n mov %r0, 2\n exit\n",
      "mov %r1, 0x5555\n xor %r1, 0x5555\n jeq %r1, 0, yes\n exit\n yes:\n mov %r0, 1\n exit\n",
      "mov %r1, 0x5500\n and %r1, 0xff\n jeq %r1, 0, yes\n exit\n yes:\n mov %r0, 1\n exit\n",
      "mov %r1, -0x5500\n add %r1, 0x5500\n jne %r1, 0, no\n mov %r0, 1\n exit\n no:\n exit\n",
      "mov %r1, 0\n or32 %r1, 0\n jne32 %r1, 0, no\n mov %r0, 1\n exit\n no:\n exit\n",
  };
  for (const char* text : fused) {
    SCOPED_TRACE(text);
    auto [ri, rj] = BothEngines(Asm(text));
    EXPECT_EQ(ri, 1u);
    EXPECT_EQ(rj, 1u);
  }
}

// A loop whose load is checked once an iteration at its head (a window,
// jit.c) is charged at its back edge like any other.
TEST(Jit, BudgetEndsAWindowedLoop) {
  std::vector<uint8_t> data(4096, 1);
  auto img = Jit(Asm(R"(
    mov %r0, 0
    mov %r4, 1000
  loop:
    ldxb %r3, [%r1+0]
    add %r0, %r3
    add %r1, 1
    sub %r4, 1
    jne %r4, 0, loop
    exit
  )"));
  Runner r;
  r.regions.push_back({reinterpret_cast<uintptr_t>(data.data()), data.size(), 0, 0});
  r.run.regions = r.regions.data();
  r.run.nregions = 1;
  ASSERT_EQ(r.Go(img, reinterpret_cast<uintptr_t>(data.data())), HU_RUN_OK);
  EXPECT_EQ(r.run.r0, 1000u);
  EXPECT_EQ(r.run.executed, 1u + 5 * 1000);
  r.run.budget = 251;
  EXPECT_EQ(r.Go(img, reinterpret_cast<uintptr_t>(data.data())), HU_RUN_BUDGET);
  EXPECT_EQ(r.run.err_pc, 6u);
  EXPECT_EQ(r.run.executed, 251u);
}

// A jump over a loop's head also jumps over the padding that aligns it:
// with fillers of every length before the loop, some short jumps reach
// only without it, and the layout must still settle and run alike.
TEST(Jit, JumpsOverALoopsPaddingSettle) {
  for (int fill = 0; fill < 16; ++fill) {
    for (int after = 16; after < 28; ++after) {
      std::string text = "mov %r0, 0\nmov %r1, 3\njeq %r1, 3, out\n";
      for (int i = 0; i < fill; ++i) text += "add %r0, 1\n";
      text += "loop:\nadd %r0, 1\nsub %r1, 1\njne %r1, 0, loop\n";
      for (int i = 0; i < after; ++i) text += "add %r0, 1\n";
      text += "out:\nexit\n";
      auto prog = Asm(text);
      SCOPED_TRACE(text);
      auto [i, j] = BothEngines(prog);
      EXPECT_EQ(i, j);
      for (bool blind : {false, true}) {
        auto img =
            hu::jit::Image::Compile(prog, kHelpers.data(), kHelpers.size(), {.blind = blind});
        ASSERT_TRUE(img.ok()) << img.error().message;
      }
    }
  }
}

TEST(Jit, BudgetEndsRecursionThroughCallsAlone) {
  // No loop, but each frame calls the next twice: 2^7 calls in all.
  std::string text = "call local f1\nexit\n";
  for (int i = 1; i < HU_MAX_CALL_DEPTH; ++i) {
    std::string callee = i + 1 < HU_MAX_CALL_DEPTH ? "f" + std::to_string(i + 1) : "";
    text += "f" + std::to_string(i) + ":\n";
    if (!callee.empty()) text += "call local " + callee + "\ncall local " + callee + "\n";
    text += "exit\n";
  }
  auto img = Jit(Asm(text));
  Runner r;
  ASSERT_EQ(r.Go(img), HU_RUN_OK);
  EXPECT_EQ(r.run.executed, 1u + 1 + 2 + 4 + 8 + 16 + 32 + 64);
  r.run.budget = 50;
  EXPECT_EQ(r.Go(img), HU_RUN_BUDGET);
}

// A windowed loop's back edge charges with no branch of its own; its
// window's limit ends the fast rounds before one whose charge would fail
// (jit.c, budget_shift). Each program here comes twice, the same length
// and the same meaning: one whose loop has a window, one whose loop has
// none (its base is written by a `mov` of itself, which no window
// allows), so it charges with the branch as any loop. Every budget from
// the first to past the last charge must end both alike: the error, its
// pc, `executed`, r0 and every byte stored.
struct BudgetTwin {
  std::string windowed, plain;
};

// @MARK@ is where the twins differ: a `mov` of r9 to itself in one, of
// the loop's base (r1 in every program here) in the other.
BudgetTwin Twins(const std::string& text) {
  auto at = text.find("@MARK@");
  std::string a = text, b = text;
  a.replace(at, 6, "mov %r9, %r9");
  b.replace(at, 6, "mov %r1, %r1");
  return {a, b};
}

struct BudgetOutcome {
  int err;
  uint32_t err_pc;
  uint64_t executed, r0;
  std::vector<uint8_t> data, stack;
  bool operator==(const BudgetOutcome&) const = default;
};

BudgetOutcome RunWithBudget(const hu::jit::Image& img, uint64_t budget, bool stack_base) {
  Runner r;
  std::vector<uint8_t> data(256, 1);
  r.regions.push_back({reinterpret_cast<uintptr_t>(data.data()), data.size(), 1, 0});
  r.run.regions = r.regions.data();
  r.run.nregions = 1;
  r.run.budget = budget;
  uint64_t r1 = stack_base ? 0 : reinterpret_cast<uintptr_t>(data.data());
  int err = r.Go(img, r1);
  return {err,
          err ? r.run.err_pc : 0,
          r.run.executed,
          err ? 0 : r.run.r0,
          data,
          std::vector<uint8_t>(r.stack.begin(), r.stack.end())};
}

// The same error, pc, `executed`, r0 and map data; the stack too when
// with_stack.
void ExpectAlike(const BudgetOutcome& x, const BudgetOutcome& y, bool with_stack) {
  ASSERT_EQ(x.err, y.err);
  ASSERT_EQ(x.err_pc, y.err_pc);
  ASSERT_EQ(x.executed, y.executed);
  ASSERT_EQ(x.r0, y.r0);
  ASSERT_TRUE(x.data == y.data);
  if (with_stack) {
    ASSERT_TRUE(x.stack == y.stack);
  }
}

bool HasWindow(const hu::jit::Image& img) {
  return Bytes(img).find("\x0f\xae\xe8") != std::string::npos;  // its lfence
}

void ExpectSameAtEveryBudget(const std::string& text, bool stack_base, uint64_t last) {
  BudgetTwin t = Twins(text);
  SCOPED_TRACE(t.windowed);
  for (bool blind : {false, true}) {
    auto a = Jit(Asm(t.windowed), {.blind = blind});
    auto b = Jit(Asm(t.plain), {.blind = blind});
    ASSERT_TRUE(HasWindow(a));
    ASSERT_FALSE(HasWindow(b));
    for (uint64_t budget = 1; budget <= last; ++budget) {
      SCOPED_TRACE(budget);
      BudgetOutcome x = RunWithBudget(a, budget, stack_base);
      BudgetOutcome y = RunWithBudget(b, budget, stack_base);
      ExpectAlike(x, y, true);
      if (::testing::Test::HasFatalFailure()) return;
    }
  }
}

// Ten rounds of a load and its store through a region pointer: the budget
// runs out in every round, on the back edge taken and (the last round) on
// the way out.
TEST(JitWindowBudget, EveryRoundOfARegionLoop) {
  ExpectSameAtEveryBudget(R"(
    mov %r0, 0
    mov %r4, 10
  loop:
    ldxdw %r3, [%r1+0]
    add %r3, 1
    stxdw [%r1+0], %r3
    add %r0, %r3
    @MARK@
    add %r1, 8
    sub %r4, 1
    jne %r4, 0, loop
    mov %r0, 7
    exit
  )",
                          false, 1 + 8 * 10 + 2);
}

// 200 rounds of a byte loop (the region holds them all): most rounds pass
// the head's compare, so the limit the budget sets, not the region's,
// must stop them; each round stores, so a round too many shows.
TEST(JitWindowBudget, FastRoundsStopWhereTheBudgetDoes) {
  ExpectSameAtEveryBudget(R"(
    mov %r0, 0
    mov %r4, 200
  loop:
    ldxb %r3, [%r1+0]
    add %r3, %r4
    stxb [%r1+0], %r3
    @MARK@
    add %r1, 1
    sub %r4, 1
    jne %r4, 0, loop
    exit
  )",
                          false, 1 + 7 * 200 + 2);
}

// A loop longer than 128 instructions (the budget's limit shifts by more
// than 7) and a back edge that is not a compare with zero.
TEST(JitWindowBudget, ALongLoop) {
  std::string text = "mov %r0, 0\n mov %r4, 0\n loop:\n ldxh %r3, [%r1+0]\n";
  for (int i = 0; i < 140; ++i) text += "add %r3, %r4\n";
  text += "stxh [%r1+0], %r3\n @MARK@\n add %r1, 2\n add %r4, 1\n jlt %r4, 12, loop\n exit\n";
  ExpectSameAtEveryBudget(text, false, 1 + 146 * 12 + 2);
}

// Through a frame pointer (its window set on the way in, window_open),
// entered 3 times, with a store: the budget ends it in any round of any
// entry. Its bound is a register, so its rounds are not counted on the
// way in (JitCount, below).
// Eight rounds of a store through r10 - 64, entered three times; `bound`
// is what the back edge compares with.
std::string FrameLoopThreeTimes(const std::string& bound) {
  return "mov %r0, 0\n mov %r2, 3\n mov %r5, 8\n outer:\n mov %r3, 0\n mov %r1, %r10\n"
         " add %r1, -64\n fill:\n stxdw [%r1+0], %r3\n @MARK@\n add %r1, 8\n add %r3, 1\n"
         " jlt %r3, " +
         bound + ", fill\n sub %r2, 1\n jne %r2, 0, outer\n ldxdw %r0, [%r10-8]\n exit\n";
}

TEST(JitWindowBudget, AFrameLoopEnteredThreeTimes) {
  ExpectSameAtEveryBudget(FrameLoopThreeTimes("%r5"), true, 1 + 3 * (5 * 8 + 9) + 3);
}

// Off the region's end in round 33: the fault at the load, with what the
// rounds before it charged in `executed`.
TEST(JitWindowBudget, RunsOffTheRegion) {
  ExpectSameAtEveryBudget(R"(
    mov %r0, 0
    mov %r4, 40
  loop:
    ldxdw %r3, [%r1+0]
    add %r0, %r3
    @MARK@
    add %r1, 8
    sub %r4, 1
    jne %r4, 0, loop
    exit
  )",
                          false, 1 + 6 * 40 + 2);
}

// Loops whose back edge keeps its `sub` (their window cannot charge the
// rounds it let run, window_syncs): a stride that is not a power of two,
// and a body with another instruction that can stop the run (a checked
// store through another pointer).
TEST(JitWindowBudget, LoopsThatChargeEachRound) {
  ExpectSameAtEveryBudget(R"(
    mov %r0, 0
    mov %r4, 60
  loop:
    ldxb %r3, [%r1+0]
    add %r3, %r4
    stxb [%r1+0], %r3
    @MARK@
    add %r1, 3
    sub %r4, 1
    jne %r4, 0, loop
    exit
  )",
                          false, 1 + 7 * 60 + 2);
  ExpectSameAtEveryBudget(R"(
    mov %r0, 0
    mov %r4, 10
    mov %r6, %r10
    add %r6, -8
  loop:
    ldxdw %r3, [%r1+0]
    add %r3, 1
    stxdw [%r1+0], %r3
    stxdw [%r6+0], %r3
    @MARK@
    add %r1, 8
    sub %r4, 1
    jne %r4, 0, loop
    exit
  )",
                          false, 1 + 8 * 10 + 2);
}

// Counted loops (jit.c, count_units): a frame loop whose rounds the way
// in fixes (a constant counter, a constant step, `jlt` against a
// constant) and whose every round stays inside the current frame runs with
// no check and no per-round charge; one of at most 256 instructions over
// all its rounds (kUnrollMax, jit.c UNROLL_MAX_UNITS) runs unrolled, with
// no back edge. The image says how many loops got each.
constexpr int64_t kUnrollMax = 256;

uint32_t Counted(const hu::jit::Image& img) { return img.image().counted_loops; }
uint32_t Unrolled(const hu::jit::Image& img) { return img.image().unrolled_loops; }

// Conditional jumps in the listing whose target is at or before the
// jump: loops' back edges (an error stub's `jmp` to its tail goes back
// too, unconditionally).
int BackEdges(const hu::jit::Image& img) {
  std::istringstream dis(Disassemble(img));
  int n = 0;
  for (std::string line; std::getline(dis, line);) {
    unsigned long at = 0, to = 0;
    char op[16];
    if (std::sscanf(line.c_str(), " %lx: %*[0-9a-f ]\t%15s 0x%lx", &at, op, &to) == 3 &&
        op[0] == 'j' && std::string(op) != "jmp" && to <= at) {
      ++n;
    }
  }
  return n;
}

// Interpreter and JIT from the same state: the same error, pc, r0 and
// stack.
void ExpectBothEngines(const std::vector<hu_insn>& prog, const hu::jit::Image& img) {
  Runner a, b;
  a.run.insns = prog.data();
  a.run.ninsns = static_cast<uint32_t>(prog.size());
  int ea = hu_interp_run(&a.run, 0, 0, 0);
  int eb = b.Go(img);
  EXPECT_EQ(ea, eb);
  EXPECT_EQ(a.run.err_pc, b.run.err_pc);
  if (ea == HU_RUN_OK) {
    EXPECT_EQ(a.run.r0, b.run.r0);
  }
  EXPECT_TRUE(a.stack == b.stack);
}

// `fill` writes slots of `size` bytes `stride` apart from r10 + base,
// adding `step` to c from c0 until `back` (the back edge's compare, c is
// r3) falls through; `sum` reads them back.
std::string CountedFill(int base, int size, int stride, int c0, int step, const std::string& back) {
  const char* sfx = size == 1 ? "b" : size == 2 ? "h" : size == 4 ? "w" : "dw";
  std::string t = "mov %r0, 0\n mov %r3, " + std::to_string(c0) + "\n mov %r4, %r10\n add %r4, " +
                  std::to_string(base) + "\n fill:\n stx" + sfx + " [%r4+0], %r3\n add %r4, " +
                  std::to_string(stride) + "\n add %r3, " + std::to_string(step) + "\n " + back +
                  ", fill\n";
  t += "mov %r3, " + std::to_string(c0) + "\n mov %r4, %r10\n add %r4, " + std::to_string(base) +
       "\n sum:\n ldx" + sfx + " %r5, [%r4+0]\n xor %r5, %r3\n add %r0, %r5\n add %r4, " +
       std::to_string(stride) + "\n add %r3, " + std::to_string(step) + "\n " + back +
       ", sum\n exit\n";
  return t;
}

TEST(JitCount, FrameLoopsRunUncheckedAsInTheInterpreter) {
  struct Case {
    int base, size, stride, c0, step, bound;
  };
  const Case cases[] = {
      {-256, 8, 8, 0, 1, 32},       // StackHeavy's: 32 rounds, both unrolled
      {-64, 8, 8, 0, 1, 7},         // 7 rounds
      {-8, 8, 8, 0, 1, 1},          // one round, ending at r10
      {-64, 8, 8, 5, 1, 3},         // c0 past the bound: one round
      {-512, 1, 1, 0, 1, 200},      // a blinded bound and charge; both loop
      {-512, 2, 4, 3, 3, 300},      // steps of 3 from 3: 99 rounds
      {-100, 4, 4, 0, 1, 25},       // the last round's end is r10
      {-512, 8, 127, 0, 1, 4},      // the widest stride
      {-512, 1, 1, 0, 100, 51200},  // 512 rounds, a large bound
      {-512, 8, 8, 0, 1, 64},       // fill: 256 instructions, unrolled; sum loops
      {-260, 4, 4, 0, 1, 65},       // fill: 260, one round too many to unroll
  };
  for (const Case& c : cases) {
    std::string text =
        CountedFill(c.base, c.size, c.stride, c.c0, c.step, "jlt %r3, " + std::to_string(c.bound));
    SCOPED_TRACE(text);
    auto prog = Asm(text);
    const int64_t rounds = c.c0 >= c.bound ? 1 : (c.bound - c.c0 + c.step - 1) / c.step;
    // fill: the store, two adds, the back edge; sum: six.
    const uint32_t unrolled = (rounds * 4 <= kUnrollMax) + (rounds * 6 <= kUnrollMax);
    for (bool blind : {false, true}) {
      auto img = Jit(prog, {.blind = blind});
      EXPECT_EQ(Counted(img), 2u);
      EXPECT_EQ(Unrolled(img), unrolled);
      EXPECT_EQ(BackEdges(img), 2 - static_cast<int>(unrolled));
      EXPECT_FALSE(HasWindow(img));
      EXPECT_EQ(img.image().needs_regions, 0u);
      ExpectBothEngines(prog, img);
    }
  }
}

// The same with the counter going down: `sub c, s` and `jne c, 0`, from a
// c0 that is a multiple of s. Counted only when unrolled (a loop that
// stays one clamps on the carry a `jlt` leaves); c0 not a multiple of s
// never reaches 0: the rounds run off the frame, in both engines.
TEST(JitCount, DownCountingLoopsUnrollAsInTheInterpreter) {
  struct Case {
    int base, size, stride, c0, step;
    uint32_t counted, unrolled;
  };
  const Case cases[] = {
      {-64, 8, 8, 8, 1, 2, 2},     // 8 rounds each
      {-512, 1, 1, 60, 2, 2, 2},   // 30 rounds of steps of 2
      {-100, 4, 4, 25, 1, 2, 2},   // the last round's end is r10
      {-512, 2, 2, 50, 1, 1, 1},   // fill 200 instructions, sum 300: a window
      {-512, 1, 1, 100, 1, 0, 0},  // 400 and 600: windows
      {-64, 8, 8, 9, 2, 0, 0},     // 9, 7, ..., 1, then 2^64 - 1: off the frame
      {-64, 8, 8, 9, 1, 0, 0},     // the ninth round at r10: a window's check
  };
  for (const Case& c : cases) {
    std::string text = CountedFill(c.base, c.size, c.stride, c.c0, -c.step, "jne %r3, 0");
    SCOPED_TRACE(text);
    auto prog = Asm(text);
    for (bool blind : {false, true}) {
      auto img = Jit(prog, {.blind = blind});
      EXPECT_EQ(Counted(img), c.counted);
      EXPECT_EQ(Unrolled(img), c.unrolled);
      EXPECT_EQ(BackEdges(img), 2 - static_cast<int>(c.unrolled));
      ExpectBothEngines(prog, img);
    }
  }
}

// What keeps a window (or a check) rather than counted rounds, each run in
// both engines: a bound that lets the last round leave the frame (the
// round out of it faults, as in the interpreter), a counter whose start
// is not a constant of this block, a counter written twice or by 32 bits,
// a back edge that is not `jlt` with a constant, a base below the frame,
// a body with another access that can fail.
TEST(JitCount, NotCountedWhereItCouldBeWrong) {
  const char* cases[] = {
      // one round too many: the 9th store is at r10
      "mov %r3, 0\n mov %r4, %r10\n add %r4, -64\n loop:\n stxdw [%r4+0], %r3\n add %r4, 8\n"
      " add %r3, 1\n jlt %r3, 9, loop\n mov %r0, %r3\n exit\n",
      // the start comes from another register
      "mov %r6, 0\n mov %r3, %r6\n mov %r4, %r10\n add %r4, -64\n loop:\n stxdw [%r4+0], %r3\n"
      " add %r4, 8\n add %r3, 1\n jlt %r3, 8, loop\n mov %r0, %r3\n exit\n",
      // the start is set in another block
      "mov %r3, 0\n ja next\n next:\n mov %r4, %r10\n add %r4, -64\n loop:\n stxdw [%r4+0], %r3\n"
      " add %r4, 8\n add %r3, 1\n jlt %r3, 8, loop\n mov %r0, %r3\n exit\n",
      // the counter written twice
      "mov %r3, 0\n mov %r4, %r10\n add %r4, -64\n loop:\n stxdw [%r4+0], %r3\n add %r4, 8\n"
      " add %r3, 1\n add %r3, 1\n jlt %r3, 8, loop\n mov %r0, %r3\n exit\n",
      // a 32-bit add
      "mov %r3, 0\n mov %r4, %r10\n add %r4, -64\n loop:\n stxdw [%r4+0], %r3\n add %r4, 8\n"
      " add32 %r3, 1\n jlt %r3, 8, loop\n mov %r0, %r3\n exit\n",
      // a 32-bit compare, and `jle`
      "mov %r3, 0\n mov %r4, %r10\n add %r4, -64\n loop:\n stxdw [%r4+0], %r3\n add %r4, 8\n"
      " add %r3, 1\n jlt32 %r3, 8, loop\n mov %r0, %r3\n exit\n",
      "mov %r3, 0\n mov %r4, %r10\n add %r4, -64\n loop:\n stxdw [%r4+0], %r3\n add %r4, 8\n"
      " add %r3, 1\n jle %r3, 7, loop\n mov %r0, %r3\n exit\n",
      // the counter is the base
      "mov %r4, %r10\n add %r4, -64\n loop:\n stxdw [%r4+0], %r0\n add %r4, 8\n"
      " jlt %r4, 8, loop\n mov %r0, 1\n exit\n",
      // a base below the frame
      "mov %r3, 0\n mov %r4, %r10\n add %r4, -520\n loop:\n stxdw [%r4+0], %r3\n add %r4, 8\n"
      " add %r3, 1\n jlt %r3, 8, loop\n mov %r0, %r3\n exit\n",
      // another checked access in the body
      "mov %r6, %r10\n add %r6, -8\n mov %r3, 0\n mov %r4, %r10\n add %r4, -72\n loop:\n"
      " stxdw [%r4+0], %r3\n stxdw [%r6+0], %r3\n add %r4, 8\n add %r3, 1\n jlt %r3, 8, loop\n"
      " mov %r0, %r3\n exit\n",
      // a negative start: not taken as a count
      "mov %r3, -2\n mov %r4, %r10\n add %r4, -64\n loop:\n stxdw [%r4+0], %r3\n add %r4, 8\n"
      " add %r3, 1\n jlt %r3, 8, loop\n mov %r0, %r3\n exit\n",
  };
  for (const char* text : cases) {
    SCOPED_TRACE(text);
    auto prog = Asm(text);
    for (bool blind : {false, true}) {
      auto img = Jit(prog, {.blind = blind});
      EXPECT_EQ(Counted(img), 0u);
      ExpectBothEngines(prog, img);
    }
  }
}

// Rounds of a 4-byte load from r10 + base: c (r3) from c0, `step` added
// (a `sub` when negative) until `back` falls through.
std::string CountedSum(int base, int c0, int step, const std::string& back) {
  const std::string bump =
      step < 0 ? "sub %r3, " + std::to_string(-step) : "add %r3, " + std::to_string(step);
  return "mov %r0, 0\n mov %r3, " + std::to_string(c0) + "\n mov %r1, %r10\n add %r1, " +
         std::to_string(base) +
         "\n sum:\n ldxw %r4, [%r1+0]\n add %r0, %r4\n @MARK@\n add %r1, 4\n " + bump + "\n " +
         back + ", sum\n exit\n";
}

// The budget of a counted loop is charged on the way in: at every budget
// its twin (the same loop with no window at all, charged each round) and
// it end alike (error, pc, `executed`, r0, map data) and, when the run
// ends well, with the same stack. A budget too small for all the rounds
// stops the counted loop on the way in, before its rounds wrote the frame:
// the twin wrote some of it first. No host reads the stack after an error.
TEST(JitCount, BudgetPaidOnTheWayIn) {
  struct Case {
    std::string text;
    uint32_t unrolled;
    uint64_t last;  // past the budget the program needs
  };
  const Case cases[] = {
      {FrameLoopThreeTimes("8"), 1, 200},
      {CountedSum(-40, 1, 2, "jlt %r3, 20"), 1, 100},    // 10 rounds of 6: unrolled
      {CountedSum(-400, 1, 2, "jlt %r3, 200"), 0, 700},  // 100 rounds of 6: a loop
      {CountedSum(-40, 10, -1, "jne %r3, 0"), 1, 100},   // 10 rounds of 6, counting down
  };
  for (const Case& c : cases) {
    BudgetTwin t = Twins(c.text);
    SCOPED_TRACE(t.windowed);
    for (bool blind : {false, true}) {
      auto a = Jit(Asm(t.windowed), {.blind = blind});
      auto b = Jit(Asm(t.plain), {.blind = blind});
      ASSERT_EQ(Counted(a), 1u);
      ASSERT_EQ(Unrolled(a), c.unrolled);
      ASSERT_EQ(Counted(b), 0u);
      ASSERT_FALSE(HasWindow(b));
      bool ran = false;
      for (uint64_t budget = 1; budget <= c.last; ++budget) {
        SCOPED_TRACE(budget);
        BudgetOutcome x = RunWithBudget(a, budget, true);
        BudgetOutcome y = RunWithBudget(b, budget, true);
        ExpectAlike(x, y, x.err == HU_RUN_OK);
        if (::testing::Test::HasFatalFailure()) return;
        if (x.err == HU_RUN_OK) {
          ran = true;
        }
      }
      EXPECT_TRUE(ran) << "no budget let the program end";
    }
  }
}

// A budget above what the code counts (2^62) runs as an unlimited one.
TEST(JitWindowBudget, HugeBudgets) {
  auto img = Jit(Asm(R"(
    mov %r0, 0
    mov %r4, 100
  loop:
    ldxb %r3, [%r1+0]
    add %r0, %r3
    add %r1, 1
    sub %r4, 1
    jne %r4, 0, loop
    exit
  )"));
  ASSERT_TRUE(HasWindow(img));
  for (uint64_t budget :
       {uint64_t{1} << 62, (uint64_t{1} << 62) + 1, uint64_t{1} << 63, ~uint64_t{0}}) {
    BudgetOutcome o = RunWithBudget(img, budget, false);
    EXPECT_EQ(o.err, HU_RUN_OK);
    EXPECT_EQ(o.r0, 100u);
    EXPECT_EQ(o.executed, 1u + 5 * 100);
  }
}

// Jumps over more than 127 bytes in both directions, and helper calls in
// between: the layout passes settle and every target is right.
TEST(Jit, LongJumpsSettle) {
  std::string text = "mov %r0, 0\nmov %r6, 0\nja middle\nback:\n";
  for (int i = 0; i < 200; ++i) text += "add %r0, " + std::to_string(i) + "\n";
  text += "ja out\nmiddle:\n";
  for (int i = 0; i < 100; ++i) text += "xor %r6, " + std::to_string(i) + "\n";
  text += "jeq %r6, 0, back\njeq %r6, 6, back\nexit\nout:\nmov %r1, %r0\ncall 2\nexit\n";
  auto prog = Asm(text);
  for (bool blind : {false, true}) {
    auto img = Jit(prog, {.blind = blind});
    Runner r;
    hu_run ref = r.run;
    ref.insns = prog.data();
    ref.ninsns = prog.size();
    ASSERT_EQ(hu_interp_run(&ref, 0, 0, 0), HU_RUN_OK);
    ASSERT_EQ(r.Go(img), HU_RUN_OK);
    EXPECT_EQ(r.run.r0, ref.r0);
    EXPECT_EQ(r.run.r0, 2u * (199 * 200 / 2));
  }
}

TEST(Jit, HelperOutOfReachIsRefused) {
  // A "helper" at the bottom of the address space cannot be reached from
  // memory near the others with call rel32.
  std::array<hu_helper_fn, 2> far{Add, reinterpret_cast<hu_helper_fn>(uintptr_t{0x10000})};
  auto img = hu::jit::Image::Compile(Asm("call 1\nexit"), far.data(), far.size());
  ASSERT_FALSE(img.ok());
  EXPECT_EQ(img.error().code, hu::ErrorCode::kResourceExhausted);
}

TEST(Jit, RunChecksItsConfiguration) {
  auto img = Jit(Asm("mov %r0, 1\nexit"));
  Runner r;
  std::array<hu_helper_fn, 3> other{nullptr, Add, Twice};
  r.run.helpers = other.data();  // not the table the image was made with
  EXPECT_EQ(r.Go(img), HU_RUN_BAD_CONFIG);
  r = Runner();
  std::vector<hu_mem_region> many(HU_JIT_MAX_REGIONS + 1, hu_mem_region{4096, 8, 0, 0});
  r.run.regions = many.data();
  r.run.nregions = many.size();
  EXPECT_EQ(r.Go(img), HU_RUN_BAD_CONFIG);
  r.run.nregions = HU_JIT_MAX_REGIONS;
  EXPECT_EQ(r.Go(img), HU_RUN_OK);
}

// Every region of a full table is reachable, read-only ones refuse writes
// with READONLY, and the stack buffer (last in the table) still works.
TEST(Jit, FullRegionTable) {
  std::vector<std::array<uint64_t, 2>> mem(HU_JIT_MAX_REGIONS);
  std::vector<hu_mem_region> regions;
  for (size_t i = 0; i < mem.size(); ++i) {
    mem[i] = {i * 10, 0};
    regions.push_back({reinterpret_cast<uintptr_t>(mem[i].data()), 16, i % 2 ? 1u : 0u, 0});
  }
  auto sum = Jit(Asm("ldxdw %r0, [%r1+0]\nstxdw [%r2+8], %r0\nexit"));
  for (size_t i = 0; i < mem.size(); ++i) {
    Runner r;
    r.run.regions = regions.data();
    r.run.nregions = regions.size();
    auto src = reinterpret_cast<uintptr_t>(mem[i].data());
    auto dst = i % 2 ? src : reinterpret_cast<uintptr_t>(r.stack.data());
    ASSERT_EQ(r.Go(sum, src, dst), HU_RUN_OK) << i;
    EXPECT_EQ(r.run.r0, i * 10);
    if (i % 2) {
      EXPECT_EQ(mem[i][1], i * 10);
    }
    EXPECT_EQ(r.Go(sum, src, src), i % 2 ? HU_RUN_OK : HU_RUN_READONLY) << i;
    EXPECT_EQ(r.Go(sum, src + 9, dst), HU_RUN_OOB_MEM) << i;
  }
}

// One image, several threads running it at once: all state is per run.
TEST(Jit, ConcurrentRunsOfOneImage) {
  auto img = Jit(Asm(R"(
    mov %r6, %r1
    mov %r0, 0
    mov %r7, 1000
  loop:
    stxdw [%r10-8], %r6
    ldxdw %r1, [%r10-8]
    mov %r2, %r0
    call 1
    sub %r7, 1
    jne %r7, 0, loop
    exit
  )"));
  std::vector<std::thread> threads;
  std::array<uint64_t, 4> results{};
  for (size_t t = 0; t < results.size(); ++t) {
    threads.emplace_back([&, t] {
      Runner r;
      for (int rep = 0; rep < 50; ++rep) {
        if (r.Go(img, t + 1) != HU_RUN_OK) return;
        results[t] = r.run.r0;
      }
    });
  }
  for (auto& th : threads) th.join();
  for (size_t t = 0; t < results.size(); ++t) EXPECT_EQ(results[t], 1000 * (t + 1));
}

}  // namespace
