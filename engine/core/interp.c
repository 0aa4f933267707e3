/* SPDX-License-Identifier: MIT */
/*
 * The eBPF interpreter (RFC 9669). Freestanding C: no libc, no allocation,
 * no writable globals, no floating point, and no C recursion: bpf-to-bpf
 * calls use a fixed frame array on the interpreter's own C stack, so the
 * C stack depth does not depend on the guest's program.
 *
 * Defence in depth: the verifier has already proved the program safe, but
 * this file assumes it did not. Every instruction is counted against the
 * budget, every register number is bounded by the opcode table, every jump
 * target is inside the program, and every load and store is inside the
 * current stack frame (r10-based), the stack buffer, or a registered region.
 */
#include "hyperupcall/interp.h"
#include "hyperupcall/opcodes.h"

#ifndef NULL
#define NULL ((void *)0)
#endif

#define STACK_NEEDED ((uint64_t)HU_STACK_FRAME * HU_MAX_CALL_DEPTH)

/* What a local call saves: the callee-saved registers and the caller's pc. */
struct frame {
    uint64_t saved[4]; /* r6..r9 */
    uint64_t fp;       /* r10 */
    uint32_t ret_pc;
};

/*
 * Guest-computed addresses need not be aligned: packed structs make the
 * compiler emit plain (x86) or byte-wise (strict-alignment) accesses, never
 * a call to memcpy.
 */
struct un16 { uint16_t v; } __attribute__((__packed__, __may_alias__));
struct un32 { uint32_t v; } __attribute__((__packed__, __may_alias__));
struct un64 { uint64_t v; } __attribute__((__packed__, __may_alias__));

static inline uint64_t load(uint64_t addr, unsigned int size)
{
    const void *p = (const void *)(uintptr_t)addr;

    switch ( size )
    {
    case 1:
        return *(const uint8_t *)p;
    case 2:
        return ((const struct un16 *)p)->v;
    case 4:
        return ((const struct un32 *)p)->v;
    default:
        return ((const struct un64 *)p)->v;
    }
}

static inline void store(uint64_t addr, unsigned int size, uint64_t val)
{
    void *p = (void *)(uintptr_t)addr;

    switch ( size )
    {
    case 1:
        *(uint8_t *)p = (uint8_t)val;
        break;
    case 2:
        ((struct un16 *)p)->v = (uint16_t)val;
        break;
    case 4:
        ((struct un32 *)p)->v = (uint32_t)val;
        break;
    default:
        ((struct un64 *)p)->v = val;
        break;
    }
}

/* [addr, addr + len) inside [base, base + blen), without overflow. */
static inline int in_range(uint64_t addr, uint64_t len, uint64_t base,
                           uint64_t blen)
{
    return addr >= base && len <= blen && addr - base <= blen - len;
}

static int region_check(const struct hu_run *run, uint64_t addr, uint64_t len,
                        int write)
{
    uint32_t i;
    int readonly_hit = 0;

    for ( i = 0; i < run->nregions; i++ )
    {
        const struct hu_mem_region *r = &run->regions[i];

        if ( !in_range(addr, len, r->base, r->len) )
            continue;
        if ( !write || r->writable )
            return HU_RUN_OK;
        readonly_hit = 1;
    }
    return readonly_hit ? HU_RUN_READONLY : HU_RUN_OOB_MEM;
}

int hu_interp_check(const struct hu_run *run, uint64_t addr, uint64_t len,
                    int write)
{
    if ( len == 0 )
        return HU_RUN_OK;
    if ( run->stack != NULL &&
         in_range(addr, len, (uintptr_t)run->stack, run->stack_size) )
        return HU_RUN_OK;
    return region_check(run, addr, len, write);
}

/*
 * An access through r10 must stay in the current frame; through any other
 * register it may reach the whole stack buffer (pointers to a caller's
 * frame) or a region.
 */
static inline int access_check(const struct hu_run *run, unsigned int base,
                               uint64_t fp, uint64_t addr, unsigned int size,
                               int write)
{
    if ( base == HU_REG_FP )
        return in_range(addr, size, fp - HU_STACK_FRAME, HU_STACK_FRAME)
               ? HU_RUN_OK : HU_RUN_OOB_STACK;
    if ( in_range(addr, size, (uintptr_t)run->stack, run->stack_size) )
        return HU_RUN_OK;
    return region_check(run, addr, size, write);
}

