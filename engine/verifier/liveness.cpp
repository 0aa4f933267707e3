#include "liveness.hpp"

namespace hu::verifier {
namespace {

constexpr uint16_t Bit(int r) { return static_cast<uint16_t>(1u << r); }
constexpr uint16_t kArgs = 0x3e;      // r1-r5
constexpr uint16_t kCallDefs = 0x3f;  // r0-r5

struct UseDef {
  uint16_t use = 0, def = 0;
};

// Over-approximating `use` and under-approximating `def` is always safe.
UseDef Of(const hu_insn& insn) {
  UseDef u;
  uint8_t cls = HU_CLASS(insn.code), op = HU_OP(insn.code);
  bool x = HU_SRC(insn.code) == HU_SRC_X;
  switch (cls) {
    case HU_CLS_ALU:
    case HU_CLS_ALU64:
      if (op != HU_ALU_MOV) u.use |= Bit(insn.dst);
      if (x && op != HU_ALU_NEG && op != HU_ALU_END) u.use |= Bit(insn.src);
      u.def = Bit(insn.dst);
      break;
    case HU_CLS_LD:  // lddw: the only LD the front end lets through
      u.def = Bit(insn.dst);
      break;
    case HU_CLS_LDX:
      u.use = Bit(insn.src);
      u.def = Bit(insn.dst);
      break;
    case HU_CLS_ST:
      u.use = Bit(insn.dst);
      break;
    case HU_CLS_STX:
      // Atomics may also read r0 (cmpxchg); their writes are not modelled.
      u.use = Bit(insn.dst) | Bit(insn.src) | Bit(0);
      break;
    case HU_CLS_JMP:
    case HU_CLS_JMP32:
      if (op == HU_JMP_EXIT) {
        u.use = Bit(0);
      } else if (op == HU_JMP_CALL) {
        u.use = kArgs;
        if (x) u.use |= Bit(insn.imm != 0 ? insn.imm & 0xf : insn.dst);
        u.def = kCallDefs;
      } else if (op != HU_JMP_JA) {
        u.use = Bit(insn.dst);
        if (x) u.use |= Bit(insn.src);
      }
      break;
  }
  u.use &= 0x7ff;
  return u;
}

}  // namespace

std::vector<uint16_t> LiveIn(std::span<const hu_insn> prog, const Cfg& cfg) {
  const int32_t n = static_cast<int32_t>(prog.size());
  std::vector<UseDef> ud(n);
  // A local call's target starts another function: not a successor here.
  std::vector<int32_t> callee(n, -1);
  for (int32_t pc = 0; pc < n; pc++) {
    if (cfg.second_slot[pc]) continue;
    const hu_insn& insn = prog[pc];
    ud[pc] = Of(insn);
    if (HU_CLASS(insn.code) == HU_CLS_JMP && HU_OP(insn.code) == HU_JMP_CALL &&
        insn.src == HU_CALL_LOCAL && JumpTarget(insn, pc) != pc + 1)
      callee[pc] = static_cast<int32_t>(JumpTarget(insn, pc));
  }
  std::vector<uint16_t> live(n, 0);
  // Backward sweeps until nothing changes; forward jumps dominate, so a
  // sweep from the end converges in a few rounds (one more per loop nest).
  for (bool changed = true; changed;) {
    changed = false;
    for (int32_t pc = n - 1; pc >= 0; pc--) {
      if (cfg.second_slot[pc]) continue;
      uint16_t out = 0;
      for (int32_t t : cfg.succ[pc])
        if (t != callee[pc]) out |= live[t];
      uint16_t in = static_cast<uint16_t>(ud[pc].use | (out & ~ud[pc].def) | Bit(HU_REG_FP));
      if (in != live[pc]) {
        live[pc] = in;
        changed = true;
      }
    }
  }
  return live;
}

}  // namespace hu::verifier
