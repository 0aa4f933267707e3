// Defence in depth of both engines, the interpreter and the JIT: every way
// a hostile program can misbehave ends the run with its defined error code
// at the right pc, and nothing outside the stack and the registered regions
// is touched. Each test runs once per engine; where the JIT differs by
// design (the budget is charged per back edge and call, not per
// instruction) the test says so.
#include <gtest/gtest.h>

#include <array>
#include <cstring>
#include <string>
#include <vector>

#include "hyperupcall/asm.hpp"
#include "hyperupcall/decode.hpp"
#include "hyperupcall/interp.h"
#include "hyperupcall/jit.hpp"
#include "hyperupcall/opcodes.h"

namespace {

uint64_t Echo(hu_run*, uint64_t r1, uint64_t, uint64_t, uint64_t, uint64_t) { return r1; }
uint64_t Stop(hu_run* run, uint64_t r1, uint64_t, uint64_t, uint64_t, uint64_t) {
  run->stop = 1;
  return r1 + 1;
}

enum class Kind { kInterp, kJit };

// Runs `prog` on `run` with the engine `kind`; the JIT translates it first
// (blinded, with the run's helper table) and fails the test if it cannot.
int Execute(Kind kind, const std::vector<hu_insn>& prog, hu_run* run, uint64_t r1 = 0,
            uint64_t r2 = 0, uint64_t r3 = 0) {
  run->insns = prog.data();
  run->ninsns = static_cast<uint32_t>(prog.size());
  if (kind == Kind::kInterp) return hu_interp_run(run, r1, r2, r3);
  auto img = hu::jit::Image::Compile(prog, run->helpers, run->nhelpers);
  EXPECT_TRUE(img.ok()) << (img.ok() ? "" : img.error().message);
  if (!img.ok()) return -1;
  return img->Run(run, r1, r2, r3);
}

class EngineRun : public ::testing::TestWithParam<Kind> {
 protected:
  bool jit() const { return GetParam() == Kind::kJit; }

  // Assembles and runs `text`; r1..r3 as given.
  int Run(std::string_view text, uint64_t r1 = 0, uint64_t r2 = 0, uint64_t r3 = 0) {
    auto p = hu::Assemble(text);
    EXPECT_TRUE(p.ok()) << (p.ok() ? "" : p.error().message);
    if (!p.ok()) return -1;
    prog_ = std::move(*p);
    return Execute(GetParam(), prog_, &run_, r1, r2, r3);
  }

  void SetUp() override {
    run_.stack = stack_.data();
    run_.stack_size = stack_.size();
    run_.helpers = helpers_.data();
    run_.nhelpers = helpers_.size();
    run_.budget = 10'000;
  }

