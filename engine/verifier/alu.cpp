// ALU transfer: scalars through the scalar domain; pointers only through
// the few operations that keep them pointers (add/sub of a bounded scalar,
// difference of two pointers into the same region). Anything else on a
// pointer would turn an address into a number the guest could observe.
#include <string>

#include "analyzer.hpp"

namespace hu::verifier {
namespace {

// Pointer offsets stay far from overflow; accesses are checked exactly later.
constexpr int64_t kMaxPtrOff = 1ll << 29;

const char* OpName(uint8_t op) {
  static const char* names[16] = {"add", "sub", "mul", "div", "or",   "and",    "lsh", "rsh",
                                  "neg", "mod", "xor", "mov", "arsh", "endian", "?",   "?"};
  return names[op >> 4];
}

}  // namespace

Analyzer::Fail Analyzer::Alu(int32_t pc, const hu_insn& insn, State& st) {
  bool is64 = HU_CLASS(insn.code) == HU_CLS_ALU64;
  uint8_t op = HU_OP(insn.code);
  bool x = HU_SRC(insn.code) == HU_SRC_X;
  bool unary = op == HU_ALU_NEG || op == HU_ALU_END;
  int d = insn.dst, s = insn.src;

  if (op != HU_ALU_MOV)
    if (auto f = Read(pc, st, d)) return f;
  Value src;
  if (!unary) {
    if (x) {
      if (auto f = Read(pc, st, s)) return f;
      src = st.reg(s);
    } else {
      src = Value::Num(Scalar::Const(static_cast<uint64_t>(static_cast<int64_t>(insn.imm))));
    }
  }
  Value& dst = st.reg(d);

  if (op == HU_ALU_MOV && src.IsPointer()) {
    if (!is64 || insn.off != 0)
      return Fault(pc,
                   std::string(is64 ? "sign extension" : "32-bit move") +
                       " of a pointer would leak its address",
                   st, {s});
    dst = src;
    return std::nullopt;
  }
  if (op == HU_ALU_MOV && is64 && insn.off == 0 && x && !src.s.IsConst()) {
    // A 64-bit copy of a scalar: both registers share an id, so a branch
    // that bounds one bounds the other (compilers test a copy, use the
    // original). The id is the copy's site; older holders of it lose it.
    Value& from = st.reg(s);
    if (from.id == 0) {
      uint32_t id = kCopyIdBase + static_cast<uint32_t>(pc);
      ForgetId(st, id);
      from.id = id;
    }
    dst = from;
    return std::nullopt;
  }
  bool dptr = op != HU_ALU_MOV && dst.IsPointer();
  if (!dptr && !src.IsPointer()) {
    const Scalar& a = op == HU_ALU_MOV ? src.s : dst.s;
    dst = Value::Num(verifier::Alu(is64, op, insn.off, insn.imm, x, a, src.s));
    return std::nullopt;
  }

  // Pointer arithmetic.
  int preg = dptr ? d : s;
  const Value& ptr = dptr ? dst : src;
  if (!is64) return Fault(pc, "32-bit arithmetic on a pointer would leak its address", st, {preg});
  if (dptr && src.IsPointer()) {
    // The difference of two pointers into one object is the difference of
    // their offsets; across objects it would be the distance between two
    // host allocations.
    bool subtractable = dst.kind != Kind::kMapValueOrNull && dst.kind != Kind::kMapPtr &&
                        src.kind != Kind::kMapValueOrNull && SameObject(dst, src);
    if (op == HU_ALU_SUB && subtractable) {
      dst = Value::Num(verifier::Alu(true, HU_ALU_SUB, 0, 0, false, dst.s, src.s));
      return std::nullopt;
    }
    if (op == HU_ALU_SUB)
      return Fault(pc,
                   "difference of pointers into different objects would leak where the host "
                   "placed them (only pointers into one stack frame, the context, or the same "
                   "checked map lookup result may be subtracted)",
                   st, {d, s});
    return Fault(pc, std::string("'") + OpName(op) + "' of two pointers is not allowed", st,
                 {d, x ? s : -1});
  }
  if (op != HU_ALU_ADD && (op != HU_ALU_SUB || !dptr))
    return Fault(pc,
                 std::string("pointer arithmetic with '") + OpName(op) +
                     "' would leak the address in r" + std::to_string(preg) +
                     " (only adding or subtracting a scalar is allowed)",
                 st, {d, x ? s : -1});
  if (ptr.kind == Kind::kMapValueOrNull)
    return Fault(
        pc,
        "arithmetic on r" + std::to_string(preg) + ", which may be NULL: compare it with 0 first",
        st, {preg});
  if (ptr.kind == Kind::kMapPtr)
    return Fault(pc, "arithmetic on a map pointer is not allowed", st, {preg});
  const Scalar& delta = dptr ? src.s : dst.s;
  int sreg = dptr ? (x ? s : -1) : d;
  if (delta.smin < -kMaxPtrOff || delta.smax > kMaxPtrOff)
    return Fault(pc,
                 "pointer arithmetic with an unbounded scalar" +
                     (sreg >= 0 ? " r" + std::to_string(sreg) : std::string()) +
                     ": bound it with a comparison first",
                 st, {d, x ? s : -1});
  Value r = ptr;
  r.s = verifier::Alu(true, op, 0, 0, false, ptr.s, delta);
  if (r.s.smin < -kMaxPtrOff || r.s.smax > kMaxPtrOff)
    return Fault(pc, "pointer offset out of range", st, {d, x ? s : -1});
  dst = r;
  return std::nullopt;
}

}  // namespace hu::verifier
