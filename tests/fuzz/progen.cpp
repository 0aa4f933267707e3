#include "progen.hpp"

#include "hyperupcall/abi.h"

namespace hu::fuzz {
namespace {

// Scalar registers the generator computes with. r1 is scratch for pointers
// and helper arguments, r6 holds the context, r9 counts loops.
constexpr uint8_t kScalars[] = {0, 2, 3, 4, 5, 7, 8};
constexpr int kStackBytes = 64;  // [r10 - 64, r10) is written first
constexpr int kKeySlot = -72;    // map key, written before each lookup

hu_insn Insn(uint8_t code, uint8_t dst, uint8_t src, int16_t off, int32_t imm) {
  hu_insn i{};
  i.code = code;
  i.dst = dst & 0xf;
  i.src = src & 0xf;
  i.off = off;
  i.imm = imm;
  return i;
}

class Gen {
 public:
  explicit Gen(const fuzz::Pick& pick) : pick_(pick) {}

  std::vector<hu_insn> Make() {
    Emit(Insn(HU_CLS_ALU64 | HU_ALU_MOV | HU_SRC_X, 6, 1, 0, 0));
    for (uint8_t r : kScalars) SetScalar(r);
    for (int off = -kStackBytes; off < 0; off += 8) {
      Emit(Insn(HU_CLS_ST | HU_MODE_MEM | HU_SIZE_DW, 10, 0, int16_t(off), Imm()));
    }
    const int blocks = 4 + int(Pick(40));
    for (int b = 0; b < blocks; ++b) Block(true);
    Emit(Insn(HU_CLS_JMP | HU_JMP_EXIT, 0, 0, 0, 0));
    if (!calls_.empty()) Subprogram();
    return prog_;
  }

 private:
  uint64_t Pick(uint64_t n) { return pick_(n); }
  void Emit(const hu_insn& i) { prog_.push_back(i); }
  uint8_t Scalar() { return kScalars[Pick(sizeof kScalars)]; }

  int32_t Imm() {
    static const int32_t kImms[] = {
        0,  1,   2,  3,  7,    8,     15,         16,        31,         32,         63,
        64, 255, -1, -8, -128, 65535, 0x7fffffff, INT32_MIN, 0x12345678, -0x12345678};
    if (Pick(4) == 0) return int32_t(Pick(1ull << 32));
    return kImms[Pick(sizeof kImms / sizeof kImms[0])];
  }

  void SetScalar(uint8_t r) {
    if (Pick(3) == 0) {
      CtxLoad(r);
    } else {
      Emit(Insn(HU_CLS_ALU64 | HU_ALU_MOV | HU_SRC_K, r, 0, 0, Imm()));
    }
  }

  // After a call r1-r5 cannot be read: give the scalar ones values again.
  void AfterCall() {
    for (uint8_t r : {2, 3, 4, 5}) Emit(Insn(HU_CLS_ALU64 | HU_ALU_MOV | HU_SRC_K, r, 0, 0, Imm()));
  }

  void CtxLoad(uint8_t r) {
    // trace.exit's context: u32 vcpu, u32 kind, then nine u64 fields.
    static const uint8_t kSizes[] = {HU_SIZE_B, HU_SIZE_H, HU_SIZE_W, HU_SIZE_DW};
    int field = int(Pick(11));
    int fsize = field < 2 ? 4 : 8;
    int foff = field < 2 ? field * 4 : 8 * (field - 1);
    int sz = int(Pick(fsize == 4 ? 3 : 4));
    int bytes = 1 << sz;
    int off = foff + bytes * int(Pick(fsize / bytes));
    uint8_t mode = Pick(4) == 0 && bytes < 8 ? HU_MODE_MEMSX : HU_MODE_MEM;
    Emit(Insn(HU_CLS_LDX | mode | kSizes[sz], r, 6, int16_t(off), 0));
  }

