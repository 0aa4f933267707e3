// Helper calls, checked against the platform's prototype: the hook (and the
// operator) must allow the helper, each argument must have the type the
// prototype names, memory arguments must be in bounds for their size (which
// must be bounded), and r1-r5 are unreadable afterwards.
#include <string>

#include "analyzer.hpp"

namespace hu::verifier {
namespace {

// Sizes beyond this are certainly wrong; the region check is the real bound.
constexpr uint64_t kMaxHelperSize = 1ull << 29;

}  // namespace

Analyzer::Fail Analyzer::CallHelper(int32_t pc, const hu_insn& insn, State& st) {
  int32_t id = insn.imm;
  if (HU_SRC(insn.code) == HU_SRC_X) {
    // callx: the helper id is in a register (dst, or imm in the legacy
    // form). Only a known constant can be checked like a direct call.
    int reg = insn.imm != 0 ? insn.imm : insn.dst;
    std::string r = "r" + std::to_string(reg);
    if (auto f = Read(pc, st, reg, "callx target")) return f;
    const Value& v = st.reg(reg);
    if (v.kind != Kind::kScalar)
      return Fault(pc, "callx through " + r + ": " + r + " is a pointer, not a helper id", st,
                   {reg});
    if (!v.s.IsConst())
      return Fault(pc,
                   "callx through " + r + ": the helper id must be a known constant, not a range",
                   st, {reg});
    if (v.s.Value() > static_cast<uint64_t>(INT32_MAX))
      return Fault(pc, "callx through " + r + ": unknown helper id " + std::to_string(v.s.Value()),
                   st, {reg});
    id = static_cast<int32_t>(v.s.Value());
    if (platform_.Helper(id) == nullptr || platform_.Helper(id)->name == nullptr)
      return Fault(pc, "callx through " + r + ": unknown helper id " + std::to_string(id), st,
                   {reg});
  }
  const HelperProto* p = platform_.Helper(id);
  if (p == nullptr || p->name == nullptr)
    return Fault(pc, "unknown helper id " + std::to_string(id), st, {});
  std::string name = std::string(p->name) + " (" + std::to_string(id) + ")";
  if (!platform_.HelperAllowed(opts_.hook, id))
    return Fault(pc, "helper " + name + " is not allowed for hook " + platform_.Name(opts_.hook),
                 st, {});
  if (id < 0 || id >= 64 || !((opts_.allowed_helpers >> id) & 1))
    return Fault(pc, "helper " + name + " is not allowed by the operator's policy", st, {});

  int map = -1;
  int mem_reg = -1;
  bool mem_write = false;
  for (int i = 0; i < 5; i++) {
    Arg a = p->args[i];
    if (a == Arg::kNone) break;
    int r = i + 1;
    std::string arg = "argument " + std::to_string(r) + " of " + p->name;
    if (auto f = Read(pc, st, r, arg.c_str())) return f;
    const Value& v = st.reg(r);
    switch (a) {
      case Arg::kNone:
        break;
      case Arg::kAnything:
        if (v.IsPointer())
          return Fault(pc,
                       "r" + std::to_string(r) + " (" + arg +
                           ") is a pointer: passing it as a number would leak its address",
                       st, {r});
        break;
      case Arg::kMapPtr:
        if (v.kind != Kind::kMapPtr)
          return Fault(pc, "r" + std::to_string(r) + " (" + arg + ") must be a map (lddw map)", st,
                       {r});
        map = static_cast<int>(v.ref);
        break;
      case Arg::kMapKey:
      case Arg::kMapValue: {
        if (map < 0) return Fault(pc, "helper prototype has a key/value without a map", st, {});
        const hu_map_def& m = opts_.maps[map];
        uint32_t n = a == Arg::kMapKey ? m.key_size : m.value_size;
        if (auto f = HelperMem(pc, st, r, n, n, false, p->name)) return f;
        break;
      }
      case Arg::kMemRead:
      case Arg::kMemWrite:
        if (i + 1 < 5 && p->args[i + 1] == Arg::kSize) {
          mem_reg = r;
          mem_write = a == Arg::kMemWrite;
        } else if (auto f = HelperMem(pc, st, r, p->fixed_size, p->fixed_size, a == Arg::kMemWrite,
                                      p->name)) {
          return f;
        }
        break;
      case Arg::kSize: {
        if (v.IsPointer())
          return Fault(pc, "r" + std::to_string(r) + " (" + arg + ", a size) is a pointer", st,
                       {r});
        uint64_t limit = p->max_size ? p->max_size : kMaxHelperSize;
        if (v.s.umax > limit)
          return Fault(pc,
                       "size r" + std::to_string(r) + " (" + arg + ") may be up to " +
                           std::to_string(v.s.umax) + ", more than " + std::to_string(limit) +
                           ": bound it with a comparison first",
                       st, {r});
        if (mem_reg < 0) return Fault(pc, "helper prototype has a size without a buffer", st, {});
        if (auto f = HelperMem(pc, st, mem_reg, v.s.umin, v.s.umax, mem_write, p->name)) {
          f->regs += (f->regs.empty() ? "r" : " r") + std::to_string(r) + "=" + v.ToString();
          return f;
        }
        break;
      }
    }
  }

  Value ret = Value::Num(Scalar::Unknown());
  if (p->ret == Ret::kMapValueOrNull) {
    // One id per lookup site; an older result from the same site (a previous
    // loop iteration) loses its correlation so the two are never confused.
    uint32_t id = static_cast<uint32_t>(pc) + 1;
    ForgetId(st, id);
    ret = Value{Kind::kMapValueOrNull, static_cast<uint32_t>(map), id, Scalar::Const(0)};
  }
  if (p->may_stop) {
    r0_ = have_r0_ ? Join(r0_, ret.s) : ret.s;
    have_r0_ = true;
  }
  st.reg(0) = ret;
  for (int r = 1; r <= 5; r++) st.reg(r) = Value::Uninit();
  return std::nullopt;
}

}  // namespace hu::verifier
