// Conditional jumps: each side gets the state in which its condition holds
// (or is dropped when it cannot hold). Pointers may only be compared with
// pointers into the same region, or with 0 as a null check: comparing an
// address with a number would let the guest learn the address bit by bit.
#include <string>

#include "analyzer.hpp"

namespace hu::verifier {
namespace {

bool IsZero(const Value& v) { return v.kind == Kind::kScalar && v.s.IsConst() && v.s.Value() == 0; }

// After a null check, every copy of the checked lookup result is known.
void ResolveNull(State& st, const Value& checked, int reg, bool is_null) {
  auto fix = [&](Value& v) {
    if (v.kind != Kind::kMapValueOrNull) return;
    if (checked.id == 0 ? &v != &st.reg(reg) : v.id != checked.id) return;
    if (is_null) {
      v = Value::Num(Scalar::Const(0));
    } else {
      v.kind = Kind::kMapValue;
      v.id = 0;
    }
  };
  if (checked.id == 0) {
    fix(st.reg(reg));
    return;
  }
  for (Frame& f : st.frames) {
    for (Value& v : f.regs) fix(v);
    for (int slot = 0; slot < kSlots; slot++)
      if (f.bytes[slot * 8] == Byte::kSpill) fix(f.spills[slot]);
  }
}

// A refined register and every copy of it (same id) get the new bounds.
void SetScalar(State& st, int reg, const Scalar& s) {
  uint32_t id = st.reg(reg).id;
  st.reg(reg).s = s;
  if (id < kCopyIdBase) return;
  for (Frame& f : st.frames) {
    for (Value& v : f.regs)
      if (v.id == id && v.kind == Kind::kScalar) v.s = s;
    for (int slot = 0; slot < kSlots; slot++)
      if (f.bytes[slot * 8] == Byte::kSpill && f.spills[slot].id == id) f.spills[slot].s = s;
  }
}

}  // namespace

Analyzer::Fail Analyzer::Jump(int32_t pc, const hu_insn& insn, State& st, std::vector<Succ>& out) {
  int32_t target = static_cast<int32_t>(JumpTarget(insn, pc));
  if (HU_OP(insn.code) == HU_JMP_JA) {
    out.push_back({target, std::move(st)});
    return std::nullopt;
  }
  bool is64 = HU_CLASS(insn.code) == HU_CLS_JMP;
  bool x = HU_SRC(insn.code) == HU_SRC_X;
  int op = HU_OP(insn.code);
  int d = insn.dst, s = insn.src;
  if (auto f = Read(pc, st, d)) return f;
  if (x)
    if (auto f = Read(pc, st, s)) return f;
  Value dv = st.reg(d);
  Value sv = x ? st.reg(s)
               : Value::Num(Scalar::Const(static_cast<uint64_t>(static_cast<int64_t>(insn.imm))));

  bool taken = true, fall = true;
  State other = st;  // becomes the taken side
  if (dv.IsPointer() || sv.IsPointer()) {
    if (!is64)
      return Fault(pc, "32-bit comparison of a pointer would leak its address", st, {d, s});
    if (dv.IsPointer() && sv.IsPointer()) {
      bool same = dv.kind == sv.kind && dv.ref == sv.ref;
      if (!same || op == HU_JMP_JSET)
        return Fault(pc, "comparison of pointers into different regions", st, {d, s});
    } else {
      const Value& p = dv.IsPointer() ? dv : sv;
      const Value& n = dv.IsPointer() ? sv : dv;
      int preg = dv.IsPointer() ? d : s;
      if (!IsZero(n) || (op != HU_JMP_JEQ && op != HU_JMP_JNE))
        return Fault(pc,
                     "comparing pointer r" + std::to_string(preg) +
                         " with a scalar would leak its address (only == 0 / != 0 is allowed)",
                     st, {d, s});
      bool eq_taken = op == HU_JMP_JEQ;
      State& null_side = eq_taken ? other : st;
      State& nonnull_side = eq_taken ? st : other;
      if (p.kind == Kind::kMapValueOrNull) {
        ResolveNull(null_side, p, preg, true);
        ResolveNull(nonnull_side, p, preg, false);
      } else {
        // A pointer that cannot be NULL: the "== 0" side is impossible.
        (eq_taken ? taken : fall) = false;
      }
    }
  } else {
    Scalar td = dv.s, ts = sv.s, fd = dv.s, fs = sv.s;
    taken = Refine(op, is64, td, ts);
    fall = Refine(NegateCond(op), is64, fd, fs);
    if (taken) {
      SetScalar(other, d, td);
      if (x) SetScalar(other, s, ts);
    }
    if (fall) {
      SetScalar(st, d, fd);
      if (x) SetScalar(st, s, fs);
    }
  }
  if (fall) out.push_back({pc + 1, std::move(st)});
  if (taken) out.push_back({target, std::move(other)});
  return std::nullopt;
}

}  // namespace hu::verifier