  alignas(8) std::array<uint8_t, HU_STACK_FRAME * HU_MAX_CALL_DEPTH> stack_{};
  std::array<hu_helper_fn, 3> helpers_{Echo, nullptr, Stop};
  std::vector<hu_insn> prog_;
  hu_run run_{};
};

TEST_P(EngineRun, ReturnsR0AndCountsInstructions) {
  EXPECT_EQ(Run("mov %r0, %r1\nadd %r0, %r3\nexit", 40, 0, 2), HU_RUN_OK);
  EXPECT_EQ(run_.r0, 42u);
  // The JIT charges the entry only: there is no loop and no call.
  EXPECT_EQ(run_.executed, jit() ? 1u : 3u);
}

TEST_P(EngineRun, BudgetExhaustion) {
  run_.budget = 100;
  EXPECT_EQ(Run("mov %r0, 0\nloop: add %r0, 1\nja loop\nexit"), HU_RUN_BUDGET);
  EXPECT_EQ(run_.executed, 100u);
  // Interpreter: pc 0, then pc 1, 2 alternate: the 101st is pc 2. JIT: the
  // back edge at pc 2 charges the loop's 2 instructions and runs out there.
  EXPECT_EQ(run_.err_pc, 2u);
  run_.budget = 0;
  EXPECT_EQ(Run("exit"), HU_RUN_BUDGET);
  EXPECT_EQ(run_.err_pc, 0u);
  run_.budget = 1;
  EXPECT_EQ(Run("exit"), HU_RUN_OK);
}

TEST_P(EngineRun, StackAccessOutsideTheCurrentFrame) {
  EXPECT_EQ(Run("mov %r0, 0\nstxdw [%r10+0], %r0\nexit"), HU_RUN_OOB_STACK);
  EXPECT_EQ(run_.err_pc, 1u);
  EXPECT_EQ(Run("ldxb %r0, [%r10-513]\nexit"), HU_RUN_OOB_STACK);
  EXPECT_EQ(run_.err_pc, 0u);
  EXPECT_EQ(Run("ldxdw %r0, [%r10-4]\nexit"), HU_RUN_OOB_STACK);  // straddles the top
  EXPECT_EQ(Run("stb [%r10-512], 1\nldxb %r0, [%r10-512]\nexit"), HU_RUN_OK);
  EXPECT_EQ(run_.r0, 1u);
}

TEST_P(EngineRun, AccessOutsideStackAndRegions) {
  uint64_t secret = 0x5ec2e7;
  auto addr = reinterpret_cast<uintptr_t>(&secret);
  EXPECT_EQ(Run("mov %r0, 0\nldxdw %r0, [%r1+0]\nexit", addr), HU_RUN_OOB_MEM);
  EXPECT_EQ(run_.err_pc, 1u);
  // A pointer derived from r10 that leaves the whole stack buffer.
  EXPECT_EQ(Run("mov %r1, %r10\nstdw [%r1+8], 1\nexit"), HU_RUN_OOB_MEM);
  EXPECT_EQ(Run("mov %r1, %r10\nadd %r1, -4097\nldxb %r0, [%r1]\nexit"), HU_RUN_OOB_MEM);
  // A near-wraparound address must not pass by overflow.
  EXPECT_EQ(Run("mov %r1, -1\nldxdw %r0, [%r1+0]\nexit"), HU_RUN_OOB_MEM);
  EXPECT_EQ(secret, 0x5ec2e7u);
}

TEST_P(EngineRun, RegionsBoundReadsAndWrites) {
  std::array<uint8_t, 16> ro{}, rw{};
  ro[3] = 7;
  hu_mem_region regions[2] = {{reinterpret_cast<uintptr_t>(ro.data()), ro.size(), 0, 0},
                              {reinterpret_cast<uintptr_t>(rw.data()), rw.size(), 1, 0}};
  run_.regions = regions;
  run_.nregions = 2;
  auto ro_addr = reinterpret_cast<uintptr_t>(ro.data());
  auto rw_addr = reinterpret_cast<uintptr_t>(rw.data());
  EXPECT_EQ(Run("ldxb %r0, [%r1+3]\nexit", ro_addr), HU_RUN_OK);
  EXPECT_EQ(run_.r0, 7u);
  EXPECT_EQ(Run("stb [%r1+3], 9\nexit", ro_addr), HU_RUN_READONLY);
  EXPECT_EQ(run_.err_pc, 0u);
  EXPECT_EQ(ro[3], 7);
  EXPECT_EQ(Run("mov %r0, 0\nstxw [%r1+12], %r1\nexit", rw_addr), HU_RUN_OK);
  EXPECT_EQ(Run("stxw [%r1+13], %r1\nexit", rw_addr), HU_RUN_OOB_MEM);  // one byte past
  EXPECT_EQ(Run("lock add [%r1+0], %r1\nexit", ro_addr), HU_RUN_READONLY);
}

TEST_P(EngineRun, UnknownHelper) {
  EXPECT_EQ(Run("mov %r1, 5\ncall 0\nexit"), HU_RUN_OK);
  EXPECT_EQ(run_.r0, 5u);
  EXPECT_EQ(Run("mov %r0, 0\ncall 1\nexit"), HU_RUN_UNKNOWN_HELPER);  // NULL entry
  EXPECT_EQ(run_.err_pc, 1u);
  EXPECT_EQ(Run("call 3\nexit"), HU_RUN_UNKNOWN_HELPER);  // past the table
  EXPECT_EQ(Run("call -1\nexit"), HU_RUN_UNKNOWN_HELPER);
  EXPECT_EQ(Run("lddw %r2, 0x100000000\ncall %r2\nexit"), HU_RUN_UNKNOWN_HELPER);
  EXPECT_EQ(run_.err_pc, 2u);
}

TEST_P(EngineRun, HelperCanStopTheRun) {
  EXPECT_EQ(Run("mov %r1, 41\ncall 2\nmov %r0, 0\nexit"), HU_RUN_OK);
  EXPECT_EQ(run_.r0, 42u);
  EXPECT_EQ(run_.executed, jit() ? 1u : 2u);  // the JIT charges no helper call
}

TEST_P(EngineRun, CallDepth) {
  // Unbounded recursion stops at HU_MAX_CALL_DEPTH frames.
  EXPECT_EQ(Run("f: call local f\nexit"), HU_RUN_CALL_DEPTH);
  EXPECT_EQ(run_.err_pc, 0u);
  // The JIT charges the entry and each of the HU_MAX_CALL_DEPTH calls.
  EXPECT_EQ(run_.executed, static_cast<uint64_t>(HU_MAX_CALL_DEPTH) + (jit() ? 1 : 0));
  // Exactly HU_MAX_CALL_DEPTH frames (main + 7 nested) is fine.
  std::string text = "call local f1\nexit\n";
  for (int i = 1; i < HU_MAX_CALL_DEPTH; ++i) {
    text += "f" + std::to_string(i) + ":\n";
    text +=
        i + 1 < HU_MAX_CALL_DEPTH ? "call local f" + std::to_string(i + 1) + "\n" : "mov %r0, 7\n";
    text += "exit\n";
  }
  EXPECT_EQ(Run(text), HU_RUN_OK);
  EXPECT_EQ(run_.r0, 7u);
}

TEST_P(EngineRun, FramesAreSeparateAndCallerStackIsReachableByPointer) {
  EXPECT_EQ(Run("stdw [%r10-8], 11\n"
                "mov %r1, %r10\n"
                "add %r1, -8\n"
                "mov %r6, 99\n"
                "call local f\n"
                "add %r0, %r6\n"  // r6 restored: 99
                "ldxdw %r1, [%r10-8]\n"
                "add %r0, %r1\n"  // caller's slot untouched by the callee's: 11
                "exit\n"
                "f:\n"
                "stdw [%r10-8], 1000\n"  // callee's own frame
                "ldxdw %r0, [%r1+0]\n"   // caller's slot through a pointer: 11
                "mov %r6, 0\n"
                "exit\n"),
            HU_RUN_OK);
  EXPECT_EQ(run_.r0, 11u + 99u + 11u);
}

TEST_P(EngineRun, BadJumpAndFallingOff) {
  EXPECT_EQ(Run("ja +5\nexit"), HU_RUN_BAD_JUMP);
  EXPECT_EQ(run_.err_pc, 0u);
  EXPECT_EQ(Run("ja -2\nexit"), HU_RUN_BAD_JUMP);
  EXPECT_EQ(Run("call local +1\nexit"), HU_RUN_BAD_JUMP);
  EXPECT_EQ(Run("ja32 +1\nexit"), HU_RUN_BAD_JUMP);
  EXPECT_EQ(Run("mov %r0, 1"), HU_RUN_FELL_OFF);
  EXPECT_EQ(run_.err_pc, 1u);
}

TEST_P(EngineRun, BadInstructions) {
  EXPECT_EQ(Run("mov %r0, 0\n.invalid 0x000000000000018f\nexit"), HU_RUN_BAD_INSN);
  EXPECT_EQ(run_.err_pc, 1u);
  EXPECT_EQ(Run("mov %r11, 1\nexit"), HU_RUN_BAD_INSN);       // no such register
  EXPECT_EQ(Run("mov %r10, 1\nexit"), HU_RUN_BAD_INSN);       // r10 is read-only
  EXPECT_EQ(Run("mov %r0, %r12\nexit"), HU_RUN_BAD_INSN);     // no such register
  EXPECT_EQ(Run("lddw %r1, map[0]\nexit"), HU_RUN_BAD_INSN);  // not relocated
  EXPECT_EQ(Run("lock fetch add [%r10-8], %r10\nexit"), HU_RUN_BAD_INSN);
  EXPECT_EQ(Run(".invalid 0x0000000000000018"), HU_RUN_BAD_INSN);        // lddw, no 2nd slot
  EXPECT_EQ(Run(".invalid 0x0000000000000000\nexit"), HU_RUN_BAD_INSN);  // jump into lddw
}

TEST_P(EngineRun, MisalignedAtomic) {
  EXPECT_EQ(Run("stdw [%r10-16], 0\nmov %r1, 1\nlock add [%r10-12], %r1\nexit"), HU_RUN_MISALIGNED);
  EXPECT_EQ(run_.err_pc, 2u);
}

TEST_P(EngineRun, BadConfig) {
  run_.stack_size = HU_STACK_FRAME;  // room for one frame only
  EXPECT_EQ(Run("exit"), HU_RUN_BAD_CONFIG);
  SetUp();
  run_.nregions = 1;  // regions == NULL
  EXPECT_EQ(Run("exit"), HU_RUN_BAD_CONFIG);
  SetUp();
  run_.ninsns = 0;
  run_.insns = nullptr;
  if (jit()) {
    EXPECT_FALSE(hu::jit::Image::Compile({}, run_.helpers, run_.nhelpers).ok());
  } else {
    EXPECT_EQ(hu_interp_run(&run_, 0, 0, 0), HU_RUN_BAD_CONFIG);
  }
}

TEST_P(EngineRun, CheckForHelpers) {
  std::array<uint8_t, 8> ro{};
  hu_mem_region region{reinterpret_cast<uintptr_t>(ro.data()), ro.size(), 0, 0};
  run_.regions = &region;
  run_.nregions = 1;
  auto base = reinterpret_cast<uintptr_t>(ro.data());
  EXPECT_EQ(hu_interp_check(&run_, base, 8, 0), HU_RUN_OK);
  EXPECT_EQ(hu_interp_check(&run_, base, 8, 1), HU_RUN_READONLY);
  EXPECT_EQ(hu_interp_check(&run_, base + 1, 8, 0), HU_RUN_OOB_MEM);
  EXPECT_EQ(hu_interp_check(&run_, UINT64_MAX, 2, 0), HU_RUN_OOB_MEM);
  EXPECT_EQ(hu_interp_check(&run_, reinterpret_cast<uintptr_t>(stack_.data()), stack_.size(), 1),
            HU_RUN_OK);
  EXPECT_EQ(hu_interp_check(&run_, 0, 0, 1), HU_RUN_OK);
}

INSTANTIATE_TEST_SUITE_P(Engines, EngineRun, ::testing::Values(Kind::kInterp, Kind::kJit),
                         [](const ::testing::TestParamInfo<Kind>& info) {
                           return info.param == Kind::kJit ? "Jit" : "Interp";
                         });

TEST(RunError, StrerrorNamesEveryCode) {
  for (int e = HU_RUN_OK; e <= HU_RUN_MISALIGNED; ++e) {
    EXPECT_STRNE(hu_run_strerror(e), "unknown error") << e;
  }
  EXPECT_STREQ(hu_run_strerror(HU_RUN_BUDGET), "instruction budget exhausted");
}

}  // namespace