  void Alu() {
    static const uint8_t kOps[] = {HU_ALU_ADD, HU_ALU_SUB, HU_ALU_MUL,  HU_ALU_DIV, HU_ALU_OR,
                                   HU_ALU_AND, HU_ALU_LSH, HU_ALU_RSH,  HU_ALU_NEG, HU_ALU_MOD,
                                   HU_ALU_XOR, HU_ALU_MOV, HU_ALU_ARSH, HU_ALU_END};
    uint8_t cls = Pick(2) ? HU_CLS_ALU64 : HU_CLS_ALU;
    uint8_t op = kOps[Pick(sizeof kOps)];
    uint8_t d = Scalar(), s = Scalar();
    bool reg = Pick(2);
    int16_t off = 0;
    int32_t imm = reg ? 0 : Imm();
    if (op == HU_ALU_NEG) {
      reg = false;
      imm = 0;
    } else if (op == HU_ALU_END) {
      static const int32_t kWidths[] = {16, 32, 64};
      imm = kWidths[Pick(3)];
      if (cls == HU_CLS_ALU64) reg = false;  // bswap; ALU: to_le (K) or to_be (X)
    } else if (op == HU_ALU_DIV || op == HU_ALU_MOD) {
      off = int16_t(Pick(2));  // sdiv / smod
    } else if (op == HU_ALU_MOV && reg && Pick(3) == 0) {
      static const int16_t kSx[] = {8, 16, 32};
      off = kSx[Pick(cls == HU_CLS_ALU64 ? 3 : 2)];
    }
    Emit(Insn(cls | op | (reg ? HU_SRC_X : HU_SRC_K), d, reg ? s : 0, off, imm));
  }

  void Lddw() {
    uint64_t v = Pick(1ull << 32) | (Pick(1ull << 32) << 32);
    Emit(Insn(HU_CLS_LD | HU_MODE_IMM | HU_SIZE_DW, Scalar(), 0, 0, int32_t(uint32_t(v))));
    Emit(Insn(0, 0, 0, 0, int32_t(uint32_t(v >> 32))));
  }

  // An access of 1 << sz bytes at an aligned offset inside [lo, lo + len).
  static int16_t Offset(int lo, int len, int sz, uint64_t choice) {
    int bytes = 1 << sz;
    return int16_t(lo + bytes * int(choice % uint64_t(len / bytes)));
  }

  void StackAccess() {
    static const uint8_t kSizes[] = {HU_SIZE_B, HU_SIZE_H, HU_SIZE_W, HU_SIZE_DW};
    int sz = int(Pick(4));
    bool through_ptr = Pick(3) == 0;
    uint8_t base = 10;
    int16_t off = Offset(-kStackBytes, kStackBytes, sz, Pick(64));
    if (through_ptr) {
      // r1 = r10 - k, then [r1 + off + k]: the JIT checks this one at run time.
      int16_t k = int16_t(8 * (1 + Pick(8)));
      Emit(Insn(HU_CLS_ALU64 | HU_ALU_MOV | HU_SRC_X, 1, 10, 0, 0));
      Emit(Insn(HU_CLS_ALU64 | HU_ALU_ADD | HU_SRC_K, 1, 0, 0, -k));
      base = 1;
      off = int16_t(off + k);
    }
    switch (Pick(4)) {
      case 0:
        Emit(Insn(HU_CLS_ST | HU_MODE_MEM | kSizes[sz], base, 0, off, Imm()));
        break;
      case 1:
        Emit(Insn(HU_CLS_STX | HU_MODE_MEM | kSizes[sz], base, Scalar(), off, 0));
        break;
      case 2:
        if (sz >= 2) {
          Atomic(base, off, sz == 3);
          break;
        }
        [[fallthrough]];
      default: {
        uint8_t mode = Pick(4) == 0 && sz < 3 ? HU_MODE_MEMSX : HU_MODE_MEM;
        Emit(Insn(HU_CLS_LDX | mode | kSizes[sz], Scalar(), base, off, 0));
        break;
      }
    }
  }

