// Known bits ("tnum"): each bit of a 64-bit value is known 0, known 1, or
// unknown (set in `mask`). Complements the interval domain: intervals lose
// precision through and/or/xor/shift, bit masks keep it.
#pragma once

#include <bit>
#include <cstdint>

namespace hu::verifier {

struct Tnum {
  uint64_t value = 0;  // known bits; never overlaps mask
  uint64_t mask = ~0ull;

  static constexpr Tnum Const(uint64_t v) { return {v, 0}; }
  static constexpr Tnum Unknown() { return {0, ~0ull}; }
  // Smallest tnum containing every value of [min, max].
  static Tnum Range(uint64_t min, uint64_t max) {
    uint64_t chi = min ^ max;
    if (chi == 0) return Const(min);
    int bits = 64 - std::countl_zero(chi);
    if (bits > 63) return Unknown();
    uint64_t delta = (1ull << bits) - 1;
    return {min & ~delta, delta};
  }

  bool IsConst() const { return mask == 0; }
  uint64_t Min() const { return value; }
  uint64_t Max() const { return value | mask; }
  bool operator==(const Tnum&) const = default;
  // Every value of *this is a value of `o`.
  bool In(const Tnum& o) const { return (mask & ~o.mask) == 0 && (value & ~o.mask) == o.value; }
  bool Contains(uint64_t v) const { return (v & ~mask) == value; }
};

inline Tnum TnumAdd(Tnum a, Tnum b) {
  uint64_t sm = a.mask + b.mask, sv = a.value + b.value;
  uint64_t chi = (sm + sv) ^ sv;
  uint64_t mu = chi | a.mask | b.mask;
  return {sv & ~mu, mu};
}
inline Tnum TnumSub(Tnum a, Tnum b) {
  uint64_t dv = a.value - b.value;
  uint64_t chi = (dv + a.mask) ^ (dv - b.mask);
  uint64_t mu = chi | a.mask | b.mask;
  return {dv & ~mu, mu};
}
inline Tnum TnumAnd(Tnum a, Tnum b) {
  uint64_t v = a.value & b.value;
  return {v, (a.value | a.mask) & (b.value | b.mask) & ~v};
}
inline Tnum TnumOr(Tnum a, Tnum b) {
  uint64_t v = a.value | b.value;
  return {v, (a.mask | b.mask) & ~v};
}
inline Tnum TnumXor(Tnum a, Tnum b) {
  uint64_t mu = a.mask | b.mask;
  return {(a.value ^ b.value) & ~mu, mu};
}
inline Tnum TnumLsh(Tnum a, unsigned k) { return {a.value << k, a.mask << k}; }
inline Tnum TnumRsh(Tnum a, unsigned k) { return {a.value >> k, a.mask >> k}; }
inline Tnum TnumArsh(Tnum a, unsigned k) {
  return {static_cast<uint64_t>(static_cast<int64_t>(a.value) >> k),
          static_cast<uint64_t>(static_cast<int64_t>(a.mask) >> k)};
}
// Long multiplication over known bits: each set-or-unknown bit of `a` adds a
// shifted copy of `b`, unknown ones make their contribution unknown.
inline Tnum TnumMul(Tnum a, Tnum b) {
  Tnum acc_v = Tnum::Const(a.value * b.value);
  Tnum acc_m = Tnum::Const(0);
  while (a.value || a.mask) {
    if (a.value & 1)
      acc_m = TnumAdd(acc_m, {0, b.mask});
    else if (a.mask & 1)
      acc_m = TnumAdd(acc_m, {0, b.value | b.mask});
    a = TnumRsh(a, 1);
    b = TnumLsh(b, 1);
  }
  return TnumAdd(acc_v, acc_m);
}
// Values in both; `ok` false when they contradict (no common value).
inline Tnum TnumIntersect(Tnum a, Tnum b, bool* ok) {
  *ok = ((a.value ^ b.value) & ~a.mask & ~b.mask) == 0;
  uint64_t mu = a.mask & b.mask;
  return {(a.value | b.value) & ~mu, mu};
}
inline Tnum TnumUnion(Tnum a, Tnum b) {
  uint64_t mu = a.mask | b.mask | (a.value ^ b.value);
  return {a.value & ~mu, mu};
}
inline Tnum TnumLow(Tnum a, unsigned bits) {
  uint64_t m = bits >= 64 ? ~0ull : (1ull << bits) - 1;
  return {a.value & m, a.mask & m};
}
// Sign-extends the low `bits` bits.
inline Tnum TnumSext(Tnum a, unsigned bits) {
  if (bits >= 64) return a;
  unsigned sh = 64 - bits;
  return TnumArsh(TnumLsh(a, sh), sh);
}
inline Tnum TnumBswap(Tnum a, unsigned bits) {
  auto sw = [bits](uint64_t x) -> uint64_t {
    if (bits == 16) return __builtin_bswap16(static_cast<uint16_t>(x));
    if (bits == 32) return __builtin_bswap32(static_cast<uint32_t>(x));
    return __builtin_bswap64(x);
  };
  return {sw(a.value), sw(a.mask)};
}

}  // namespace hu::verifier