namespace {

// The interpreter and the validity table agree: no encoding that
// ValidateInsn accepts is refused as a bad instruction at run time (map
// references excepted: the host relocates them before a run).
class EngineTable : public ::testing::TestWithParam<Kind> {};

TEST_P(EngineTable, EveryValidEncodingExecutes) {
  alignas(8) static uint8_t stack[HU_STACK_FRAME * HU_MAX_CALL_DEPTH];
  const int16_t offs[] = {0, 1, 8, 16, 32, -8};
  const int32_t imms[] = {0, 1, 16, 32, 64, -1, 0x41, 0xe1, 0xf1, 0x51};
  int checked = 0;
  for (int code = 0; code < 256; ++code) {
    for (int dst : {0, 1, 9, 10}) {
      for (int src : {0, 1, 10}) {
        for (int16_t off : offs) {
          for (int32_t imm : imms) {
            hu_insn insn{};
            insn.code = static_cast<uint8_t>(code);
            insn.dst = dst & 0xf;
            insn.src = src & 0xf;
            insn.off = off;
            insn.imm = imm;
            hu_insn hi{};
            if (!hu::ValidateInsn(insn, &hi).ok()) continue;
            if (code == (HU_CLS_LD | HU_MODE_IMM | HU_SIZE_DW) && src != 0) continue;
            // Point r0..r9 at the middle of the first frame, 8-aligned, so
            // memory operands are in bounds; then the instruction; then exit.
            std::vector<hu_insn> prog;
            for (uint8_t r = 0; r < 10; ++r) {
              hu_insn mov{};
              mov.code = HU_CLS_ALU64 | HU_ALU_MOV | HU_SRC_X;
              mov.dst = r;
              mov.src = HU_REG_FP;
              hu_insn add{};
              add.code = HU_CLS_ALU64 | HU_ALU_ADD | HU_SRC_K;
              add.dst = r;
              add.imm = -256;
              prog.push_back(mov);
              prog.push_back(add);
            }
            prog.push_back(insn);
            if (hu_opcodes[code].flags & HU_OPF_LDDW) prog.push_back(hi);
            hu_insn exit_insn{};
            exit_insn.code = HU_CLS_JMP | HU_JMP_EXIT;
            for (int i = 0; i < 40; ++i) prog.push_back(exit_insn);  // jump landing room
            hu_run run{};
            run.stack = stack;
            run.stack_size = sizeof stack;
            run.budget = 1000;
            Execute(GetParam(), prog, &run);
            ++checked;
            EXPECT_NE(run.err, HU_RUN_BAD_INSN)
                << "opcode 0x" << std::hex << code << " dst " << dst << " src " << src << " off "
                << std::dec << off << " imm " << imm;
          }
        }
      }
    }
  }
  EXPECT_GT(checked, 1000);
}

INSTANTIATE_TEST_SUITE_P(Engines, EngineTable, ::testing::Values(Kind::kInterp, Kind::kJit),
                         [](const ::testing::TestParamInfo<Kind>& info) {
                           return info.param == Kind::kJit ? "Jit" : "Interp";
                         });

}  // namespace
