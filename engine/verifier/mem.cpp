// Memory transfer: loads, stores and atomics through a pointer register,
// and the accesses helpers make through their pointer arguments. Every
// region has its own rule: the context is read-only and field-granular;
// the stack is bounded by its frame and must be written before it is read;
// map values and platform memory are bounded by their size. Pointers may be
// spilled to the stack but never stored where the guest could read them.
#include <string>

#include "analyzer.hpp"
#include "footprint.hpp"

namespace hu::verifier {
namespace {

uint32_t SizeBytes(uint8_t size) {
  switch (size) {
    case HU_SIZE_B:
      return 1;
    case HU_SIZE_H:
      return 2;
    case HU_SIZE_W:
      return 4;
    default:
      return 8;
  }
}

std::string Span(int64_t lo, int64_t hi) {
  return "[" + std::to_string(lo) + ", " + std::to_string(hi) + ")";
}

Value Loaded(uint32_t size, bool sext) {
  Scalar s = Trunc(Scalar::Unknown(), size * 8);
  if (sext) s = Sext(s, size * 8);
  return Value::Num(s);
}

// Drops a spill that a narrower store overlaps: a scalar's other bytes stay
// initialised data, a pointer's become unreadable.
void BreakSpill(Frame& f, int slot) {
  if (!f.IsSpill(slot)) return;
  f.ClearSpill(slot, f.spill(slot).kind == Kind::kScalar ? Byte::kMisc : Byte::kInvalid);
}

}  // namespace

Analyzer::Fail Analyzer::Bounds(int32_t pc, const Value& ptr, int reg, int64_t lo, int64_t hi,
                                uint32_t size, bool write) {
  // Built only for a message: this runs for every access.
  auto r = [&] {
    return reg >= 0 ? "r" + std::to_string(reg) + "=" + ptr.ToString() : ptr.ToString();
  };
  int64_t end = hi + size;
  switch (ptr.kind) {
    case Kind::kStack:
      if (lo < -HU_STACK_FRAME || end > 0)
        return Failure{
            pc,
            "stack access out of bounds: bytes " + Span(lo, end) + " outside the frame [-512, 0)",
            r()};
      return std::nullopt;
    case Kind::kMapValue: {
      uint64_t vs = opts_.maps[ptr.ref].value_size;
      if (lo < 0 || end > static_cast<int64_t>(vs))
        return Failure{pc,
                       "map value access out of bounds: bytes " + Span(lo, end) +
                           " outside value_size " + std::to_string(vs) + " of map " +
                           std::to_string(ptr.ref),
                       r()};
      return std::nullopt;
    }
    case Kind::kMem: {
      const EntryArg& m = entry_[ptr.ref];
      if (lo < 0 || end > static_cast<int64_t>(m.size))
        return Failure{pc,
                       "memory access out of bounds: bytes " + Span(lo, end) + " outside " +
                           std::to_string(m.size) + "-byte block",
                       r()};
      if (write && !m.writable) return Failure{pc, "memory block is read-only", r()};
      return std::nullopt;
    }
    case Kind::kCtx: {
      if (write) return Failure{pc, "the context is read-only", r()};
      if (lo != hi)
        return Failure{pc,
                       "context access with a variable offset (context fields are read at "
                       "constant offsets)",
                       r()};
      std::string layout = std::string(ctx_->name) + ", " + std::to_string(ctx_->size) +
                           " bytes, hook " + platform_.Name(opts_.hook);
      if (lo < 0 || end > static_cast<int64_t>(ctx_->size))
        return Failure{
            pc, "context read out of bounds: bytes " + Span(lo, end) + " (" + layout + ")", r()};
      for (const CtxField& f : ctx_->fields)
        if (lo >= f.offset && end <= f.offset + f.size && lo % size == 0) return std::nullopt;
      return Failure{
          pc,
          "context read " + Span(lo, end) + " is not an aligned part of one field (" + layout + ")",
          r()};
    }
    case Kind::kMapValueOrNull:
      return Failure{
          pc, "possible NULL dereference: check map_lookup_elem's result against 0 first", r()};
    case Kind::kMapPtr:
      return Failure{pc, "a map pointer cannot be dereferenced (use the map helpers)", r()};
    case Kind::kScalar:
      return Failure{pc,
                     "dereference of a scalar: memory is reachable only through the context, "
                     "the stack, map values and helpers",
                     r()};
    default:
      return Failure{pc, "dereference of an unusable register", r()};
  }
}

Analyzer::Fail Analyzer::StackRead(int32_t pc, const State& st, const Value& ptr, int64_t lo,
                                   int64_t hi, uint32_t size, Value* loaded, bool sext,
                                   const char* who) {
  const Frame& f = st.frames[ptr.ref];
  // A register fill gets the spilled value back (a narrow spill when the
  // load is exactly its bytes); a helper reading the slot as data must not
  // see a pointer (checked byte by byte below).
  if (loaded && lo == hi) {
    int slot = static_cast<int>((lo + HU_STACK_FRAME) / 8);
    int at = static_cast<int>((lo + HU_STACK_FRAME) % 8);
    if (f.IsSpill(slot) && f.SpillOff(slot) == at && f.SpillSize(slot) == static_cast<int>(size)) {
      *loaded = f.spill(slot);
      if (size < 8) *loaded = Value::Num(sext ? Sext(loaded->s, size * 8) : loaded->s);
      return std::nullopt;
    }
  }
  const Footprint fp = StackFootprint(lo, hi, ptr.s.t, size, size);
  bool zero = true;
  for (int64_t i = lo; i < hi + size; i++) {
    if (!fp.May(i)) continue;
    Byte b = f.bytes[i + HU_STACK_FRAME];
    if (b == Byte::kInvalid) {
      std::string why;
      int32_t by = var_write_pc_[ptr.ref * HU_STACK_FRAME + (i + HU_STACK_FRAME)];
      if (by >= 0)
        why = " (insn " + std::to_string(by) +
              " writes at a variable offset that may not reach it: only bytes that every "
              "offset it may have covers count as written)";
      return Failure{pc,
                     std::string(who) + " uninitialised stack: fp" + std::to_string(i) +
                         " is read before it is written" + why,
                     "fp" + std::to_string(lo) + ".." + std::to_string(hi + size)};
    }
    if (b == Byte::kSpill &&
        f.spill(static_cast<int>((i + HU_STACK_FRAME) / 8)).kind != Kind::kScalar)
      return Failure{pc,
                     std::string(who) + " part of a spilled pointer at fp" +
                         std::to_string((i + HU_STACK_FRAME) / 8 * 8 - HU_STACK_FRAME) +
                         " as data would leak its address",
                     "fp" + std::to_string(lo) + ".." + std::to_string(hi + size)};
    if (b != Byte::kZero) zero = false;
  }
  if (loaded) *loaded = zero ? Value::Num(Scalar::Const(0)) : Loaded(size, sext);
  return std::nullopt;
}

void Analyzer::StackWrite(int32_t pc, State& st, const Value& ptr, int64_t lo, int64_t hi,
                          uint32_t min, uint32_t max, const Value& v) {
  Frame& f = st.frames[ptr.ref];
  const int slot = static_cast<int>((lo + HU_STACK_FRAME) / 8);
  if (lo == hi && min == 8 && max == 8 && lo % 8 == 0) {
    f.SetSpill(slot, v);
    return;
  }
  bool zero =
      v.kind == Kind::kScalar && Trunc(v.s, max * 8).IsConst() && Trunc(v.s, max * 8).Value() == 0;
  // A narrower scalar at a known, naturally aligned offset keeps its value
  // (what a load of the same bytes gets back); zeros stay zero bytes.
  if (lo == hi && min == max && max < 8 && lo % max == 0 && v.kind == Kind::kScalar && !zero) {
    BreakSpill(f, slot);
    f.SetSpill(slot, Value::Num(Trunc(v.s, max * 8)), static_cast<int>((lo + HU_STACK_FRAME) % 8),
               static_cast<int>(max));
    return;
  }
  const Footprint fp = StackFootprint(lo, hi, ptr.s.t, min, max);
  for (int64_t i = lo; i < hi + max; i++) {
    if (!fp.May(i)) continue;
    int idx = static_cast<int>(i + HU_STACK_FRAME);
    BreakSpill(f, idx / 8);
    Byte& b = f.bytes[idx];
    if (fp.Must(i)) {
      b = zero ? Byte::kZero : Byte::kMisc;
    } else {
      // May or may not be written: only what both cases share.
      if (b == Byte::kZero && !zero) b = Byte::kMisc;
      if (b == Byte::kInvalid) var_write_pc_[ptr.ref * HU_STACK_FRAME + idx] = pc;
    }
  }
}

Analyzer::Fail Analyzer::Mem(int32_t pc, State& st, int base_reg, int32_t off, uint32_t size,
                             Access how, const Value* stored, Value* loaded, bool sext) {
  if (auto f = Read(pc, st, base_reg, "base pointer")) return f;
  const Value ptr = st.reg(base_reg);
  if (ptr.IsPointer() && (ptr.s.smin < -(1ll << 30) || ptr.s.smax > (1ll << 30)))
    return Fault(pc, "pointer offset is not bounded", st, {base_reg});
  // Only a pointer's offset is small enough to add to; scalars fail below.
  int64_t lo = ptr.IsPointer() ? ptr.s.smin + off : 0;
  int64_t hi = ptr.IsPointer() ? ptr.s.smax + off : 0;
  if (auto f = Bounds(pc, ptr, base_reg, lo, hi, size, how != Access::kRead)) return f;
  if (how == Access::kAtomic && (lo != hi || lo % size != 0) && ptr.kind != Kind::kStack)
    return Fault(pc, "atomic access must be naturally aligned at a constant offset", st,
                 {base_reg});
  if (how == Access::kAtomic && ptr.kind == Kind::kStack && (lo != hi || lo % size != 0))
    return Fault(pc, "atomic access must be naturally aligned at a constant offset", st,
                 {base_reg});

  if (stored && stored->IsPointer()) {
    if (ptr.kind != Kind::kStack)
      return Fault(pc,
                   std::string("storing a pointer into ") + KindName(ptr.kind) +
                       " memory would leak its address",
                   st, {base_reg});
    if (how != Access::kWrite || lo != hi || size != 8 || lo % 8 != 0)
      return Fault(
          pc, "a pointer can only be spilled with an aligned 8-byte store at a constant offset", st,
          {base_reg});
    if (stored->kind == Kind::kStack && stored->ref > ptr.ref)
      return Fault(
          pc, "storing a pointer to a callee's stack into its caller's stack (it would dangle)", st,
          {base_reg});
  }

  if (ptr.kind == Kind::kStack) {
    // The offsets are relative to the frame; the pointer's known bits,
    // shifted by `off`, are those of the address's offset.
    Value at = ptr;
    at.s.t = TnumAdd(ptr.s.t, Tnum::Const(static_cast<uint64_t>(static_cast<int64_t>(off))));
    if (how != Access::kWrite)
      if (auto fl = StackRead(pc, st, at, lo, hi, size, loaded, sext,
                              how == Access::kAtomic ? "atomic update of" : "read of"))
        return fl;
    if (how == Access::kAtomic) {
      if (loaded && loaded->kind != Kind::kScalar)
        return Fault(pc, "atomic update of a spilled pointer", st, {base_reg});
      if (loaded && size == 4) *loaded = Value::Num(Trunc(loaded->s, 32));
      StackWrite(pc, st, at, lo, hi, size, size, Loaded(size, false));
    } else if (how == Access::kWrite) {
      StackWrite(pc, st, at, lo, hi, size, size, *stored);
    }
    return std::nullopt;
  }
  if (loaded) *loaded = Loaded(size, sext);
  return std::nullopt;
}

Analyzer::Fail Analyzer::Load(int32_t pc, const hu_insn& insn, State& st) {
  uint32_t size = SizeBytes(HU_SIZE(insn.code));
  Value v;
  if (auto f = Mem(pc, st, insn.src, insn.off, size, Access::kRead, nullptr, &v,
                   HU_MODE(insn.code) == HU_MODE_MEMSX))
    return f;
  st.reg(insn.dst) = v;
  return std::nullopt;
}

Analyzer::Fail Analyzer::Store(int32_t pc, const hu_insn& insn, State& st) {
  uint32_t size = SizeBytes(HU_SIZE(insn.code));
  Value v;
  if (HU_CLASS(insn.code) == HU_CLS_ST) {
    v = Value::Num(Scalar::Const(static_cast<uint64_t>(static_cast<int64_t>(insn.imm))));
  } else {
    if (auto f = Read(pc, st, insn.src, "stored value")) return f;
    v = st.reg(insn.src);
    if (v.IsPointer() && size != 8)
      return Fault(pc, "a narrow store of a pointer would leak part of its address", st,
                   {insn.src});
  }
  return Mem(pc, st, insn.dst, insn.off, size, Access::kWrite, &v, nullptr, false);
}

Analyzer::Fail Analyzer::Atomic(int32_t pc, const hu_insn& insn, State& st) {
  uint32_t size = SizeBytes(HU_SIZE(insn.code));
  if (auto f = Read(pc, st, insn.src, "atomic operand")) return f;
  if (st.reg(insn.src).IsPointer())
    return Fault(pc, "atomic operation with a pointer operand would leak its address", st,
                 {insn.src});
  bool cmpxchg = insn.imm == HU_ATOMIC_CMPXCHG;
  if (cmpxchg) {
    if (auto f = Read(pc, st, 0, "cmpxchg comparand")) return f;
    if (st.reg(0).IsPointer())
      return Fault(pc, "cmpxchg with a pointer in r0 would leak its address", st, {0});
  }
  Value old;
  if (auto f = Mem(pc, st, insn.dst, insn.off, size, Access::kAtomic, nullptr, &old, false))
    return f;
  if (size == 4) old = Value::Num(Trunc(old.s, 32));
  if (cmpxchg)
    st.reg(0) = old;
  else if (insn.imm & HU_ATOMIC_FETCH)
    st.reg(insn.src) = old;
  return std::nullopt;
}

Analyzer::Fail Analyzer::HelperMem(int32_t pc, State& st, int r, uint64_t min, uint64_t max,
                                   bool write, const char* helper) {
  if (max == 0) return std::nullopt;
  const Value ptr = st.reg(r);
  std::string who = std::string(helper) + " argument r" + std::to_string(r);
  if (!ptr.IsPointer() || ptr.kind == Kind::kMapPtr)
    return Fault(pc, who + " must point to memory (stack, map value or context)", st, {r});
  if (ptr.s.smin < -(1ll << 30) || ptr.s.smax > (1ll << 30))
    return Fault(pc, who + ": pointer offset is not bounded", st, {r});
  int64_t lo = ptr.s.smin, hi = ptr.s.smax;
  uint32_t span = static_cast<uint32_t>(max);
  if (auto f = Bounds(pc, ptr, r, lo, hi, span, write)) {
    f->reason = who + ": " + f->reason;
    return f;
  }
  if (ptr.kind != Kind::kStack) return std::nullopt;
  if (!write) return StackRead(pc, st, ptr, lo, hi, span, nullptr, false, (who + " reads").c_str());
  // The helper writes exactly `size` bytes on every path (abi.h: zeros on
  // failure), so what every possible size and offset covers is written.
  StackWrite(pc, st, ptr, lo, hi, static_cast<uint32_t>(min), span, Value::Num(Scalar::Unknown()));
  return std::nullopt;
}

}  // namespace hu::verifier