/* Division and modulo as RFC 9669 defines them, without C's undefined cases. */
static inline uint64_t udiv64(uint64_t a, uint64_t b)
{
    return b ? a / b : 0;
}

static inline uint64_t umod64(uint64_t a, uint64_t b)
{
    return b ? a % b : a;
}

static inline uint64_t sdiv64(uint64_t a, uint64_t b)
{
    if ( b == 0 )
        return 0;
    if ( (int64_t)b == -1 )
        return 0 - a; /* INT64_MIN / -1 wraps to INT64_MIN */
    return (uint64_t)((int64_t)a / (int64_t)b);
}

static inline uint64_t smod64(uint64_t a, uint64_t b)
{
    if ( b == 0 )
        return a;
    if ( (int64_t)b == -1 )
        return 0;
    return (uint64_t)((int64_t)a % (int64_t)b);
}

static inline uint32_t udiv32(uint32_t a, uint32_t b)
{
    return b ? a / b : 0;
}

static inline uint32_t umod32(uint32_t a, uint32_t b)
{
    return b ? a % b : a;
}

static inline uint32_t sdiv32(uint32_t a, uint32_t b)
{
    if ( b == 0 )
        return 0;
    if ( (int32_t)b == -1 )
        return 0 - a;
    return (uint32_t)((int32_t)a / (int32_t)b);
}

static inline uint32_t smod32(uint32_t a, uint32_t b)
{
    if ( b == 0 )
        return a;
    if ( (int32_t)b == -1 )
        return 0;
    return (uint32_t)((int32_t)a % (int32_t)b);
}

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
#define TO_LE16(x) __builtin_bswap16(x)
#define TO_LE32(x) __builtin_bswap32(x)
#define TO_LE64(x) __builtin_bswap64(x)
#define TO_BE16(x) ((uint16_t)(x))
#define TO_BE32(x) ((uint32_t)(x))
#define TO_BE64(x) ((uint64_t)(x))
#else
#define TO_LE16(x) ((uint16_t)(x))
#define TO_LE32(x) ((uint32_t)(x))
#define TO_LE64(x) ((uint64_t)(x))
#define TO_BE16(x) __builtin_bswap16(x)
#define TO_BE32(x) __builtin_bswap32(x)
#define TO_BE64(x) __builtin_bswap64(x)
#endif

/* Atomic read-modify-write; returns the old value (zero-extended). */
static uint64_t atomic_rmw(uint64_t addr, unsigned int size, int32_t op,
                           uint64_t val, uint64_t expected)
{
    if ( size == 4 )
    {
        uint32_t *p = (uint32_t *)(uintptr_t)addr;
        uint32_t v = (uint32_t)val;

        switch ( op & ~HU_ATOMIC_FETCH )
        {
        case HU_ATOMIC_ADD:
            return __atomic_fetch_add(p, v, __ATOMIC_SEQ_CST);
        case HU_ATOMIC_OR:
            return __atomic_fetch_or(p, v, __ATOMIC_SEQ_CST);
        case HU_ATOMIC_AND:
            return __atomic_fetch_and(p, v, __ATOMIC_SEQ_CST);
        case HU_ATOMIC_XOR:
            return __atomic_fetch_xor(p, v, __ATOMIC_SEQ_CST);
        case HU_ATOMIC_XCHG & ~HU_ATOMIC_FETCH:
            return __atomic_exchange_n(p, v, __ATOMIC_SEQ_CST);
        default: /* cmpxchg */
        {
            uint32_t old = (uint32_t)expected;

            __atomic_compare_exchange_n(p, &old, v, 0, __ATOMIC_SEQ_CST,
                                        __ATOMIC_SEQ_CST);
            return old;
        }
        }
    }
    else
    {
        uint64_t *p = (uint64_t *)(uintptr_t)addr;

        switch ( op & ~HU_ATOMIC_FETCH )
        {
        case HU_ATOMIC_ADD:
            return __atomic_fetch_add(p, val, __ATOMIC_SEQ_CST);
        case HU_ATOMIC_OR:
            return __atomic_fetch_or(p, val, __ATOMIC_SEQ_CST);
        case HU_ATOMIC_AND:
            return __atomic_fetch_and(p, val, __ATOMIC_SEQ_CST);
        case HU_ATOMIC_XOR:
            return __atomic_fetch_xor(p, val, __ATOMIC_SEQ_CST);
        case HU_ATOMIC_XCHG & ~HU_ATOMIC_FETCH:
            return __atomic_exchange_n(p, val, __ATOMIC_SEQ_CST);
        default: /* cmpxchg */
        {
            uint64_t old = expected;

            __atomic_compare_exchange_n(p, &old, val, 0, __ATOMIC_SEQ_CST,
                                        __ATOMIC_SEQ_CST);
            return old;
        }
        }
    }
}

