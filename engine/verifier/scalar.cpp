#include "scalar.hpp"

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <limits>

#include "hyperupcall/ebpf.h"

namespace hu::verifier {
namespace {

constexpr uint64_t kLow32 = 0xffffffffull;
constexpr uint64_t kHigh32 = ~kLow32;

template <class T>
void Tighten(T& lo, T& hi, T nlo, T nhi) {
  lo = std::max(lo, nlo);
  hi = std::min(hi, nhi);
}

uint64_t Bswap(uint64_t v, unsigned bits) {
  if (bits == 16) return __builtin_bswap16(static_cast<uint16_t>(v));
  if (bits == 32) return __builtin_bswap32(static_cast<uint32_t>(v));
  return __builtin_bswap64(v);
}

uint64_t Low(uint64_t v, unsigned bits) { return bits >= 64 ? v : v & ((1ull << bits) - 1); }

uint64_t SextBits(uint64_t v, unsigned bits) {
  if (bits >= 64) return v;
  unsigned sh = 64 - bits;
  return static_cast<uint64_t>(static_cast<int64_t>(v << sh) >> sh);
}

// 64-bit transfer functions; 32-bit ops run these on projected operands.
Scalar Add(const Scalar& a, const Scalar& b) {
  Scalar r;
  r.t = TnumAdd(a.t, b.t);
  uint64_t lo, hi;
  if (!__builtin_add_overflow(a.umin, b.umin, &lo) &&
      !__builtin_add_overflow(a.umax, b.umax, &hi)) {
    r.umin = lo;
    r.umax = hi;
  }
  int64_t slo, shi;
  if (!__builtin_add_overflow(a.smin, b.smin, &slo) &&
      !__builtin_add_overflow(a.smax, b.smax, &shi)) {
    r.smin = slo;
    r.smax = shi;
  }
  return r;
}

Scalar Sub(const Scalar& a, const Scalar& b) {
  Scalar r;
  r.t = TnumSub(a.t, b.t);
  if (a.umin >= b.umax) {
    r.umin = a.umin - b.umax;
    r.umax = a.umax - b.umin;
  }
  int64_t slo, shi;
  if (!__builtin_sub_overflow(a.smin, b.smax, &slo) &&
      !__builtin_sub_overflow(a.smax, b.smin, &shi)) {
    r.smin = slo;
    r.smax = shi;
  }
  return r;
}

Scalar Mul(const Scalar& a, const Scalar& b) {
  Scalar r;
  r.t = TnumMul(a.t, b.t);
  uint64_t hi;
  if (!__builtin_mul_overflow(a.umax, b.umax, &hi)) {
    r.umin = a.umin * b.umin;
    r.umax = hi;
  }
  int64_t c[4];
  bool ovf = __builtin_mul_overflow(a.smin, b.smin, &c[0]) |
             __builtin_mul_overflow(a.smin, b.smax, &c[1]) |
             __builtin_mul_overflow(a.smax, b.smin, &c[2]) |
             __builtin_mul_overflow(a.smax, b.smax, &c[3]);
  if (!ovf) {
    r.smin = *std::min_element(c, c + 4);
    r.smax = *std::max_element(c, c + 4);
  }
  return r;
}

Scalar And(const Scalar& a, const Scalar& b) {
  Scalar r;
  r.t = TnumAnd(a.t, b.t);
  r.umax = std::min(a.umax, b.umax);
  if (a.smin >= 0 || b.smin >= 0) {
    r.smin = 0;
    r.smax =
        a.smin >= 0 && b.smin >= 0 ? std::min(a.smax, b.smax) : (a.smin >= 0 ? a.smax : b.smax);
  }
  return r;
}

Scalar Or(const Scalar& a, const Scalar& b) {
  Scalar r;
  r.t = TnumOr(a.t, b.t);
  r.umin = std::max(a.umin, b.umin);
  return r;
}

Scalar Xor(const Scalar& a, const Scalar& b) {
  Scalar r;
  r.t = TnumXor(a.t, b.t);
  return r;
}

enum class Shift { kLsh, kRsh, kArsh };

Scalar ShiftConst(const Scalar& a, Shift kind, unsigned k) {
  Scalar r;
  switch (kind) {
    case Shift::kLsh:
      r.t = TnumLsh(a.t, k);
      if (k == 0 || a.umax <= (UINT64_MAX >> k)) {
        r.umin = a.umin << k;
        r.umax = a.umax << k;
      }
      break;
    case Shift::kRsh:
      r.t = TnumRsh(a.t, k);
      r.umin = a.umin >> k;
      r.umax = a.umax >> k;
      break;
    case Shift::kArsh:
      r.t = TnumArsh(a.t, k);
      r.smin = a.smin >> k;
      r.smax = a.smax >> k;
      break;
  }
  r.Normalize();
  return r;
}

// Shift by any amount in [lo, hi] (already masked to the operand width).
Scalar ShiftRange(const Scalar& a, Shift kind, unsigned lo, unsigned hi, const Tnum& amt) {
  Scalar r;
  bool any = false;
  for (unsigned k = lo; k <= hi; k++) {
    if (!amt.Contains(k)) continue;
    Scalar s = ShiftConst(a, kind, k);
    r = any ? Join(r, s) : s;
    any = true;
  }
  return any ? r : ShiftConst(a, kind, lo);
}

Scalar Div(const Scalar& a, const Scalar& b) {
  if (b.umax == 0) return Scalar::Const(0);
  uint64_t dmin = std::max<uint64_t>(b.umin, 1);
  Scalar r = Scalar::URange(a.umin / b.umax, a.umax / dmin);
  if (b.umin == 0) r = Join(r, Scalar::Const(0));
  return r;
}

Scalar Mod(const Scalar& a, const Scalar& b) {
  if (b.umax == 0) return a;
  Scalar r = Scalar::URange(0, std::min(a.umax, b.umax - 1));
  if (b.umin == 0) r = Join(r, a);
  return r;
}

Scalar Sdiv(const Scalar& a) {
  // |a / b| <= |a|, and INT64_MIN / -1 is INT64_MIN; division by 0 gives 0.
  if (a.smin == INT64_MIN) return Scalar::Unknown();
  int64_t m = std::max(-a.smin, a.smax);
  return Scalar::SRange(-m, m);
}

Scalar Smod(const Scalar& a) {
  // The result has the dividend's sign and no larger magnitude; modulo 0
  // leaves the dividend.
  return Scalar::SRange(std::min<int64_t>(a.smin, 0), std::max<int64_t>(a.smax, 0));
}

Scalar Bswap(const Scalar& a, unsigned bits) {
  Scalar r;
  r.t = TnumBswap(a.t, bits);
  r.Normalize();
  return r;
}

Scalar Alu64Raw(uint8_t op, int16_t off, int32_t imm, bool to_be, bool is64, const Scalar& a,
                const Scalar& b, unsigned width) {
  switch (op) {
    case HU_ALU_ADD:
      return Add(a, b);
    case HU_ALU_SUB:
      return Sub(a, b);
    case HU_ALU_MUL:
      return Mul(a, b);
    case HU_ALU_DIV:
      return off == 1 ? Sdiv(a) : Div(a, b);
    case HU_ALU_MOD:
      return off == 1 ? Smod(a) : Mod(a, b);
    case HU_ALU_OR:
      return Or(a, b);
    case HU_ALU_AND:
      return And(a, b);
    case HU_ALU_XOR:
      return Xor(a, b);
    case HU_ALU_NEG:
      return Sub(Scalar::Const(0), a);
    case HU_ALU_MOV:
      return off == 0 ? b : Sext(b, static_cast<unsigned>(off));
    case HU_ALU_LSH:
    case HU_ALU_RSH:
    case HU_ALU_ARSH: {
      Shift kind = op == HU_ALU_LSH ? Shift::kLsh : op == HU_ALU_RSH ? Shift::kRsh : Shift::kArsh;
      uint64_t m = width - 1;
      Tnum amt = TnumAnd(b.t, Tnum::Const(m));
      if (b.umax <= m) return ShiftRange(a, kind, b.umin, b.umax, amt);
      return ShiftRange(a, kind, 0, m, amt);
    }
    case HU_ALU_END: {
      unsigned bits = static_cast<unsigned>(imm);
      if (is64 || to_be) return Bswap(a, bits);
      return Trunc(a, bits);
    }
  }
  return Scalar::Unknown();
}

Scalar Alu64(uint8_t op, int16_t off, int32_t imm, bool to_be, bool is64, const Scalar& a,
             const Scalar& b, unsigned width) {
  Scalar r = Alu64Raw(op, off, imm, to_be, is64, a, b, width);
  // An empty result would mean a transfer function bug; stay sound.
  if (!r.Normalize()) return Scalar::Unknown();
  return r;
}

}  // namespace

Scalar Scalar::Const(uint64_t v) {
  Scalar s;
  s.t = Tnum::Const(v);
  s.Normalize();
  return s;
}

Scalar Scalar::URange(uint64_t lo, uint64_t hi) {
  Scalar s;
  s.umin = lo;
  s.umax = hi;
  s.Normalize();
  return s;
}

Scalar Scalar::SRange(int64_t lo, int64_t hi) {
  Scalar s;
  s.smin = lo;
  s.smax = hi;
  s.Normalize();
  return s;
}

bool Scalar::Normalize() {
  // A known value (loop counters, offsets, most immediates) fixes every
  // view at once; it only has to lie within the bounds already there.
  if (t.mask == 0) {
    const uint64_t v = t.value;
    const uint32_t v32 = static_cast<uint32_t>(v);
    const int64_t sv = static_cast<int64_t>(v);
    const int32_t sv32 = static_cast<int32_t>(v32);
    if (v < umin || v > umax || sv < smin || sv > smax || v32 < u32min || v32 > u32max ||
        sv32 < s32min || sv32 > s32max)
      return false;
    umin = umax = v;
    smin = smax = sv;
    u32min = u32max = v32;
    s32min = s32max = sv32;
    return true;
  }
  for (int iter = 0; iter < 4; iter++) {
    Scalar old = *this;
    // Known bits bound every view.
    Tighten(umin, umax, t.value, t.value | t.mask);
    Tighten(smin, smax, static_cast<int64_t>(t.value | (t.mask & (1ull << 63))),
            static_cast<int64_t>(t.value | (t.mask & ~(1ull << 63))));
    uint32_t tv = static_cast<uint32_t>(t.value), tm = static_cast<uint32_t>(t.mask);
    Tighten(u32min, u32max, tv, tv | tm);
    Tighten(s32min, s32max, static_cast<int32_t>(tv | (tm & 0x80000000u)),
            static_cast<int32_t>(tv | (tm & 0x7fffffffu)));
    // 64 -> 32: with the high half fixed, the low half moves monotonically.
    if ((umin >> 32) == (umax >> 32)) {
      Tighten(u32min, u32max, static_cast<uint32_t>(umin), static_cast<uint32_t>(umax));
      if (static_cast<int32_t>(umin) <= static_cast<int32_t>(umax))
        Tighten(s32min, s32max, static_cast<int32_t>(umin), static_cast<int32_t>(umax));
    }
    if ((smin >> 32) == (smax >> 32)) {
      Tighten(u32min, u32max, static_cast<uint32_t>(smin), static_cast<uint32_t>(smax));
      if (static_cast<int32_t>(smin) <= static_cast<int32_t>(smax))
        Tighten(s32min, s32max, static_cast<int32_t>(smin), static_cast<int32_t>(smax));
    }
    // Signed <-> unsigned when the range does not cross the sign boundary.
    if (s32min >= 0 || s32max < 0)
      Tighten(u32min, u32max, static_cast<uint32_t>(s32min), static_cast<uint32_t>(s32max));
    if (static_cast<int32_t>(u32min) <= static_cast<int32_t>(u32max))
      Tighten(s32min, s32max, static_cast<int32_t>(u32min), static_cast<int32_t>(u32max));
    if (smin >= 0 || smax < 0)
      Tighten(umin, umax, static_cast<uint64_t>(smin), static_cast<uint64_t>(smax));
    if (static_cast<int64_t>(umin) <= static_cast<int64_t>(umax))
      Tighten(smin, smax, static_cast<int64_t>(umin), static_cast<int64_t>(umax));
    // 32 -> 64.
    if ((umin >> 32) == (umax >> 32)) {
      uint64_t hi = umin & kHigh32;
      Tighten(umin, umax, hi | u32min, hi | u32max);
    }
    if ((smin >> 32) == (smax >> 32)) {
      uint64_t hi = static_cast<uint64_t>(smin) & kHigh32;
      Tighten(smin, smax, static_cast<int64_t>(hi | u32min), static_cast<int64_t>(hi | u32max));
    }
    if (smin >= INT32_MIN && smax <= INT32_MAX) Tighten<int64_t>(smin, smax, s32min, s32max);
    if (umin > umax || smin > smax || u32min > u32max || s32min > s32max) return false;
    // Intervals back into known bits.
    bool ok;
    t = TnumIntersect(t, Tnum::Range(umin, umax), &ok);
    if (!ok) return false;
    Tnum r32 = Tnum::Range(u32min, u32max);
    t = TnumIntersect(t, {r32.value, r32.mask | kHigh32}, &ok);
    if (!ok) return false;
    if (*this == old) break;
  }
  return umin <= umax && smin <= smax && u32min <= u32max && s32min <= s32max;
}

bool Scalar::In(const Scalar& o) const {
  return umin >= o.umin && umax <= o.umax && smin >= o.smin && smax <= o.smax &&
         u32min >= o.u32min && u32max <= o.u32max && s32min >= o.s32min && s32max <= o.s32max &&
         t.In(o.t);
}

std::string Scalar::ToString() const {
  char buf[256];
  if (IsConst()) {
    if (smin >= -4096 && smin <= 4096)
      snprintf(buf, sizeof buf, "%" PRId64, smin);
    else
      snprintf(buf, sizeof buf, "%#" PRIx64, t.value);
    return buf;
  }
  std::string s = "scalar(";
  bool same =
      smin >= 0 && static_cast<uint64_t>(smin) == umin && static_cast<uint64_t>(smax) == umax;
  if (same) {
    snprintf(buf, sizeof buf, "[%" PRIu64 ",%" PRIu64 "] ", umin, umax);
    s += buf;
  } else if (umin != 0 || umax != UINT64_MAX) {
    snprintf(buf, sizeof buf, "u[%#" PRIx64 ",%#" PRIx64 "] ", umin, umax);
    s += buf;
  }
  if (!same && (smin != INT64_MIN || smax != INT64_MAX)) {
    snprintf(buf, sizeof buf, "s[%" PRId64 ",%" PRId64 "] ", smin, smax);
    s += buf;
  }
  if ((u32min != 0 || u32max != UINT32_MAX) && umax > UINT32_MAX) {
    snprintf(buf, sizeof buf, "u32[%#x,%#x] ", u32min, u32max);
    s += buf;
  }
  if ((s32min != INT32_MIN || s32max != INT32_MAX) && (smin < INT32_MIN || smax > INT32_MAX)) {
    snprintf(buf, sizeof buf, "s32[%d,%d] ", s32min, s32max);
    s += buf;
  }
  if (t.mask != ~0ull) {
    snprintf(buf, sizeof buf, "bits=%#" PRIx64 "/%#" PRIx64 " ", t.value, t.mask);
    s += buf;
  }
  if (s.back() == ' ') s.pop_back();
  return s + ")";
}

Scalar Join(const Scalar& a, const Scalar& b) {
  Scalar r;
  r.t = TnumUnion(a.t, b.t);
  r.umin = std::min(a.umin, b.umin);
  r.umax = std::max(a.umax, b.umax);
  r.smin = std::min(a.smin, b.smin);
  r.smax = std::max(a.smax, b.smax);
  r.u32min = std::min(a.u32min, b.u32min);
  r.u32max = std::max(a.u32max, b.u32max);
  r.s32min = std::min(a.s32min, b.s32min);
  r.s32max = std::max(a.s32max, b.s32max);
  r.Normalize();
  return r;
}

Scalar Trunc(const Scalar& a, unsigned bits) {
  if (bits >= 64) return a;
  Scalar r;
  r.t = TnumLow(a.t, bits);
  if (bits == 32) {
    r.umin = a.u32min;
    r.umax = a.u32max;
  } else if ((a.umin >> bits) == (a.umax >> bits)) {
    r.umin = Low(a.umin, bits);
    r.umax = Low(a.umax, bits);
  }
  r.umax = std::min<uint64_t>(r.umax, (1ull << bits) - 1);
  r.Normalize();
  return r;
}

Scalar Sext(const Scalar& a, unsigned bits) {
  if (bits >= 64) return a;
  int64_t half = 1ll << (bits - 1);
  Scalar r;
  r.t = TnumSext(a.t, bits);
  if (bits == 32) {
    r.smin = a.s32min;
    r.smax = a.s32max;
  } else if (a.smin >= -half && a.smax < half) {
    r.smin = a.smin;
    r.smax = a.smax;
  } else {
    r.smin = -half;
    r.smax = half - 1;
  }
  r.Normalize();
  return r;
}

uint64_t AluConcrete(bool is64, uint8_t op, int16_t off, int32_t imm, bool to_be, uint64_t a,
                     uint64_t b) {
  if (!is64) {
    uint32_t x = static_cast<uint32_t>(a), y = static_cast<uint32_t>(b);
    int32_t sx = static_cast<int32_t>(x), sy = static_cast<int32_t>(y);
    uint32_t r = 0;
    switch (op) {
      case HU_ALU_ADD:
        r = x + y;
        break;
      case HU_ALU_SUB:
        r = x - y;
        break;
      case HU_ALU_MUL:
        r = x * y;
        break;
      case HU_ALU_DIV:
        if (off == 1)
          r = y == 0 ? 0 : (sx == INT32_MIN && sy == -1) ? x : static_cast<uint32_t>(sx / sy);
        else
          r = y == 0 ? 0 : x / y;
        break;
      case HU_ALU_MOD:
        if (off == 1)
          r = y == 0 ? x : sy == -1 ? 0 : static_cast<uint32_t>(sx % sy);
        else
          r = y == 0 ? x : x % y;
        break;
      case HU_ALU_OR:
        r = x | y;
        break;
      case HU_ALU_AND:
        r = x & y;
        break;
      case HU_ALU_XOR:
        r = x ^ y;
        break;
      case HU_ALU_LSH:
        r = x << (y & 31);
        break;
      case HU_ALU_RSH:
        r = x >> (y & 31);
        break;
      case HU_ALU_ARSH:
        r = static_cast<uint32_t>(sx >> (y & 31));
        break;
      case HU_ALU_NEG:
        r = 0u - x;
        break;
      case HU_ALU_MOV:
        r = off == 0 ? y : static_cast<uint32_t>(SextBits(y, static_cast<unsigned>(off)));
        break;
      case HU_ALU_END:
        return to_be ? Bswap(a, static_cast<unsigned>(imm)) : Low(a, static_cast<unsigned>(imm));
    }
    return r;
  }
  int64_t sa = static_cast<int64_t>(a), sb = static_cast<int64_t>(b);
  switch (op) {
    case HU_ALU_ADD:
      return a + b;
    case HU_ALU_SUB:
      return a - b;
    case HU_ALU_MUL:
      return a * b;
    case HU_ALU_DIV:
      if (off == 1)
        return b == 0 ? 0 : (sa == INT64_MIN && sb == -1) ? a : static_cast<uint64_t>(sa / sb);
      return b == 0 ? 0 : a / b;
    case HU_ALU_MOD:
      if (off == 1) return b == 0 ? a : sb == -1 ? 0 : static_cast<uint64_t>(sa % sb);
      return b == 0 ? a : a % b;
    case HU_ALU_OR:
      return a | b;
    case HU_ALU_AND:
      return a & b;
    case HU_ALU_XOR:
      return a ^ b;
    case HU_ALU_LSH:
      return a << (b & 63);
    case HU_ALU_RSH:
      return a >> (b & 63);
    case HU_ALU_ARSH:
      return static_cast<uint64_t>(sa >> (b & 63));
    case HU_ALU_NEG:
      return 0 - a;
    case HU_ALU_MOV:
      return off == 0 ? b : SextBits(b, static_cast<unsigned>(off));
    case HU_ALU_END:
      return Bswap(a, static_cast<unsigned>(imm));
  }
  return 0;
}

Scalar Alu(bool is64, uint8_t op, int16_t off, int32_t imm, bool to_be, const Scalar& dst,
           const Scalar& src) {
  bool unary = op == HU_ALU_NEG || op == HU_ALU_END;
  bool reads_dst = op != HU_ALU_MOV;
  if ((!reads_dst || dst.IsConst()) && (unary || src.IsConst()))
    return Scalar::Const(AluConcrete(is64, op, off, imm, to_be, dst.Value(), src.Value()));
  if (is64) return Alu64(op, off, imm, to_be, true, dst, src, 64);
  // 32-bit ops: the low half of the 64-bit op on suitably extended operands
  // is the 32-bit op; signed ones need sign extension.
  if (op == HU_ALU_END) return Alu64(op, off, imm, to_be, false, dst, src, 64);
  if (op == HU_ALU_MOV) return Trunc(off == 0 ? src : Sext(src, static_cast<unsigned>(off)), 32);
  bool sign = op == HU_ALU_ARSH || ((op == HU_ALU_DIV || op == HU_ALU_MOD) && off == 1);
  Scalar a = sign ? Sext(dst, 32) : Trunc(dst, 32);
  Scalar b = sign ? Sext(src, 32) : Trunc(src, 32);
  return Trunc(Alu64(op, off, imm, to_be, false, a, b, 32), 32);
}

int NegateCond(int op) {
  switch (op) {
    case HU_JMP_JEQ:
      return HU_JMP_JNE;
    case HU_JMP_JNE:
      return HU_JMP_JEQ;
    case HU_JMP_JGT:
      return HU_JMP_JLE;
    case HU_JMP_JLE:
      return HU_JMP_JGT;
    case HU_JMP_JGE:
      return HU_JMP_JLT;
    case HU_JMP_JLT:
      return HU_JMP_JGE;
    case HU_JMP_JSGT:
      return HU_JMP_JSLE;
    case HU_JMP_JSLE:
      return HU_JMP_JSGT;
    case HU_JMP_JSGE:
      return HU_JMP_JSLT;
    case HU_JMP_JSLT:
      return HU_JMP_JSGE;
    case HU_JMP_JSET:
      return kJsetNot;
    case kJsetNot:
      return HU_JMP_JSET;
  }
  return op;
}

namespace {

// Bounds of one view (64 or 32 bit) as references, so one routine refines both.
template <class U, class S>
struct View {
  U& umin;
  U& umax;
  S& smin;
  S& smax;
};

template <class U, class S>
bool RefineView(int op, View<U, S> d, View<U, S> s, bool dconst, bool sconst, U dval, U sval) {
  switch (op) {
    case HU_JMP_JEQ:
      Tighten(d.umin, d.umax, s.umin, s.umax);
      Tighten(d.smin, d.smax, s.smin, s.smax);
      Tighten(s.umin, s.umax, d.umin, d.umax);
      Tighten(s.smin, s.smax, d.smin, d.smax);
      return true;
    case HU_JMP_JNE: {
      if (dconst && sconst) return dval != sval;
      auto trim = [](View<U, S> v, U c) {
        if (v.umin == c && v.umin < v.umax) v.umin++;
        if (v.umax == c && v.umax > v.umin) v.umax--;
        S sc = static_cast<S>(c);
        if (v.smin == sc && v.smin < v.smax) v.smin++;
        if (v.smax == sc && v.smax > v.smin) v.smax--;
      };
      if (sconst) trim(d, sval);
      if (dconst) trim(s, dval);
      return true;
    }
    case HU_JMP_JGT:  // d > s
      if (s.umin == std::numeric_limits<U>::max() || d.umax == 0) return false;
      d.umin = std::max<U>(d.umin, s.umin + 1);
      s.umax = std::min<U>(s.umax, d.umax - 1);
      return true;
    case HU_JMP_JGE:
      d.umin = std::max(d.umin, s.umin);
      s.umax = std::min(s.umax, d.umax);
      return true;
    case HU_JMP_JLT:
      return RefineView<U, S>(HU_JMP_JGT, s, d, sconst, dconst, sval, dval);
    case HU_JMP_JLE:
      return RefineView<U, S>(HU_JMP_JGE, s, d, sconst, dconst, sval, dval);
    case HU_JMP_JSGT:
      if (s.smin == std::numeric_limits<S>::max() || d.smax == std::numeric_limits<S>::min())
        return false;
      d.smin = std::max<S>(d.smin, s.smin + 1);
      s.smax = std::min<S>(s.smax, d.smax - 1);
      return true;
    case HU_JMP_JSGE:
      d.smin = std::max(d.smin, s.smin);
      s.smax = std::min(s.smax, d.smax);
      return true;
    case HU_JMP_JSLT:
      return RefineView<U, S>(HU_JMP_JSGT, s, d, sconst, dconst, sval, dval);
    case HU_JMP_JSLE:
      return RefineView<U, S>(HU_JMP_JSGE, s, d, sconst, dconst, sval, dval);
  }
  return true;
}

bool RefineJset(int op, uint64_t width_mask, Scalar& d, const Scalar& s) {
  if ((s.t.mask & width_mask) != 0) return true;
  uint64_t c = s.t.value & width_mask;
  if (op == HU_JMP_JSET) {
    if (c == 0) return false;
    if (d.t.value & c) return true;
    if (((d.t.value | d.t.mask) & c) == 0) return false;
    if (__builtin_popcountll(c) == 1) {
      d.t.value |= c;
      d.t.mask &= ~c;
    }
    return true;
  }
  if (d.t.value & c) return false;
  d.t.mask &= ~c;
  return true;
}

}  // namespace

bool Refine(int op, bool is64, Scalar& dst, Scalar& src) {
  if (op == HU_JMP_JSET || op == kJsetNot) {
    uint64_t wm = is64 ? ~0ull : kLow32;
    if (!RefineJset(op, wm, dst, src)) return false;
    if (!RefineJset(op, wm, src, dst)) return false;
    return dst.Normalize() && src.Normalize();
  }
  bool ok;
  if (is64) {
    View<uint64_t, int64_t> d{dst.umin, dst.umax, dst.smin, dst.smax};
    View<uint64_t, int64_t> s{src.umin, src.umax, src.smin, src.smax};
    ok = RefineView(op, d, s, dst.IsConst(), src.IsConst(), dst.Value(), src.Value());
    if (ok && op == HU_JMP_JEQ) {
      bool a;
      dst.t = src.t = TnumIntersect(dst.t, src.t, &a);
      ok = a;
    }
  } else {
    View<uint32_t, int32_t> d{dst.u32min, dst.u32max, dst.s32min, dst.s32max};
    View<uint32_t, int32_t> s{src.u32min, src.u32max, src.s32min, src.s32max};
    ok = RefineView(op, d, s, dst.IsConst32(), src.IsConst32(), dst.Value32(), src.Value32());
    if (ok && op == HU_JMP_JEQ) {
      bool a, b;
      Tnum sl = TnumLow(src.t, 32), dl = TnumLow(dst.t, 32);
      dst.t = TnumIntersect(dst.t, {sl.value, sl.mask | kHigh32}, &a);
      src.t = TnumIntersect(src.t, {dl.value, dl.mask | kHigh32}, &b);
      ok = a && b;
    }
  }
  return ok && dst.Normalize() && src.Normalize();
}

}  // namespace hu::verifier
