/* SPDX-License-Identifier: MIT */
/*
 * x86-64 encoding for the JIT (Intel SDM vol. 2, chapter 2: REX, ModRM,
 * SIB). Only what the translator needs; every form is a fixed function of
 * its operands, so a measuring pass and the writing pass agree on sizes.
 */
#include "jit_x86.h"

void x86_byte(struct hu_jit *j, uint8_t v)
{
    if ( j->mute )
        return;
    if ( j->out != 0 )
    {
        if ( j->len < j->cap )
            j->out[j->len] = v;
        else
            j->err = HU_JIT_E_SIZE;
    }
    j->len++;
}

void x86_u32(struct hu_jit *j, uint32_t v)
{
    unsigned int i;

    for ( i = 0; i < 4; i++ )
        x86_byte(j, (uint8_t)(v >> (8 * i)));
}

void x86_u64(struct hu_jit *j, uint64_t v)
{
    x86_u32(j, (uint32_t)v);
    x86_u32(j, (uint32_t)(v >> 32));
}

static int fits8(int64_t v)
{
    return v >= -128 && v <= 127;
}

static void prefixes(struct hu_jit *j, unsigned int flags, unsigned int reg,
                     unsigned int rm)
{
    uint8_t rex = 0x40;

    if ( flags & X_LOCK )
        x86_byte(j, 0xf0);
    if ( flags & X_66 )
        x86_byte(j, 0x66);
    if ( flags & X_W )
        rex |= 0x08;
    if ( reg & 8 )
        rex |= 0x04;
    if ( rm & 8 )
        rex |= 0x01;
    if ( rex != 0x40 || (flags & X_REX) )
        x86_byte(j, rex);
}

static void opcode(struct hu_jit *j, uint32_t op)
{
    if ( op > 0xffff )
        x86_byte(j, (uint8_t)(op >> 16));
    if ( op > 0xff )
        x86_byte(j, (uint8_t)(op >> 8));
    x86_byte(j, (uint8_t)op);
}

void x86_rr(struct hu_jit *j, unsigned int flags, uint32_t op,
            unsigned int reg, unsigned int rm)
{
    prefixes(j, flags, reg, rm);
    opcode(j, op);
    x86_byte(j, (uint8_t)(0xc0 | ((reg & 7) << 3) | (rm & 7)));
}

void x86_rm(struct hu_jit *j, unsigned int flags, uint32_t op,
            unsigned int reg, unsigned int base, int32_t disp)
{
    unsigned int mod;

    prefixes(j, flags, reg, base);
    opcode(j, op);
    /* rbp and r13 as a base have no mod-0 form: that encodes rip + disp32. */
    if ( disp == 0 && (base & 7) != RBP )
        mod = 0;
    else if ( fits8(disp) )
        mod = 1;
    else
        mod = 2;
    x86_byte(j, (uint8_t)((mod << 6) | ((reg & 7) << 3) | (base & 7)));
    /* rsp and r12 as a base need a SIB byte: no index, that base. */
    if ( (base & 7) == RSP )
        x86_byte(j, 0x24);
    if ( mod == 1 )
        x86_byte(j, (uint8_t)disp);
    else if ( mod == 2 )
        x86_u32(j, (uint32_t)disp);
}

void x86_mov_rr(struct hu_jit *j, int w64, unsigned int dst, unsigned int src)
{
    x86_rr(j, w64 ? X_W : 0, 0x89, src, dst);
}

void x86_alu_rr(struct hu_jit *j, int w64, enum x86_alu op, unsigned int dst,
                unsigned int src)
{
    x86_rr(j, w64 ? X_W : 0, 8 * op + 1, src, dst);
}

void x86_alu_ri(struct hu_jit *j, int w64, enum x86_alu op, unsigned int dst,
                int32_t imm)
{
    if ( fits8(imm) )
    {
        x86_rr(j, w64 ? X_W : 0, 0x83, op, dst);
        x86_byte(j, (uint8_t)imm);
    }
    else
    {
        x86_rr(j, w64 ? X_W : 0, 0x81, op, dst);
        x86_u32(j, (uint32_t)imm);
    }
}

void x86_alu_mi(struct hu_jit *j, int w64, enum x86_alu op, unsigned int base,
                int32_t disp, int32_t imm)
{
    if ( fits8(imm) )
    {
        x86_rm(j, w64 ? X_W : 0, 0x83, op, base, disp);
        x86_byte(j, (uint8_t)imm);
    }
    else
    {
        x86_rm(j, w64 ? X_W : 0, 0x81, op, base, disp);
        x86_u32(j, (uint32_t)imm);
    }
}

void x86_test_ri(struct hu_jit *j, int w64, unsigned int dst, int32_t imm)
{
    x86_rr(j, w64 ? X_W : 0, 0xf7, 0, dst);
    x86_u32(j, (uint32_t)imm);
}

void x86_mov_ri_fixed(struct hu_jit *j, int w64, unsigned int dst,
                      int32_t imm)
{
    if ( w64 )
    {
        /* mov r/m64, imm32 (sign-extended) */
        x86_rr(j, X_W, 0xc7, 0, dst);
    }
    else
    {
        /* mov r32, imm32 (zero-extended) */
        prefixes(j, 0, 0, dst);
        x86_byte(j, (uint8_t)(0xb8 + (dst & 7)));
    }
    x86_u32(j, (uint32_t)imm);
}

