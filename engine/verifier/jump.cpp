// Conditional jumps: each side gets the state in which its condition holds
// (or is dropped when it cannot hold). Pointers may only be compared with
// pointers into the same object, or with 0 as a null check (unsigned
// conditions only: a signed one would tell the address's top bit);
// comparing an address with a number would let the guest learn it bit by
// bit.
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
      // The id stays: the copies still point to the same element.
      v.kind = Kind::kMapValue;
    }
  };
  if (checked.id == 0) {
    fix(st.reg(reg));
    return;
  }
  for (Frame& f : st.frames) {
    for (Value& v : f.regs) fix(v);
    for (int slot = 0; slot < kSlots; slot++)
      if (f.IsSpill(slot)) fix(f.spill(slot));
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
      if (f.IsSpill(slot) && f.spill(slot).id == id) f.spill(slot).s = s;
  }
}

// `ptr op 0` with the pointer on the left: the side on which it is NULL.
enum class NullSide { kTaken, kFall, kNeither, kLeak };

NullSide NullCheck(int op) {
  switch (op) {
    case HU_JMP_JEQ:
    case HU_JMP_JLE:  // unsigned <= 0: == 0
      return NullSide::kTaken;
    case HU_JMP_JNE:
    case HU_JMP_JGT:  // unsigned > 0: != 0
      return NullSide::kFall;
    case HU_JMP_JLT:   // unsigned < 0: never
    case HU_JMP_JGE:   // unsigned >= 0: always
    case HU_JMP_JSET:  // & 0: never
      return NullSide::kNeither;
    default:  // signed: the answer depends on the address's top bit
      return NullSide::kLeak;
  }
}

// `a op b` == `b Swapped(op) a`.
int Swapped(int op) {
  switch (op) {
    case HU_JMP_JGT:
      return HU_JMP_JLT;
    case HU_JMP_JLT:
      return HU_JMP_JGT;
    case HU_JMP_JGE:
      return HU_JMP_JLE;
    case HU_JMP_JLE:
      return HU_JMP_JGE;
    case HU_JMP_JSGT:
      return HU_JMP_JSLT;
    case HU_JMP_JSLT:
      return HU_JMP_JSGT;
    case HU_JMP_JSGE:
      return HU_JMP_JSLE;
    case HU_JMP_JSLE:
      return HU_JMP_JSGE;
    default:
      return op;
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
      if (!SameObject(dv, sv) || op == HU_JMP_JSET)
        return Fault(pc,
                     "comparison of pointers into different objects would leak where the host "
                     "placed them",
                     st, {d, s});
    } else {
      const bool left = dv.IsPointer();
      const Value& p = left ? dv : sv;
      const Value& n = left ? sv : dv;
      int preg = left ? d : s;
      NullSide side = NullCheck(left ? op : Swapped(op));
      if (!IsZero(n))
        return Fault(pc,
                     "comparing pointer r" + std::to_string(preg) +
                         " with a scalar other than 0 would leak its address",
                     st, {d, s});
      if (side == NullSide::kLeak)
        return Fault(pc,
                     "signed comparison of pointer r" + std::to_string(preg) +
                         " with 0 would leak its address's top bit (use == 0, != 0, or an "
                         "unsigned condition)",
                     st, {d, s});
      if (side == NullSide::kNeither) {
        // The outcome does not depend on the address: `< 0` never holds,
        // `>= 0` always does.
        ((left ? op : Swapped(op)) == HU_JMP_JGE ? fall : taken) = false;
      } else {
        bool null_taken = side == NullSide::kTaken;
        State& null_side = null_taken ? other : st;
        State& nonnull_side = null_taken ? st : other;
        if (p.kind == Kind::kMapValueOrNull) {
          ResolveNull(null_side, p, preg, true);
          ResolveNull(nonnull_side, p, preg, false);
        } else {
          // A pointer that cannot be NULL: the NULL side is impossible.
          (null_taken ? taken : fall) = false;
        }
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