/* Opcode spelled from its parts, for the case labels. */
#define A64K(op) (HU_CLS_ALU64 | HU_ALU_##op | HU_SRC_K)
#define A64X(op) (HU_CLS_ALU64 | HU_ALU_##op | HU_SRC_X)
#define A32K(op) (HU_CLS_ALU | HU_ALU_##op | HU_SRC_K)
#define A32X(op) (HU_CLS_ALU | HU_ALU_##op | HU_SRC_X)
#define J64K(op) (HU_CLS_JMP | HU_JMP_##op | HU_SRC_K)
#define J64X(op) (HU_CLS_JMP | HU_JMP_##op | HU_SRC_X)
#define J32K(op) (HU_CLS_JMP32 | HU_JMP_##op | HU_SRC_K)
#define J32X(op) (HU_CLS_JMP32 | HU_JMP_##op | HU_SRC_X)
#define LDXM(sz) (HU_CLS_LDX | HU_MODE_MEM | HU_SIZE_##sz)
#define LDXS(sz) (HU_CLS_LDX | HU_MODE_MEMSX | HU_SIZE_##sz)
#define STM(sz) (HU_CLS_ST | HU_MODE_MEM | HU_SIZE_##sz)
#define STXM(sz) (HU_CLS_STX | HU_MODE_MEM | HU_SIZE_##sz)

/* Shorthands inside the interpreter loop. */
#define DST reg[dst]
#define SRC reg[src]
#define IMM ((uint64_t)(int64_t)insn->imm) /* sign-extended to 64 bits */
#define IMM32 ((uint32_t)insn->imm)
#define U32(x) ((uint64_t)(uint32_t)(x))
#define FAIL(code) do { err = (code); goto out; } while ( 0 )
#define JUMP(delta) do { \
        int64_t t_ = (int64_t)pc + 1 + (int64_t)(delta); \
        if ( t_ < 0 || t_ >= (int64_t)n ) \
            FAIL(HU_RUN_BAD_JUMP); \
        pc = (uint32_t)t_; \
        goto next; \
    } while ( 0 )
#define COND(c) do { if ( c ) JUMP(insn->off); } while ( 0 )