  void Atomic(uint8_t base, int16_t off, bool dw) {
    static const int32_t kOps[] = {HU_ATOMIC_ADD,
                                   HU_ATOMIC_OR,
                                   HU_ATOMIC_AND,
                                   HU_ATOMIC_XOR,
                                   HU_ATOMIC_ADD | HU_ATOMIC_FETCH,
                                   HU_ATOMIC_OR | HU_ATOMIC_FETCH,
                                   HU_ATOMIC_AND | HU_ATOMIC_FETCH,
                                   HU_ATOMIC_XOR | HU_ATOMIC_FETCH,
                                   HU_ATOMIC_XCHG,
                                   HU_ATOMIC_CMPXCHG};
    Emit(Insn(HU_CLS_STX | HU_MODE_ATOMIC | (dw ? HU_SIZE_DW : HU_SIZE_W), base, Scalar(), off,
              kOps[Pick(sizeof kOps / sizeof kOps[0])]));
  }

  // A straight-line instruction: what branches and loops wrap.
  void Simple() {
    switch (Pick(5)) {
      case 0:
      case 1:
        Alu();
        break;
      case 2:
        StackAccess();
        break;
      case 3:
        CtxLoad(Scalar());
        break;
      default:
        Emit(Insn(HU_CLS_ALU64 | HU_ALU_MOV | HU_SRC_K, Scalar(), 0, 0, Imm()));
        break;
    }
  }

  void Branch() {
    static const uint8_t kConds[] = {HU_JMP_JEQ, HU_JMP_JGT,  HU_JMP_JGE,  HU_JMP_JSET,
                                     HU_JMP_JNE, HU_JMP_JSGT, HU_JMP_JSGE, HU_JMP_JLT,
                                     HU_JMP_JLE, HU_JMP_JSLT, HU_JMP_JSLE};
    uint8_t cls = Pick(2) ? HU_CLS_JMP : HU_CLS_JMP32;
    bool reg = Pick(2);
    size_t at = prog_.size();
    const bool always = Pick(8) == 0;  // ja (off) or gotol (ja32, imm)
    if (always) {
      Emit(Insn(cls | HU_JMP_JA, 0, 0, 0, 0));
    } else {
      Emit(Insn(cls | kConds[Pick(sizeof kConds)] | (reg ? HU_SRC_X : HU_SRC_K), Scalar(),
                reg ? Scalar() : 0, 0, reg ? 0 : Imm()));
    }
    int n = 1 + int(Pick(3));
    for (int i = 0; i < n; ++i) Simple();
    const auto skip = int16_t(prog_.size() - at - 1);
    if (always && cls == HU_CLS_JMP32) {
      prog_[at].imm = skip;
    } else {
      prog_[at].off = skip;
    }
  }

  void Loop() {
    Emit(Insn(HU_CLS_ALU64 | HU_ALU_MOV | HU_SRC_K, 9, 0, 0, int32_t(1 + Pick(20))));
    size_t head = prog_.size();
    int n = 1 + int(Pick(4));
    for (int i = 0; i < n; ++i) Simple();
    Emit(Insn(HU_CLS_ALU64 | HU_ALU_SUB | HU_SRC_K, 9, 0, 0, 1));
    uint8_t cls = Pick(2) ? HU_CLS_JMP : HU_CLS_JMP32;
    Emit(Insn(cls | HU_JMP_JNE | HU_SRC_K, 9, 0, int16_t(head - prog_.size() - 1), 0));
  }

