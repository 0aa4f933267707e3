// The scalar domain against the concrete semantics: for random abstract
// values and random members of them, every ALU result and every branch
// refinement must still contain the concrete outcome.
#include <gtest/gtest.h>

#include <random>

#include "hyperupcall/ebpf.h"
#include "scalar.hpp"

namespace hu::verifier {
namespace {

bool Contains(const Scalar& s, uint64_t v) {
  int64_t sv = static_cast<int64_t>(v);
  uint32_t lo = static_cast<uint32_t>(v);
  return v >= s.umin && v <= s.umax && sv >= s.smin && sv <= s.smax && lo >= s.u32min &&
         lo <= s.u32max && static_cast<int32_t>(lo) >= s.s32min &&
         static_cast<int32_t>(lo) <= s.s32max && s.t.Contains(v);
}

class Gen {
 public:
  explicit Gen(uint32_t seed) : rng_(seed) {}
  uint64_t Interesting() {
    static const uint64_t kVals[] = {0,
                                     1,
                                     2,
                                     7,
                                     31,
                                     32,
                                     63,
                                     64,
                                     0xff,
                                     0x7fffffff,
                                     0x80000000,
                                     0xffffffff,
                                     1ull << 32,
                                     1ull << 63,
                                     ~0ull,
                                     ~0ull - 1,
                                     (1ull << 63) - 1};
    switch (rng_() % 4) {
      case 0:
        return kVals[rng_() % std::size(kVals)];
      case 1:
        return rng_() % 100;
      case 2:
        return static_cast<uint64_t>(-static_cast<int64_t>(rng_() % 100));
      default:
        return (static_cast<uint64_t>(rng_()) << 32) | rng_();
    }
  }
  // A random abstract value around `x` (which it contains).
  Scalar Around(uint64_t x) {
    Scalar s;
    switch (rng_() % 5) {
      case 0:
        return Scalar::Const(x);
      case 1: {
        uint64_t w = rng_() % 300;
        s = Scalar::URange(x >= w ? x - w : 0, x + w >= x ? x + w : UINT64_MAX);
        break;
      }
      case 2: {
        int64_t sx = static_cast<int64_t>(x), w = rng_() % 300;
        s = Scalar::SRange(sx >= INT64_MIN + w ? sx - w : INT64_MIN,
                           sx <= INT64_MAX - w ? sx + w : INT64_MAX);
        break;
      }
      case 3: {
        uint64_t m = Interesting() | (rng_() % 2 ? 0xffull : 0);
        s.t = {x & ~m, m};
        s.Normalize();
        break;
      }
      default:
        break;  // unknown
    }
    return s;
  }
  // A member of s: x itself or a nearby value that passes the check.
  uint64_t Member(const Scalar& s, uint64_t x) {
    for (int i = 0; i < 8; i++) {
      uint64_t c = rng_() % 2 ? x + (rng_() % 64) - 32 : (x & ~s.t.mask) | (rng_() & s.t.mask);
      if (Contains(s, c)) return c;
    }
    return x;
  }
  uint32_t Next() { return rng_(); }

