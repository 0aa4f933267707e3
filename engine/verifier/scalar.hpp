// The scalar domain: a 64-bit value as signed and unsigned intervals for
// both the 64-bit register and its low 32-bit subregister, plus known bits.
// The five views constrain each other (Normalize); every transfer function
// over-approximates the concrete semantics of RFC 9669.
#pragma once

#include <cstdint>
#include <string>

#include "tnum.hpp"

namespace hu::verifier {

struct Scalar {
  Tnum t = Tnum::Unknown();
  uint64_t umin = 0, umax = UINT64_MAX;
  int64_t smin = INT64_MIN, smax = INT64_MAX;
  uint32_t u32min = 0, u32max = UINT32_MAX;
  int32_t s32min = INT32_MIN, s32max = INT32_MAX;

  static Scalar Unknown() { return {}; }
  static Scalar Const(uint64_t v);
  static Scalar URange(uint64_t lo, uint64_t hi);
  static Scalar SRange(int64_t lo, int64_t hi);

  bool IsConst() const { return t.IsConst(); }
  uint64_t Value() const { return t.value; }
  bool IsConst32() const { return (t.mask & 0xffffffffull) == 0; }
  uint32_t Value32() const { return static_cast<uint32_t>(t.value); }

  // Tightens every view from the others; false when no value remains.
  bool Normalize();
  bool operator==(const Scalar&) const = default;
  // Every value of *this is a value of `o`.
  bool In(const Scalar& o) const;
  std::string ToString() const;
};

Scalar Join(const Scalar& a, const Scalar& b);

// Zero-extension of the low `bits` bits (mov32, le16, ...).
Scalar Trunc(const Scalar& a, unsigned bits);
// Sign-extension of the low `bits` bits (movsx, sign-extending loads).
Scalar Sext(const Scalar& a, unsigned bits);

// ALU over scalars. `op` is HU_ALU_*, `off` selects sdiv/smod/movsx, `imm`
// the width of END. For 32-bit ops the result is zero-extended, as in the ISA.
Scalar Alu(bool is64, uint8_t op, int16_t off, int32_t imm, bool to_be, const Scalar& dst,
           const Scalar& src);

// Concrete ALU semantics, shared with tests: the value the ISA defines.
uint64_t AluConcrete(bool is64, uint8_t op, int16_t off, int32_t imm, bool to_be, uint64_t dst,
                     uint64_t src);

// Jump condition kinds: HU_JMP_* plus the negation of JSET.
constexpr int kJsetNot = 0x100;
int NegateCond(int op);
// Constrains dst and src to the states where `dst op src` holds (in the
// 32-bit view when !is64). False when it cannot hold.
bool Refine(int op, bool is64, Scalar& dst, Scalar& src);

}  // namespace hu::verifier