int hu_interp_run(struct hu_run *run, uint64_t r1, uint64_t r2, uint64_t r3)
{
    uint64_t reg[HU_NREGS];
    struct frame frames[HU_MAX_CALL_DEPTH];
    uint32_t depth = 0; /* frames[0..depth) hold the callers */
    const struct hu_insn *insns = run->insns;
    const uint32_t n = run->ninsns;
    const uint64_t budget = run->budget;
    uint64_t executed = 0;
    uint32_t pc = 0;
    int err = HU_RUN_OK;
    unsigned int i;

    run->r0 = 0;
    run->executed = 0;
    run->err_pc = 0;
    run->err = HU_RUN_OK;
    run->stop = 0;

    if ( insns == NULL || n == 0 || run->stack == NULL ||
         run->stack_size < STACK_NEEDED ||
         (run->nhelpers != 0 && run->helpers == NULL) ||
         (run->nregions != 0 && run->regions == NULL) )
    {
        run->err = HU_RUN_BAD_CONFIG;
        return run->err;
    }

    for ( i = 0; i < HU_NREGS; i++ )
        reg[i] = 0;
    reg[1] = r1;
    reg[2] = r2;
    reg[3] = r3;
    reg[HU_REG_FP] = (uintptr_t)run->stack + run->stack_size;

    for ( ;; )
    {
        const struct hu_insn *insn;
        unsigned int dst, src;
        uint64_t addr;
        unsigned int size;

    next:
        if ( pc >= n )
            FAIL(HU_RUN_FELL_OFF);
        if ( executed == budget )
            FAIL(HU_RUN_BUDGET);
        executed++;

        insn = &insns[pc];
        dst = insn->dst;
        src = insn->src;
        /* The one table check: it also rejects every unknown opcode. */
        if ( dst >= hu_opcodes[insn->code].dst_end || src > HU_REG_FP )
            FAIL(HU_RUN_BAD_INSN);

        switch ( insn->code )
        {
        /* ALU64 */
        case A64K(ADD): DST += IMM; break;
        case A64X(ADD): DST += SRC; break;
        case A64K(SUB): DST -= IMM; break;
        case A64X(SUB): DST -= SRC; break;
        case A64K(MUL): DST *= IMM; break;
        case A64X(MUL): DST *= SRC; break;
        case A64K(OR): DST |= IMM; break;
        case A64X(OR): DST |= SRC; break;
        case A64K(AND): DST &= IMM; break;
        case A64X(AND): DST &= SRC; break;
        case A64K(XOR): DST ^= IMM; break;
        case A64X(XOR): DST ^= SRC; break;
        case A64K(LSH): DST <<= (IMM & 63); break;
        case A64X(LSH): DST <<= (SRC & 63); break;
        case A64K(RSH): DST >>= (IMM & 63); break;
        case A64X(RSH): DST >>= (SRC & 63); break;
        case A64K(ARSH): DST = (uint64_t)((int64_t)DST >> (IMM & 63)); break;
        case A64X(ARSH): DST = (uint64_t)((int64_t)DST >> (SRC & 63)); break;
        case A64K(NEG): DST = 0 - DST; break;
        case A64K(DIV):
        case A64X(DIV):
        {
            uint64_t v = (insn->code & HU_SRC_X) ? SRC : IMM;

            if ( insn->off == 0 )
                DST = udiv64(DST, v);
            else if ( insn->off == 1 )
                DST = sdiv64(DST, v);
            else
                FAIL(HU_RUN_BAD_INSN);
            break;
        }
        case A64K(MOD):
        case A64X(MOD):
        {
            uint64_t v = (insn->code & HU_SRC_X) ? SRC : IMM;

            if ( insn->off == 0 )
                DST = umod64(DST, v);
            else if ( insn->off == 1 )
                DST = smod64(DST, v);
            else
                FAIL(HU_RUN_BAD_INSN);
            break;
        }
        case A64K(MOV): DST = IMM; break;
        case A64X(MOV):
            switch ( insn->off )
            {
            case 0: DST = SRC; break;
            case 8: DST = (uint64_t)(int64_t)(int8_t)SRC; break;
            case 16: DST = (uint64_t)(int64_t)(int16_t)SRC; break;
            case 32: DST = (uint64_t)(int64_t)(int32_t)SRC; break;
            default: FAIL(HU_RUN_BAD_INSN);
            }
            break;
        case A64K(END): /* bswap */
            switch ( insn->imm )
            {
            case 16: DST = __builtin_bswap16((uint16_t)DST); break;
            case 32: DST = __builtin_bswap32((uint32_t)DST); break;
            case 64: DST = __builtin_bswap64(DST); break;
            default: FAIL(HU_RUN_BAD_INSN);
            }
            break;

        /* ALU: 32-bit operands, result zero-extended. */
        case A32K(ADD): DST = U32(DST + IMM32); break;
        case A32X(ADD): DST = U32(DST + SRC); break;
        case A32K(SUB): DST = U32(DST - IMM32); break;
        case A32X(SUB): DST = U32(DST - SRC); break;
        case A32K(MUL): DST = U32((uint32_t)DST * IMM32); break;
        case A32X(MUL): DST = U32((uint32_t)DST * (uint32_t)SRC); break;
        case A32K(OR): DST = U32(DST | IMM32); break;
        case A32X(OR): DST = U32(DST | SRC); break;
        case A32K(AND): DST = U32(DST & IMM32); break;
        case A32X(AND): DST = U32(DST & SRC); break;
        case A32K(XOR): DST = U32(DST ^ IMM32); break;
        case A32X(XOR): DST = U32(DST ^ SRC); break;
        case A32K(LSH): DST = U32((uint32_t)DST << (IMM32 & 31)); break;
        case A32X(LSH): DST = U32((uint32_t)DST << (SRC & 31)); break;
        case A32K(RSH): DST = U32((uint32_t)DST >> (IMM32 & 31)); break;
        case A32X(RSH): DST = U32((uint32_t)DST >> (SRC & 31)); break;
        case A32K(ARSH):
            DST = U32((int32_t)DST >> (IMM32 & 31));
            break;
        case A32X(ARSH):
            DST = U32((int32_t)DST >> (SRC & 31));
            break;
        case A32K(NEG): DST = U32(0 - (uint32_t)DST); break;
        case A32K(DIV):
        case A32X(DIV):
        {
            uint32_t v = (insn->code & HU_SRC_X) ? (uint32_t)SRC : IMM32;

            if ( insn->off == 0 )
                DST = udiv32((uint32_t)DST, v);
            else if ( insn->off == 1 )
                DST = sdiv32((uint32_t)DST, v);
            else
                FAIL(HU_RUN_BAD_INSN);
            break;
        }
        case A32K(MOD):
        case A32X(MOD):
        {
            uint32_t v = (insn->code & HU_SRC_X) ? (uint32_t)SRC : IMM32;

            if ( insn->off == 0 )
                DST = umod32((uint32_t)DST, v);
            else if ( insn->off == 1 )
                DST = smod32((uint32_t)DST, v);
            else
                FAIL(HU_RUN_BAD_INSN);
            break;
        }
        case A32K(MOV): DST = IMM32; break;
        case A32X(MOV):
            switch ( insn->off )
            {
            case 0: DST = U32(SRC); break;
            case 8: DST = U32((int32_t)(int8_t)SRC); break;
            case 16: DST = U32((int32_t)(int16_t)SRC); break;
            default: FAIL(HU_RUN_BAD_INSN);
            }
            break;
        case A32K(END): /* to little endian */
            switch ( insn->imm )
            {
            case 16: DST = TO_LE16((uint16_t)DST); break;
            case 32: DST = TO_LE32((uint32_t)DST); break;
            case 64: DST = TO_LE64(DST); break;
            default: FAIL(HU_RUN_BAD_INSN);
            }
            break;
        case A32X(END): /* to big endian */
            switch ( insn->imm )
            {
            case 16: DST = TO_BE16((uint16_t)DST); break;
            case 32: DST = TO_BE32((uint32_t)DST); break;
            case 64: DST = TO_BE64(DST); break;
            default: FAIL(HU_RUN_BAD_INSN);
            }
            break;

        /* JMP: 64-bit compares, imm sign-extended. */
        case J64K(JA): JUMP(insn->off);
        case J64K(JEQ): COND(DST == IMM); break;
        case J64X(JEQ): COND(DST == SRC); break;
        case J64K(JNE): COND(DST != IMM); break;
        case J64X(JNE): COND(DST != SRC); break;
        case J64K(JGT): COND(DST > IMM); break;
        case J64X(JGT): COND(DST > SRC); break;
        case J64K(JGE): COND(DST >= IMM); break;
        case J64X(JGE): COND(DST >= SRC); break;
        case J64K(JLT): COND(DST < IMM); break;
        case J64X(JLT): COND(DST < SRC); break;
        case J64K(JLE): COND(DST <= IMM); break;
        case J64X(JLE): COND(DST <= SRC); break;
        case J64K(JSET): COND(DST & IMM); break;
        case J64X(JSET): COND(DST & SRC); break;
        case J64K(JSGT): COND((int64_t)DST > (int64_t)IMM); break;
        case J64X(JSGT): COND((int64_t)DST > (int64_t)SRC); break;
        case J64K(JSGE): COND((int64_t)DST >= (int64_t)IMM); break;
        case J64X(JSGE): COND((int64_t)DST >= (int64_t)SRC); break;
        case J64K(JSLT): COND((int64_t)DST < (int64_t)IMM); break;
        case J64X(JSLT): COND((int64_t)DST < (int64_t)SRC); break;
        case J64K(JSLE): COND((int64_t)DST <= (int64_t)IMM); break;
        case J64X(JSLE): COND((int64_t)DST <= (int64_t)SRC); break;

        /* JMP32: compares of the low 32 bits. */
        case J32K(JA): JUMP(insn->imm);
        case J32K(JEQ): COND((uint32_t)DST == IMM32); break;
        case J32X(JEQ): COND((uint32_t)DST == (uint32_t)SRC); break;
        case J32K(JNE): COND((uint32_t)DST != IMM32); break;
        case J32X(JNE): COND((uint32_t)DST != (uint32_t)SRC); break;
        case J32K(JGT): COND((uint32_t)DST > IMM32); break;
        case J32X(JGT): COND((uint32_t)DST > (uint32_t)SRC); break;
        case J32K(JGE): COND((uint32_t)DST >= IMM32); break;
        case J32X(JGE): COND((uint32_t)DST >= (uint32_t)SRC); break;
        case J32K(JLT): COND((uint32_t)DST < IMM32); break;
        case J32X(JLT): COND((uint32_t)DST < (uint32_t)SRC); break;
        case J32K(JLE): COND((uint32_t)DST <= IMM32); break;
        case J32X(JLE): COND((uint32_t)DST <= (uint32_t)SRC); break;
        case J32K(JSET): COND((uint32_t)DST & IMM32); break;
        case J32X(JSET): COND((uint32_t)DST & (uint32_t)SRC); break;
        case J32K(JSGT): COND((int32_t)DST > insn->imm); break;
        case J32X(JSGT): COND((int32_t)DST > (int32_t)SRC); break;
        case J32K(JSGE): COND((int32_t)DST >= insn->imm); break;
        case J32X(JSGE): COND((int32_t)DST >= (int32_t)SRC); break;
        case J32K(JSLT): COND((int32_t)DST < insn->imm); break;
        case J32X(JSLT): COND((int32_t)DST < (int32_t)SRC); break;
        case J32K(JSLE): COND((int32_t)DST <= insn->imm); break;
        case J32X(JSLE): COND((int32_t)DST <= (int32_t)SRC); break;

        /* Calls and exit. */
        case J64K(CALL):
            if ( src == HU_CALL_LOCAL )
            {
                int64_t t = (int64_t)pc + 1 + (int64_t)insn->imm;
                struct frame *f;

                if ( t < 0 || t >= (int64_t)n )
                    FAIL(HU_RUN_BAD_JUMP);
                if ( depth + 1 >= HU_MAX_CALL_DEPTH )
                    FAIL(HU_RUN_CALL_DEPTH);
                f = &frames[depth++];
                f->saved[0] = reg[6];
                f->saved[1] = reg[7];
                f->saved[2] = reg[8];
                f->saved[3] = reg[9];
                f->fp = reg[HU_REG_FP];
                f->ret_pc = pc + 1;
                reg[HU_REG_FP] -= HU_STACK_FRAME;
                pc = (uint32_t)t;
                continue;
            }
            if ( src != HU_CALL_HELPER )
                FAIL(HU_RUN_BAD_INSN);
            addr = (uint32_t)insn->imm; /* helper id */
            goto call_helper;
        case J64X(CALL): /* callx: helper id in a register */
            if ( insn->imm == 0 )
                addr = reg[dst];
            else if ( dst == 0 && insn->imm >= 1 && insn->imm <= HU_REG_FP )
                addr = reg[insn->imm]; /* legacy: register in imm */
            else
                FAIL(HU_RUN_BAD_INSN);
        call_helper:
        {
            hu_helper_fn fn;

            if ( addr >= run->nhelpers ||
                 (fn = run->helpers[addr]) == NULL )
                FAIL(HU_RUN_UNKNOWN_HELPER);
            run->stop = 0;
            reg[0] = fn(run, reg[1], reg[2], reg[3], reg[4], reg[5]);
            if ( run->stop )
                goto out;
            break;
        }
        case J64K(EXIT):
            if ( depth == 0 )
                goto out;
            {
                const struct frame *f = &frames[--depth];

                reg[6] = f->saved[0];
                reg[7] = f->saved[1];
                reg[8] = f->saved[2];
                reg[9] = f->saved[3];
                reg[HU_REG_FP] = f->fp;
                pc = f->ret_pc;
            }
            continue;

        /* lddw: two slots; the host must have resolved map references. */
        case HU_CLS_LD | HU_MODE_IMM | HU_SIZE_DW:
            if ( src != HU_PSEUDO_NONE || pc + 1 >= n ||
                 insns[pc + 1].code != 0 )
                FAIL(HU_RUN_BAD_INSN);
            DST = (uint64_t)(uint32_t)insn->imm |
                  ((uint64_t)(uint32_t)insns[pc + 1].imm << 32);
            pc += 2;
            continue;

        /* Loads. */
        case LDXM(B):
        case LDXM(H):
        case LDXM(W):
        case LDXM(DW):
        case LDXS(B):
        case LDXS(H):
        case LDXS(W):
            size = hu_opcodes[insn->code].size;
            addr = SRC + (uint64_t)(int64_t)insn->off;
            if ( (err = access_check(run, src, reg[HU_REG_FP], addr, size,
                                     0)) != HU_RUN_OK )
                goto out;
            DST = load(addr, size);
            if ( HU_MODE(insn->code) == HU_MODE_MEMSX )
            {
                if ( size == 1 )
                    DST = (uint64_t)(int64_t)(int8_t)DST;
                else if ( size == 2 )
                    DST = (uint64_t)(int64_t)(int16_t)DST;
                else
                    DST = (uint64_t)(int64_t)(int32_t)DST;
            }
            break;

        /* Stores of an immediate or a register. */
        case STM(B):
        case STM(H):
        case STM(W):
        case STM(DW):
        case STXM(B):
        case STXM(H):
        case STXM(W):
        case STXM(DW):
            size = hu_opcodes[insn->code].size;
            addr = DST + (uint64_t)(int64_t)insn->off;
            if ( (err = access_check(run, dst, reg[HU_REG_FP], addr, size,
                                     1)) != HU_RUN_OK )
                goto out;
            store(addr, size,
                  HU_CLASS(insn->code) == HU_CLS_ST ? IMM : SRC);
            break;

        /* Atomics: naturally aligned, old value to src (or r0). */
        case HU_CLS_STX | HU_MODE_ATOMIC | HU_SIZE_W:
        case HU_CLS_STX | HU_MODE_ATOMIC | HU_SIZE_DW:
        {
            uint64_t old;

            if ( !hu_atomic_op_valid(insn->imm) ||
                 ((insn->imm & HU_ATOMIC_FETCH) &&
                  insn->imm != HU_ATOMIC_CMPXCHG && src == HU_REG_FP) )
                FAIL(HU_RUN_BAD_INSN);
            size = hu_opcodes[insn->code].size;
            addr = DST + (uint64_t)(int64_t)insn->off;
            if ( (err = access_check(run, dst, reg[HU_REG_FP], addr, size,
                                     1)) != HU_RUN_OK )
                goto out;
            if ( addr & (size - 1) )
                FAIL(HU_RUN_MISALIGNED);
            old = atomic_rmw(addr, size, insn->imm, SRC, reg[0]);
            if ( insn->imm == HU_ATOMIC_CMPXCHG )
                reg[0] = old;
            else if ( insn->imm & HU_ATOMIC_FETCH )
                SRC = old;
            break;
        }

        default:
            FAIL(HU_RUN_BAD_INSN);
        }
        pc++;
    }

 out:
    run->executed = executed;
    run->err = err;
    if ( err == HU_RUN_OK )
        run->r0 = reg[0];
    else
        run->err_pc = pc;
    return err;
}

const char *hu_run_strerror(int err)
{
    switch ( err )
    {
    case HU_RUN_OK:
        return "ok";
    case HU_RUN_BUDGET:
        return "instruction budget exhausted";
    case HU_RUN_BAD_INSN:
        return "invalid instruction";
    case HU_RUN_OOB_STACK:
        return "stack access outside the current frame";
    case HU_RUN_OOB_MEM:
        return "memory access outside the stack and every region";
    case HU_RUN_READONLY:
        return "store to a read-only region";
    case HU_RUN_UNKNOWN_HELPER:
        return "unknown helper";
    case HU_RUN_CALL_DEPTH:
        return "call depth exceeded";
    case HU_RUN_BAD_JUMP:
        return "jump or call target outside the program";
    case HU_RUN_FELL_OFF:
        return "ran past the last instruction";
    case HU_RUN_BAD_CONFIG:
        return "bad run configuration";
    case HU_RUN_MISALIGNED:
        return "misaligned atomic access";
    default:
        return "unknown error";
    }
}
