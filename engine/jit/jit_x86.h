/* SPDX-License-Identifier: MIT */
/*
 * An x86-64 instruction encoder: just the forms the JIT emits. Bytes go to
 * j->out (when not NULL) at j->len; j->len always advances, so a pass with
 * no buffer measures.
 */
#ifndef HU_JIT_X86_H
#define HU_JIT_X86_H

#include "hyperupcall/jit.h"

enum x86_reg {
    RAX = 0, RCX = 1, RDX = 2, RBX = 3, RSP = 4, RBP = 5, RSI = 6, RDI = 7,
    R8 = 8, R9 = 9, R10 = 10, R11 = 11, R12 = 12, R13 = 13, R14 = 14,
    R15 = 15
};

/* Prefix flags of an instruction. */
#define X_W 0x01    /* REX.W: 64-bit operand */
#define X_66 0x02   /* 16-bit operand */
#define X_LOCK 0x04 /* lock prefix */
#define X_REX 0x08  /* a REX even if empty: byte access to sil, dil, bpl */

/* Condition codes (the low nibble of Jcc, SETcc, CMOVcc). */
enum x86_cc {
    CC_B = 0x2, CC_AE = 0x3, CC_E = 0x4, CC_NE = 0x5, CC_BE = 0x6,
    CC_A = 0x7, CC_S = 0x8, CC_NS = 0x9, CC_L = 0xc, CC_GE = 0xd, CC_LE = 0xe, CC_G = 0xf
};

/* ALU operations: the /digit of 0x81 and 8 * it + 1 is the "op r/m, r" form. */
enum x86_alu {
    ALU_ADD = 0, ALU_OR = 1, ALU_ADC = 2, ALU_AND = 4, ALU_SUB = 5, ALU_XOR = 6, ALU_CMP = 7
};

/* Shifts: the /digit of 0xc1 and 0xd3. */
enum x86_shift { SH_ROR = 1, SH_SHL = 4, SH_SHR = 5, SH_SAR = 7 };

void x86_byte(struct hu_jit *j, uint8_t v);
void x86_u32(struct hu_jit *j, uint32_t v);
void x86_u64(struct hu_jit *j, uint64_t v);

/* op reg, rm with both registers (ModRM mod 3); `op` is 1-3 opcode bytes. */
void x86_rr(struct hu_jit *j, unsigned int flags, uint32_t op,
            unsigned int reg, unsigned int rm);
/* op reg, [base + disp]. */
void x86_rm(struct hu_jit *j, unsigned int flags, uint32_t op,
            unsigned int reg, unsigned int base, int32_t disp);

/* Common forms. */
void x86_mov_rr(struct hu_jit *j, int w64, unsigned int dst, unsigned int src);
void x86_alu_rr(struct hu_jit *j, int w64, enum x86_alu op, unsigned int dst,
                unsigned int src);
void x86_alu_ri(struct hu_jit *j, int w64, enum x86_alu op, unsigned int dst,
                int32_t imm);
/* op qword/dword [base + disp], imm. */
void x86_alu_mi(struct hu_jit *j, int w64, enum x86_alu op, unsigned int base,
                int32_t disp, int32_t imm);
void x86_test_ri(struct hu_jit *j, int w64, unsigned int dst, int32_t imm);
/* dst = imm, sign-extended (w64) or zero-extended (32-bit). */
void x86_mov_ri(struct hu_jit *j, int w64, unsigned int dst, int32_t imm);
/* The same, in one fixed-length form whatever imm is (for blinding). */
void x86_mov_ri_fixed(struct hu_jit *j, int w64, unsigned int dst,
                      int32_t imm);
void x86_mov_ri64(struct hu_jit *j, unsigned int dst, uint64_t imm);
void x86_shift_ri(struct hu_jit *j, int w64, enum x86_shift op,
                  unsigned int dst, uint8_t count);
void x86_shift_cl(struct hu_jit *j, int w64, enum x86_shift op,
                  unsigned int dst);
void x86_push(struct hu_jit *j, unsigned int r);
void x86_pop(struct hu_jit *j, unsigned int r);
void x86_lea(struct hu_jit *j, unsigned int dst, unsigned int base,
             int32_t disp);
/* 64-bit load and store of a register at [base + disp]. */
void x86_load64(struct hu_jit *j, unsigned int dst, unsigned int base,
                int32_t disp);
void x86_store64(struct hu_jit *j, unsigned int base, int32_t disp,
                 unsigned int src);
/* dword [base + disp] = imm. */
void x86_store32_i(struct hu_jit *j, unsigned int base, int32_t disp,
                   uint32_t imm);

/* Jumps to an absolute offset in the image; `rel8` picks the short form. */
void x86_jmp(struct hu_jit *j, uint32_t target, int rel8);
void x86_jcc(struct hu_jit *j, enum x86_cc cc, uint32_t target, int rel8);
void x86_call(struct hu_jit *j, uint32_t target);
/* Short forward jump to patch later with x86_here8: returns its position. */
uint32_t x86_jcc8_fwd(struct hu_jit *j, enum x86_cc cc);
uint32_t x86_jmp8_fwd(struct hu_jit *j);
void x86_here8(struct hu_jit *j, uint32_t at);

#endif /* HU_JIT_X86_H */