 private:
  std::mt19937 rng_;
};

TEST(Domain, TnumAndIntervalsContainTheirConstants) {
  Gen g(1);
  for (int i = 0; i < 20000; i++) {
    uint64_t x = g.Interesting();
    Scalar s = g.Around(x);
    ASSERT_TRUE(Contains(s, x)) << s.ToString() << " " << x;
  }
}

TEST(Domain, AluIsSound) {
  static const uint8_t kOps[] = {HU_ALU_ADD, HU_ALU_SUB, HU_ALU_MUL,  HU_ALU_DIV, HU_ALU_OR,
                                 HU_ALU_AND, HU_ALU_LSH, HU_ALU_RSH,  HU_ALU_NEG, HU_ALU_MOD,
                                 HU_ALU_XOR, HU_ALU_MOV, HU_ALU_ARSH, HU_ALU_END};
  Gen g(2);
  for (int i = 0; i < 300000; i++) {
    bool is64 = g.Next() % 2;
    uint8_t op = kOps[g.Next() % std::size(kOps)];
    int16_t off = 0;
    int32_t imm = 0;
    bool to_be = false;
    if ((op == HU_ALU_DIV || op == HU_ALU_MOD) && g.Next() % 2) off = 1;
    if (op == HU_ALU_MOV && g.Next() % 2) {
      static const int16_t kW[] = {8, 16, 32};
      off = kW[g.Next() % (is64 ? 3 : 2)];
    }
    if (op == HU_ALU_END) {
      static const int32_t kW[] = {16, 32, 64};
      imm = kW[g.Next() % 3];
      to_be = g.Next() % 2;
    }
    uint64_t x = g.Interesting(), y = g.Interesting();
    Scalar a = g.Around(x), b = g.Around(y);
    Scalar r = Alu(is64, op, off, imm, to_be, a, b);
    for (int k = 0; k < 4; k++) {
      uint64_t cx = g.Member(a, x), cy = g.Member(b, y);
      uint64_t c = AluConcrete(is64, op, off, imm, to_be, cx, cy);
      ASSERT_TRUE(Contains(r, c)) << "op " << int(op) << " off " << off << " imm " << imm
                                  << (is64 ? " 64" : " 32") << ": " << a.ToString() << " (" << cx
                                  << ") , " << b.ToString() << " (" << cy << ") -> " << r.ToString()
                                  << " misses " << c;
    }
  }
}

bool Holds(int op, bool is64, uint64_t a, uint64_t b) {
  if (!is64) {
    a = static_cast<uint32_t>(a);
    b = static_cast<uint32_t>(b);
  }
  int64_t sa = is64 ? static_cast<int64_t>(a) : static_cast<int32_t>(a);
  int64_t sb = is64 ? static_cast<int64_t>(b) : static_cast<int32_t>(b);
  switch (op) {
    case HU_JMP_JEQ:
      return a == b;
    case HU_JMP_JNE:
      return a != b;
    case HU_JMP_JGT:
      return a > b;
    case HU_JMP_JGE:
      return a >= b;
    case HU_JMP_JLT:
      return a < b;
    case HU_JMP_JLE:
      return a <= b;
    case HU_JMP_JSGT:
      return sa > sb;
    case HU_JMP_JSGE:
      return sa >= sb;
    case HU_JMP_JSLT:
      return sa < sb;
    case HU_JMP_JSLE:
      return sa <= sb;
    case HU_JMP_JSET:
      return (a & b) != 0;
    case kJsetNot:
      return (a & b) == 0;
  }
  return false;
}

TEST(Domain, RefineIsSound) {
  static const int kOps[] = {HU_JMP_JEQ,  HU_JMP_JNE,  HU_JMP_JGT,  HU_JMP_JGE,
                             HU_JMP_JLT,  HU_JMP_JLE,  HU_JMP_JSGT, HU_JMP_JSGE,
                             HU_JMP_JSLT, HU_JMP_JSLE, HU_JMP_JSET, kJsetNot};
  Gen g(3);
  for (int i = 0; i < 300000; i++) {
    bool is64 = g.Next() % 2;
    int op = kOps[g.Next() % std::size(kOps)];
    uint64_t x = g.Interesting(), y = g.Next() % 3 ? g.Interesting() : x;
    Scalar a = g.Around(x), b = g.Around(y);
    Scalar ra = a, rb = b;
    bool feasible = Refine(op, is64, ra, rb);
    for (int k = 0; k < 4; k++) {
      uint64_t cx = g.Member(a, x), cy = g.Member(b, y);
      if (!Holds(op, is64, cx, cy)) continue;
      ASSERT_TRUE(feasible) << "op " << op << " dropped " << cx << " " << cy;
      ASSERT_TRUE(Contains(ra, cx) && Contains(rb, cy))
          << "op " << op << (is64 ? " 64 " : " 32 ") << a.ToString() << " , " << b.ToString()
          << " -> " << ra.ToString() << " , " << rb.ToString() << " loses " << cx << " " << cy;
    }
  }
}

TEST(Domain, JoinContainsBoth) {
  Gen g(4);
  for (int i = 0; i < 50000; i++) {
    uint64_t x = g.Interesting(), y = g.Interesting();
    Scalar a = g.Around(x), b = g.Around(y);
    Scalar j = Join(a, b);
    ASSERT_TRUE(Contains(j, x) && Contains(j, y)) << a.ToString() << " " << b.ToString();
    ASSERT_TRUE(a.In(j) || !Contains(a, x));
  }
}

TEST(Domain, ThirtyTwoBitViewsAreTracked) {
  // The 32-bit bounds of a value with unknown upper half still constrain
  // its subregister: the pattern of CVE-2021-3490's and/or/xor.
  Scalar a = Scalar::Unknown();
  a.t = {0x1, 0xffffffff00000000ull};
  ASSERT_TRUE(a.Normalize());
  EXPECT_EQ(a.u32min, 1u);
  EXPECT_EQ(a.u32max, 1u);
  Scalar r = Alu(false, HU_ALU_AND, 0, 0, false, a, Scalar::Const(0xff));
  EXPECT_TRUE(r.IsConst());
  EXPECT_EQ(r.Value(), 1u);
}

}  // namespace
}  // namespace hu::verifier