void x86_mov_ri(struct hu_jit *j, int w64, unsigned int dst, int32_t imm)
{
    if ( imm == 0 )
        x86_alu_rr(j, 0, ALU_XOR, dst, dst); /* clears all 64 bits */
    else
        x86_mov_ri_fixed(j, w64 && imm < 0, dst, imm);
}

void x86_mov_ri64(struct hu_jit *j, unsigned int dst, uint64_t imm)
{
    if ( imm == (uint64_t)(uint32_t)imm )
        x86_mov_ri(j, 0, dst, (int32_t)(uint32_t)imm);
    else if ( (int64_t)imm == (int64_t)(int32_t)imm )
        x86_mov_ri_fixed(j, 1, dst, (int32_t)imm);
    else
    {
        prefixes(j, X_W, 0, dst);
        x86_byte(j, (uint8_t)(0xb8 + (dst & 7)));
        x86_u64(j, imm);
    }
}

void x86_shift_ri(struct hu_jit *j, int w64, enum x86_shift op,
                  unsigned int dst, uint8_t count)
{
    x86_rr(j, w64 ? X_W : 0, 0xc1, op, dst);
    x86_byte(j, count);
}

void x86_shift_cl(struct hu_jit *j, int w64, enum x86_shift op,
                  unsigned int dst)
{
    x86_rr(j, w64 ? X_W : 0, 0xd3, op, dst);
}

void x86_push(struct hu_jit *j, unsigned int r)
{
    if ( r & 8 )
        x86_byte(j, 0x41);
    x86_byte(j, (uint8_t)(0x50 + (r & 7)));
}

void x86_pop(struct hu_jit *j, unsigned int r)
{
    if ( r & 8 )
        x86_byte(j, 0x41);
    x86_byte(j, (uint8_t)(0x58 + (r & 7)));
}

void x86_lea(struct hu_jit *j, unsigned int dst, unsigned int base,
             int32_t disp)
{
    x86_rm(j, X_W, 0x8d, dst, base, disp);
}

void x86_load64(struct hu_jit *j, unsigned int dst, unsigned int base,
                int32_t disp)
{
    x86_rm(j, X_W, 0x8b, dst, base, disp);
}

void x86_store64(struct hu_jit *j, unsigned int base, int32_t disp,
                 unsigned int src)
{
    x86_rm(j, X_W, 0x89, src, base, disp);
}

void x86_store32_i(struct hu_jit *j, unsigned int base, int32_t disp,
                   uint32_t imm)
{
    x86_rm(j, 0, 0xc7, 0, base, disp);
    x86_u32(j, imm);
}

/* Displacement from the end of an instruction of `size` bytes to target. */
static int64_t disp_to(const struct hu_jit *j, uint32_t target, uint32_t size)
{
    return (int64_t)target - (int64_t)(j->len + size);
}

static void rel8(struct hu_jit *j, int64_t d)
{
    /* Only the writing pass knows the final layout; a short form that does
     * not reach there means the layout did not settle. */
    if ( j->out != 0 && !j->mute && !fits8(d) )
        j->err = HU_JIT_E_INTERNAL;
    x86_byte(j, (uint8_t)d);
}

void x86_jmp(struct hu_jit *j, uint32_t target, int short_form)
{
    if ( short_form )
    {
        int64_t d = disp_to(j, target, 2);

        x86_byte(j, 0xeb);
        rel8(j, d);
    }
    else
    {
        int64_t d = disp_to(j, target, 5);

        x86_byte(j, 0xe9);
        x86_u32(j, (uint32_t)d);
    }
}

void x86_jcc(struct hu_jit *j, enum x86_cc cc, uint32_t target, int short_form)
{
    if ( short_form )
    {
        int64_t d = disp_to(j, target, 2);

        x86_byte(j, (uint8_t)(0x70 | cc));
        rel8(j, d);
    }
    else
    {
        int64_t d = disp_to(j, target, 6);

        x86_byte(j, 0x0f);
        x86_byte(j, (uint8_t)(0x80 | cc));
        x86_u32(j, (uint32_t)d);
    }
}

void x86_call(struct hu_jit *j, uint32_t target)
{
    int64_t d = disp_to(j, target, 5);

    x86_byte(j, 0xe8);
    x86_u32(j, (uint32_t)d);
}

uint32_t x86_jcc8_fwd(struct hu_jit *j, enum x86_cc cc)
{
    x86_byte(j, (uint8_t)(0x70 | cc));
    x86_byte(j, 0);
    return j->len;
}

uint32_t x86_jmp8_fwd(struct hu_jit *j)
{
    x86_byte(j, 0xeb);
    x86_byte(j, 0);
    return j->len;
}

void x86_here8(struct hu_jit *j, uint32_t at)
{
    int64_t d = (int64_t)j->len - (int64_t)at;

    if ( j->mute )
        return;
    if ( !fits8(d) )
        j->err = HU_JIT_E_INTERNAL;
    else if ( j->out != 0 && at - 1 < j->cap )
        j->out[at - 1] = (uint8_t)d;
}