  // A loop walking r1 over the stack, `step` bytes a round: a load
  // through it, maybe ALU, maybe a store back (the JIT checks such loops
  // once a round, at the head, and a load and its store once).
  void WalkLoop() {
    static const uint8_t kSizes[] = {HU_SIZE_B, HU_SIZE_H, HU_SIZE_W, HU_SIZE_DW};
    const int sz = int(Pick(4)), bytes = 1 << sz;
    const int step = bytes * int(1 + Pick(2));
    // Half of them the whole of the written stack: long enough, with a
    // long body, that the JIT keeps the loop rather than unrolling it.
    const int most = (kStackBytes - bytes) / step + 1;
    const int rounds = Pick(2) ? most : 1 + int(Pick(uint64_t(most)));
    const uint8_t r = Scalar();
    Emit(Insn(HU_CLS_ALU64 | HU_ALU_MOV | HU_SRC_X, 1, 10, 0, 0));
    Emit(Insn(HU_CLS_ALU64 | HU_ALU_ADD | HU_SRC_K, 1, 0, 0, -kStackBytes));
    // Counting down to zero, or up from c0 by `by` to below `bound` (the
    // JIT counts such a loop's rounds on the way in: no check at all).
    const bool up = Pick(2) != 0;
    const int c0 = int(Pick(3)), by = 1 + int(Pick(3));
    const int bound = c0 + (rounds - 1) * by + 1 + int(Pick(uint64_t(by)));
    Emit(Insn(HU_CLS_ALU64 | HU_ALU_MOV | HU_SRC_K, 9, 0, 0, up ? c0 : rounds));
    size_t head = prog_.size();
    Emit(Insn(HU_CLS_LDX | HU_MODE_MEM | kSizes[sz], r, 1, 0, 0));
    if (Pick(2)) Alu();
    if (Pick(2)) Emit(Insn(HU_CLS_STX | HU_MODE_MEM | kSizes[sz], 1, r, 0, 0));
    // A longer body: counted loops of more rounds x length than the JIT
    // unrolls keep their back edge (jit.c, unroll).
    static const uint8_t kPure[] = {HU_ALU_ADD, HU_ALU_XOR, HU_ALU_SUB};
    for (int n = int(Pick(5)); n > 0; --n) {
      Emit(Insn(HU_CLS_ALU64 | kPure[Pick(3)] | HU_SRC_K, Scalar(), 0, 0, Imm()));
    }
    Emit(Insn(HU_CLS_ALU64 | HU_ALU_ADD | HU_SRC_K, 1, 0, 0, step));
    if (up) {
      Emit(Insn(HU_CLS_ALU64 | HU_ALU_ADD | HU_SRC_K, 9, 0, 0, by));
      Emit(Insn(HU_CLS_JMP | HU_JMP_JLT | HU_SRC_K, 9, 0, int16_t(head - prog_.size() - 1), bound));
      return;
    }
    Emit(Insn(HU_CLS_ALU64 | HU_ALU_SUB | HU_SRC_K, 9, 0, 0, 1));
    Emit(Insn(HU_CLS_JMP | HU_JMP_JNE | HU_SRC_K, 9, 0, int16_t(head - prog_.size() - 1), 0));
  }

  void MapAccess() {
    Emit(Insn(HU_CLS_ST | HU_MODE_MEM | HU_SIZE_W, 10, 0, kKeySlot,
              int32_t(Pick(kMapEntries + 2))));  // some keys miss
    Emit(Insn(HU_CLS_LD | HU_MODE_IMM | HU_SIZE_DW, 1, HU_PSEUDO_MAP_IDX, 0, 0));
    Emit(Insn(0, 0, 0, 0, 0));
    Emit(Insn(HU_CLS_ALU64 | HU_ALU_MOV | HU_SRC_X, 2, 10, 0, 0));
    Emit(Insn(HU_CLS_ALU64 | HU_ALU_ADD | HU_SRC_K, 2, 0, 0, kKeySlot));
    Emit(Insn(HU_CLS_JMP | HU_JMP_CALL, 0, HU_CALL_HELPER, 0, HU_HELPER_MAP_LOOKUP));
    AfterCall();
    size_t at = prog_.size();
    Emit(Insn(HU_CLS_JMP | HU_JMP_JEQ | HU_SRC_K, 0, 0, 0, 0));
    static const uint8_t kSizes[] = {HU_SIZE_B, HU_SIZE_H, HU_SIZE_W, HU_SIZE_DW};
    int n = 1 + int(Pick(4));
    for (int i = 0; i < n; ++i) {
      int sz = int(Pick(4));
      int16_t off = Offset(0, kMapValue, sz, Pick(64));
      uint8_t r = kScalars[1 + Pick(sizeof kScalars - 1)];  // not r0: it is the pointer
      switch (Pick(4)) {
        case 0:
          Emit(Insn(HU_CLS_LDX | HU_MODE_MEM | kSizes[sz], r, 0, off, 0));
          break;
        case 1:
          Emit(Insn(HU_CLS_STX | HU_MODE_MEM | kSizes[sz], 0, r, off, 0));
          break;
        case 2:
          Emit(Insn(HU_CLS_ST | HU_MODE_MEM | kSizes[sz], 0, 0, off, Imm()));
          break;
        default:
          Emit(Insn(HU_CLS_STX | HU_MODE_ATOMIC | HU_SIZE_DW, 0, r,
                    Offset(0, kMapValue, 3, Pick(8)), HU_ATOMIC_ADD));
          break;
      }
    }
    prog_[at].off = int16_t(prog_.size() - at - 1);
    Emit(Insn(HU_CLS_ALU64 | HU_ALU_MOV | HU_SRC_K, 0, 0, 0, Imm()));
  }

  // call imm, or callx through r3 holding the id (a known constant, which
  // the verifier takes).
  void Call(int32_t id) {
    if (Pick(3) == 0) {
      Emit(Insn(HU_CLS_ALU64 | HU_ALU_MOV | HU_SRC_K, 3, 0, 0, id));
      Emit(Insn(HU_CLS_JMP | HU_JMP_CALL | HU_SRC_X, 3, 0, 0, 0));
    } else {
      Emit(Insn(HU_CLS_JMP | HU_JMP_CALL, 0, HU_CALL_HELPER, 0, id));
    }
  }

  void Helper() {
    if (Pick(2)) {
      Call(HU_HELPER_KTIME_NS);
    } else {
      int16_t off = Offset(-kStackBytes, kStackBytes, 3, Pick(8));
      Emit(Insn(HU_CLS_ALU64 | HU_ALU_MOV | HU_SRC_X, 1, 10, 0, 0));
      Emit(Insn(HU_CLS_ALU64 | HU_ALU_ADD | HU_SRC_K, 1, 0, 0, off));
      Emit(Insn(HU_CLS_ALU64 | HU_ALU_MOV | HU_SRC_K, 2, 0, 0, int32_t(1 + Pick(uint64_t(-off)))));
      Call(HU_HELPER_TRACE_OUTPUT);
    }
    AfterCall();
  }

  void Block(bool top) {
    switch (Pick(14)) {
      case 0:
      case 1:
      case 2:
        Alu();
        break;
      case 3:
        CtxLoad(Scalar());
        break;
      case 4:
      case 5:
        StackAccess();
        break;
      case 6:
        Lddw();
        break;
      case 7:
      case 8:
        Branch();
        break;
      case 9:
        if (top) {
          if (Pick(2)) {
            Loop();
          } else {
            WalkLoop();
          }
        }
        break;
      case 10:
        MapAccess();
        break;
      case 11:
        Helper();
        break;
      case 12:
        if (top && calls_.size() < 3) {
          calls_.push_back(prog_.size());
          Emit(Insn(HU_CLS_JMP | HU_JMP_CALL, 0, HU_CALL_LOCAL, 0, 0));
          AfterCall();
        }
        break;
      default:
        Simple();
        break;
    }
  }

  // Every local call goes here: a frame of its own, r0 from it.
  void Subprogram() {
    const size_t start = prog_.size();
    for (size_t call_at : calls_) prog_[call_at].imm = int32_t(start - call_at - 1);
    Emit(Insn(HU_CLS_ST | HU_MODE_MEM | HU_SIZE_DW, 10, 0, -8, Imm()));
    Emit(Insn(HU_CLS_LDX | HU_MODE_MEM | HU_SIZE_DW, 0, 10, -8, 0));
    Emit(Insn(HU_CLS_ALU64 | HU_ALU_MUL | HU_SRC_K, 0, 0, 0, Imm()));
    Emit(Insn(HU_CLS_ALU64 | HU_ALU_ADD | HU_SRC_X, 0, 2, 0, 0));  // an argument
    // The caller's r6 (the context) must come back unchanged.
    Emit(Insn(HU_CLS_ALU64 | HU_ALU_MOV | HU_SRC_K, 6, 0, 0, Imm()));
    Emit(Insn(HU_CLS_JMP | HU_JMP_EXIT, 0, 0, 0, 0));
  }

  const fuzz::Pick& pick_;
  std::vector<hu_insn> prog_;
  std::vector<size_t> calls_;
};

}  // namespace

std::vector<hu_insn> GenerateProgram(const Pick& pick) { return Gen(pick).Make(); }

}  // namespace hu::fuzz
