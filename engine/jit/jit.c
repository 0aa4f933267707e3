/* SPDX-License-Identifier: MIT */
/*
 * The eBPF to x86-64 translator. Freestanding C, like the interpreter it
 * mirrors: every instruction the interpreter runs is translated to code
 * with the same effect, and every error it raises is raised at the same pc
 * (see hyperupcall/jit.h for the budget, the one difference).
 *
 * Registers: r0-r5 in rax, rsi, rdx, rcx, r8, r9 (so a helper call only
 * loads rdi with the run), r6-r9 in the callee-saved rbx, r13-r15, r10 in
 * rbp. r12 holds the frame (jit_frame.h) for the whole run, r11 the budget
 * left; r10 and rdi are scratch (r10 holds checked addresses and blinded
 * constants).
 *
 * Image: prologue, the body (one piece of code per slot, in program
 * order), the fell-off stub, shared tails (set an error and return), the
 * region checks, then one error stub per run-time check that can fail.
 * An error returns from the current function; a local call site that sees
 * an error unwinds its own frame and returns too, so the native stack is
 * left by `ret` only (shadow stacks stay balanced). Jumps between slots
 * take the short form when the last pass says they fit; the layout is
 * redone until it no longer changes, and the writing pass reproduces it.
 */
#include "hyperupcall/jit.h"
#include "hyperupcall/opcodes.h"
#include "jit_frame.h"
#include "jit_x86.h"

#ifndef NULL
#define NULL ((void *)0)
#endif

/* eBPF register -> x86 register. */
static const uint8_t R[HU_NREGS] = {
    RAX, RSI, RDX, RCX, R8, R9, RBX, R13, R14, R15, RBP
};

#define AX R10     /* checked addresses, blinded constants */
#define TMP RDI    /* scratch; the run pointer at helper calls */
#define LEFT R11   /* budget units left */
#define FRAME R12  /* struct hu_jit_frame */

#define MAX_PASSES 32

/* j->stk: bit i for stack pointers, bit STK_CTX + i for context ones. */
#define STK_CTX 16

/* Tails: tail[e] sets err = e (0: already set) and returns. */
#define TAIL_STOPPED 12

/* An error stub: mov dword [r12 + err_pc], pc; jmp rel32 tail. */
#define STUB_SIZE ((HU_JIT_OFF(err_pc) < 128 ? 9u : 12u) + 5u)
/* A slow region check: call rel32 scan; jnc rel32 back; an error stub. */
#define SLOW_SIZE (5u + 6u + STUB_SIZE)
/* The same for a load and the store it covers (slow_pair_stub). */
#define SLOW_PAIR_SIZE (5u + 2u + 5u + 6u + 2u * STUB_SIZE)

/*
 * j->lead[pc]: LEAD when a jump or call may enter there; a loop whose
 * checks have a window (find_windows) marks its head with WIN_HEAD, the
 * window's slot and its base register, and each access through that base
 * with WIN_ACC and the access's offset from the base at the head.
 */
#define LEAD 1u
#define WIN_HEAD 2u
#define WIN_ACC 4u
#define WIN_SLOT(v) (((v) >> 8) & 15u)
#define WIN_BASE(v) (((v) >> 12) & 15u)
#define WIN_D(v) ((int32_t)(((v) >> 16) & 0xffu))
/*
 * WIN_EXIT: the slot after a windowed loop's conditional back edge, which
 * charges the budget with no branch of its own (budget_shift); the way
 * out of the loop checks it. WIN_INLINE: a window head whose base is a
 * known frame address on the way in, so the way in sets the limit itself
 * (window_open) instead of sending the first round out of line.
 */
#define WIN_EXIT 16u
#define WIN_INLINE 32u
/* A window head whose loop's budget is charged at the window only
 * (window_sync). */
#define WIN_SYNC 64u
/* A window head whose loop's rounds are known on the way in, all inside
 * the current frame (count_units): no check, the budget paid up front. */
#define WIN_COUNT 128u
/* A counted loop short enough to run as its rounds one after another,
 * with no back edge (unroll). */
#define WIN_UNROLL (1u << 30)
/* The target of a back edge, and the padding before it (align_loop). */
#define LOOP_HEAD 8u
#define PAD_SHIFT 24
#define PAD(v) (((v) >> PAD_SHIFT) & 63u)
/* Bound on a window's stride (a one-byte immediate) and on the end of
 * its accesses from the head's base (the widest region check's size). */
#define WIN_MAX 127
#define WIN_SPAN 8

/* Bytes pushed at a local call besides the return address. */
#define CALL_SAVE 40

/* ------------------------------------------------------------------ */
/* Positions from the last pass (the writing pass reproduces them). */

static uint32_t pos_pc(const struct hu_jit *j, uint32_t pc)
{
    return j->pass ? j->prev[pc] : 0;
}

static uint32_t gap_before(struct hu_jit *j, uint32_t pc);
static int steps(const struct hu_insn *insn, unsigned int b, int64_t *c);
static int writes(const struct hu_insn *insn, unsigned int r);

/*
 * Where the code of slot pc ends, by the last pass: where pc + 1's starts,
 * less what runs between the two on the way into a loop (gap_before).
 */
static uint32_t slot_end(struct hu_jit *j, uint32_t pc)
{
    return pos_pc(j, pc + 1) - (j->pass ? gap_before(j, pc + 1) : 0);
}

/*
 * Whether a jump that ends insn `pc` reaches insn `t` with rel8, by the last
 * pass's layout: distances only shrink from pass to pass, so a short jump
 * stays short and the layout settles.
 */
static int short_to(struct hu_jit *j, uint32_t pc, uint32_t t)
{
    int64_t d;

    if ( !j->pass )
        return 0;
    d = (int64_t)j->prev[t] - (int64_t)slot_end(j, pc);
    return d >= -128 && d <= 127;
}

/* ------------------------------------------------------------------ */
/* Blinding values: splitmix64 keyed by the seed, one per constant. */

static uint32_t rnd32(struct hu_jit *j)
{
    uint64_t z = (j->rng += 0x9e3779b97f4a7c15ull);

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return (uint32_t)(z ^ (z >> 31));
}

/*
 * Whether a constant in [-128, 127] may appear in the code as it is. Its
 * encoding is one chosen byte and, in the wider forms, copies of its sign:
 * one attacker-chosen byte followed by bytes the JIT chose. The program's
 * jump and memory displacements already give an attacker exactly that
 * (a rel8 or disp8 of its choice before an instruction of its choice),
 * and no JIT blinds those, so blinding these constants would take no
 * gadget away; JIT spraying needs runs of chosen bytes (an instruction
 * and a byte that swallows the JIT's next opcode), which every wider
 * constant would give and blinding keeps out. Not blinding them keeps
 * the induction variables of loops (add 1, add 8, compare with 32) one
 * instruction, instead of two dependent ones on the loop's chain.
 */
static int small_imm(int64_t v)
{
    return v >= -128 && v <= 127;
}

/*
 * Whether imm must not appear in the code: with HU_JIT_BLIND, every
 * constant outside [-128, 127] (small_imm).
 */
static int blinded(const struct hu_jit *j, int32_t imm)
{
    return (j->o.flags & HU_JIT_BLIND) != 0 && !small_imm(imm);
}

/* reg = imm (sign-extended to 64 bits when w64), blinded: imm ^ r, then
 * xor with r. */
static void load_imm(struct hu_jit *j, int w64, unsigned int reg, int32_t imm)
{
    if ( blinded(j, imm) )
    {
        int32_t r = (int32_t)rnd32(j);

        x86_mov_ri_fixed(j, w64, reg, imm ^ r);
        x86_rr(j, w64 ? X_W : 0, 0x81, ALU_XOR, reg);
        x86_u32(j, (uint32_t)r);
    }
    else
        x86_mov_ri(j, w64, reg, imm);
}

/* ------------------------------------------------------------------ */
/* Errors. */

static void set_err_pc(struct hu_jit *j, uint32_t pc)
{
    x86_store32_i(j, FRAME, HU_JIT_OFF(err_pc), pc);
}

/* The instruction at pc fails whenever it is reached. */
static void fail_here(struct hu_jit *j, uint32_t pc, unsigned int err)
{
    set_err_pc(j, pc);
    x86_jmp(j, j->lp.tail[err], 0);
}

/*
 * Where the next run-time check of this instruction jumps when it fails.
 * While measuring and writing the body this only counts; the stub pass
 * (j->mute) runs the same translation again and emits each stub here.
 */
static uint32_t stub(struct hu_jit *j, uint32_t pc, unsigned int err)
{
    uint32_t at = j->lp.cold + j->cold_next;

    j->cold_next += STUB_SIZE;
    if ( j->mute )
    {
        j->mute = 0;
        set_err_pc(j, pc);
        x86_jmp(j, j->lc.tail[err], 0);
        j->mute = 1;
    }
    return at;
}

/*
 * The out-of-line half of a region check of size class k at pc: the full
 * scan, then back to the access, or the error the scan set.
 */
static uint32_t slow_stub(struct hu_jit *j, uint32_t pc, unsigned int k)
{
    uint32_t at = j->lp.cold + j->cold_next;

    j->cold_next += SLOW_SIZE;
    if ( j->mute )
    {
        j->mute = 0;
        x86_call(j, j->lc.chk[k]);
        x86_jcc(j, CC_AE, j->resume[pc], 0);
        set_err_pc(j, pc);
        x86_jmp(j, j->lc.tail[0], 0);
        j->mute = 1;
    }
    return at;
}

/*
 * The out-of-line half of the check of a load at pc that also covers the
 * store at pc w (rmw_pair): the load's read scan (class kr), then the
 * store's write scan (class kw) of the same address. The first that fails
 * raises its error at its own pc, as the interpreter would: nothing
 * between the two can fail or touch memory, and an error reports no
 * register.
 */
static uint32_t slow_pair_stub(struct hu_jit *j, uint32_t pc, uint32_t w,
                               unsigned int kr, unsigned int kw)
{
    uint32_t at = j->lp.cold + j->cold_next;

    j->cold_next += SLOW_PAIR_SIZE;
    if ( j->mute )
    {
        uint32_t load_fails;

        j->mute = 0;
        x86_call(j, j->lc.chk[kr]);
        load_fails = x86_jcc8_fwd(j, CC_B);
        x86_call(j, j->lc.chk[kw]);
        x86_jcc(j, CC_AE, j->resume[pc], 0);
        set_err_pc(j, w);
        x86_jmp(j, j->lc.tail[0], 0);
        x86_here8(j, load_fails);
        set_err_pc(j, pc);
        x86_jmp(j, j->lc.tail[0], 0);
        j->mute = 1;
    }
    return at;
}

/* Charges `units` of budget; out of budget ends the run at pc. */
static void charge(struct hu_jit *j, uint32_t pc, uint32_t units)
{
    x86_alu_ri(j, 1, ALU_SUB, LEFT, (int32_t)units);
    x86_jcc(j, CC_B, stub(j, pc, HU_RUN_BUDGET), 0);
}

/*
 * The charge of the back edge at pc to t. A windowed loop's (t is its
 * head) is a `sub` with no branch: the window's limit also stops the loop
 * before a round whose charge would fail (budget_shift); or nothing at
 * all, where the window charges the rounds it let run (window_sync).
 */
static void charge_back(struct hu_jit *j, uint32_t pc, uint32_t t)
{
    if ( (j->lead[t] & WIN_HEAD) && (j->lead[t] & (WIN_SYNC | WIN_COUNT)) )
        return;
    if ( j->lead[t] & WIN_HEAD )
        x86_alu_ri(j, 1, ALU_SUB, LEFT, (int32_t)(pc - t + 1));
    else
        charge(j, pc, pc - t + 1);
}

/* ------------------------------------------------------------------ */
/* ALU. */

static const uint8_t alu_ops[16] = {
    [HU_ALU_ADD >> 4] = ALU_ADD, [HU_ALU_SUB >> 4] = ALU_SUB,
    [HU_ALU_OR >> 4] = ALU_OR, [HU_ALU_AND >> 4] = ALU_AND,
    [HU_ALU_XOR >> 4] = ALU_XOR,
};

/*
 * dst op= imm. Blinded: xor, add and sub take two halves of the constant
 * in two instructions (a ^ b, or a + b: for 64 bits a and b keep imm's
 * sign so that both sign-extend, which leaves 30 random bits); and and or
 * go through r10.
 */
static void alu_imm(struct hu_jit *j, int w64, enum x86_alu op,
                    unsigned int d, int32_t imm)
{
    uint32_t r;
    int32_t b;

    if ( !blinded(j, imm) )
    {
        x86_alu_ri(j, w64, op, d, imm);
        return;
    }
    r = rnd32(j);
    switch ( op )
    {
    case ALU_XOR:
        x86_alu_ri(j, w64, op, d, imm ^ (int32_t)r);
        x86_alu_ri(j, w64, op, d, (int32_t)r);
        return;
    case ALU_ADD:
    case ALU_SUB:
        if ( !w64 )
            b = (int32_t)r;
        else if ( imm >= 0 )
            b = (int32_t)(r & 0x3fffffff);
        else
            b = -(int32_t)(r & 0x3fffffff);
        x86_alu_ri(j, w64, op, d, (int32_t)((uint32_t)imm - (uint32_t)b));
        x86_alu_ri(j, w64, op, d, b);
        return;
    default:
        x86_mov_ri_fixed(j, w64, AX, imm ^ (int32_t)r);
        x86_rr(j, w64 ? X_W : 0, 0x81, ALU_XOR, AX);
        x86_u32(j, r);
        x86_alu_rr(j, w64, op, d, AX);
        return;
    }
}

static void mul(struct hu_jit *j, int w64, const struct hu_insn *insn)
{
    unsigned int d = R[insn->dst];
    unsigned int flags = w64 ? X_W : 0;

    if ( insn->code & HU_SRC_X )
        x86_rr(j, flags, 0x0faf, d, R[insn->src]);
    else if ( blinded(j, insn->imm) )
    {
        load_imm(j, w64, AX, insn->imm);
        x86_rr(j, flags, 0x0faf, d, AX);
    }
    else if ( small_imm(insn->imm) )
    {
        x86_rr(j, flags, 0x6b, d, d); /* imul d, d, imm8 */
        x86_byte(j, (uint8_t)insn->imm);
    }
    else
    {
        x86_rr(j, flags, 0x69, d, d); /* imul d, d, imm32 */
        x86_u32(j, (uint32_t)insn->imm);
    }
}

static void shift(struct hu_jit *j, int w64, const struct hu_insn *insn)
{
    static const uint8_t ops[16] = {
        [HU_ALU_LSH >> 4] = SH_SHL, [HU_ALU_RSH >> 4] = SH_SHR,
        [HU_ALU_ARSH >> 4] = SH_SAR,
    };
    enum x86_shift op = (enum x86_shift)ops[HU_OP(insn->code) >> 4];
    unsigned int d = R[insn->dst], s = R[insn->src];

    if ( !(insn->code & HU_SRC_X) )
    {
        uint8_t count = (uint8_t)(insn->imm & (w64 ? 63 : 31));

        /* The count is at most 6 bits: not worth blinding. */
        if ( count )
            x86_shift_ri(j, w64, op, d, count);
        else if ( !w64 )
            x86_mov_rr(j, 0, d, d); /* the 32-bit result is zero-extended */
        return;
    }
    /* The count must be in cl, and x86 masks it as eBPF does. */
    if ( s == RCX )
        x86_shift_cl(j, w64, op, d);
    else if ( d == RCX )
    {
        x86_mov_rr(j, 1, AX, RCX);
        x86_mov_rr(j, 1, RCX, s);
        x86_shift_cl(j, w64, op, AX);
        x86_mov_rr(j, 1, RCX, AX);
    }
    else
    {
        x86_mov_rr(j, 1, AX, RCX);
        x86_mov_rr(j, 1, RCX, s);
        x86_shift_cl(j, w64, op, d);
        x86_mov_rr(j, 1, RCX, AX);
    }
    if ( !w64 )
        x86_mov_rr(j, 0, d, d); /* a shift by 0 leaves the upper half */
}

/*
 * div / mod, unsigned or signed (off 1), as RFC 9669: x / 0 = 0,
 * x % 0 = x, INT_MIN / -1 = INT_MIN, INT_MIN % -1 = 0, with no #DE.
 */
static void divmod(struct hu_jit *j, int w64, const struct hu_insn *insn)
{
    unsigned int d = R[insn->dst];
    int is_mod = HU_OP(insn->code) == HU_ALU_MOD;
    int is_signed = insn->off == 1;
    unsigned int flags = w64 ? X_W : 0;
    uint32_t to_zero, to_m1 = 0, done1, done2;

    if ( insn->code & HU_SRC_X )
        x86_mov_rr(j, w64, AX, R[insn->src]);
    else
        load_imm(j, w64, AX, insn->imm);
    x86_rr(j, flags, 0x85, AX, AX); /* test */
    to_zero = x86_jcc8_fwd(j, CC_E);
    if ( is_signed )
    {
        x86_alu_ri(j, w64, ALU_CMP, AX, -1);
        to_m1 = x86_jcc8_fwd(j, CC_E);
    }
    if ( d != RAX )
        x86_push(j, RAX);
    if ( d != RDX )
        x86_mov_rr(j, 1, TMP, RDX);
    if ( d != RAX )
        x86_mov_rr(j, 1, RAX, d);
    if ( is_signed )
    {
        if ( w64 )
            x86_byte(j, 0x48);
        x86_byte(j, 0x99); /* cqo / cdq */
    }
    else
        x86_alu_rr(j, 0, ALU_XOR, RDX, RDX);
    x86_rr(j, flags, 0xf7, is_signed ? 7 : 6, AX); /* idiv / div */
    if ( is_mod && d != RDX )
        x86_mov_rr(j, w64, d, RDX);
    else if ( !is_mod && d != RAX )
        x86_mov_rr(j, w64, d, RAX);
    if ( d != RDX )
        x86_mov_rr(j, 1, RDX, TMP);
    if ( d != RAX )
        x86_pop(j, RAX);
    done1 = x86_jmp8_fwd(j);

    x86_here8(j, to_zero);
    if ( !is_mod )
        x86_alu_rr(j, 0, ALU_XOR, d, d);
    else if ( !w64 )
        x86_mov_rr(j, 0, d, d);
    if ( !is_signed )
    {
        x86_here8(j, done1);
        return;
    }
    done2 = x86_jmp8_fwd(j);

    x86_here8(j, to_m1);
    if ( is_mod )
        x86_alu_rr(j, 0, ALU_XOR, d, d);
    else
        x86_rr(j, flags, 0xf7, 3, d); /* neg */
    x86_here8(j, done1);
    x86_here8(j, done2);
}

/* Returns 0, or the error the instruction raises. */
static unsigned int alu(struct hu_jit *j, const struct hu_insn *insn)
{
    int w64 = HU_CLASS(insn->code) == HU_CLS_ALU64;
    int is_x = (insn->code & HU_SRC_X) != 0;
    unsigned int d = R[insn->dst], s = R[insn->src];
    unsigned int op = HU_OP(insn->code);

    switch ( op )
    {
    case HU_ALU_ADD:
    case HU_ALU_SUB:
    case HU_ALU_OR:
    case HU_ALU_AND:
    case HU_ALU_XOR:
        if ( is_x )
            x86_alu_rr(j, w64, (enum x86_alu)alu_ops[op >> 4], d, s);
        else
            alu_imm(j, w64, (enum x86_alu)alu_ops[op >> 4], d, insn->imm);
        return 0;
    case HU_ALU_MUL:
        mul(j, w64, insn);
        return 0;
    case HU_ALU_LSH:
    case HU_ALU_RSH:
    case HU_ALU_ARSH:
        shift(j, w64, insn);
        return 0;
    case HU_ALU_NEG:
        x86_rr(j, w64 ? X_W : 0, 0xf7, 3, d);
        return 0;
    case HU_ALU_DIV:
    case HU_ALU_MOD:
        if ( insn->off != 0 && insn->off != 1 )
            return HU_RUN_BAD_INSN;
        divmod(j, w64, insn);
        return 0;
    case HU_ALU_MOV:
        if ( !is_x )
        {
            load_imm(j, w64, d, insn->imm);
            return 0;
        }
        switch ( insn->off )
        {
        case 0:
            x86_mov_rr(j, w64, d, s);
            return 0;
        case 8: /* movsx d, s8: sil, dil, bpl need a REX */
            x86_rr(j, (w64 ? X_W : 0) | X_REX, 0x0fbe, d, s);
            return 0;
        case 16:
            x86_rr(j, w64 ? X_W : 0, 0x0fbf, d, s);
            return 0;
        case 32:
            if ( !w64 )
                return HU_RUN_BAD_INSN;
            x86_rr(j, X_W, 0x63, d, s); /* movsxd */
            return 0;
        default:
            return HU_RUN_BAD_INSN;
        }
    case HU_ALU_END:
        if ( insn->imm != 16 && insn->imm != 32 && insn->imm != 64 )
            return HU_RUN_BAD_INSN;
        if ( !w64 && !is_x )
        {
            /* to little endian: this is a little-endian machine */
            if ( insn->imm == 16 )
                x86_rr(j, 0, 0x0fb7, d, d); /* movzx d32, d16 */
            else if ( insn->imm == 32 )
                x86_mov_rr(j, 0, d, d);
            return 0;
        }
        /* to big endian, or bswap */
        if ( insn->imm == 16 )
        {
            x86_rr(j, X_66, 0xc1, SH_ROR, d);
            x86_byte(j, 8);
            x86_rr(j, 0, 0x0fb7, d, d);
        }
        else
        {
            if ( d & 8 )
                x86_byte(j, insn->imm == 64 ? 0x49 : 0x41);
            else if ( insn->imm == 64 )
                x86_byte(j, 0x48);
            x86_byte(j, 0x0f);
            x86_byte(j, (uint8_t)(0xc8 + (d & 7)));
        }
        return 0;
    default:
        return HU_RUN_BAD_INSN;
    }
}

/* ------------------------------------------------------------------ */
/* Jumps. */

static const uint8_t jcc_cc[16] = {
    [HU_JMP_JEQ >> 4] = CC_E, [HU_JMP_JNE >> 4] = CC_NE,
    [HU_JMP_JGT >> 4] = CC_A, [HU_JMP_JGE >> 4] = CC_AE,
    [HU_JMP_JLT >> 4] = CC_B, [HU_JMP_JLE >> 4] = CC_BE,
    [HU_JMP_JSET >> 4] = CC_NE, [HU_JMP_JSGT >> 4] = CC_G,
    [HU_JMP_JSGE >> 4] = CC_GE, [HU_JMP_JSLT >> 4] = CC_L,
    [HU_JMP_JSLE >> 4] = CC_LE,
};

static int in_prog(const struct hu_jit *j, int64_t t)
{
    return t >= 0 && t < (int64_t)j->n;
}

static void compare(struct hu_jit *j, const struct hu_insn *insn)
{
    int w64 = HU_CLASS(insn->code) == HU_CLS_JMP;
    unsigned int d = R[insn->dst];
    int is_set = HU_OP(insn->code) == HU_JMP_JSET;
    unsigned int s;

    if ( insn->code & HU_SRC_X )
        s = R[insn->src];
    else if ( insn->imm == 0 && !is_set )
    {
        x86_rr(j, w64 ? X_W : 0, 0x85, d, d); /* same flags as cmp d, 0 */
        return;
    }
    else if ( blinded(j, insn->imm) )
    {
        load_imm(j, w64, AX, insn->imm);
        s = AX;
    }
    else
    {
        if ( is_set )
            x86_test_ri(j, w64, d, insn->imm);
        else
            x86_alu_ri(j, w64, ALU_CMP, d, insn->imm);
        return;
    }
    if ( is_set )
        x86_rr(j, w64 ? X_W : 0, 0x85, s, d);
    else
        x86_alu_rr(j, w64, ALU_CMP, d, s);
}

/* ja / gotol: off (JMP) or imm (JMP32). */
static unsigned int jump(struct hu_jit *j, uint32_t pc, int64_t delta)
{
    int64_t t = (int64_t)pc + 1 + delta;

    if ( !in_prog(j, t) )
        return HU_RUN_BAD_JUMP;
    if ( t <= (int64_t)pc )
        charge_back(j, pc, (uint32_t)t);
    x86_jmp(j, pos_pc(j, (uint32_t)t), short_to(j, pc, (uint32_t)t));
    return 0;
}

static int valid_regs(const struct hu_insn *insn)
{
    return insn->dst < hu_opcodes[insn->code].dst_end &&
           insn->src <= HU_REG_FP;
}

/*
 * Whether the conditional jump at pc + 1 can use the flags the ALU
 * instruction at pc leaves: `jeq/jne d, 0` right after an add, sub, and,
 * or or xor into d (none of which can fail) has ZF already (also when
 * blinded: the last instruction of the pair writes d), so `sub r, 1;
 * jne r, 0` is `sub; jne` with no `test`. A 64-bit jump may follow a
 * 32-bit operation (its result is zero-extended), not the other way
 * round. pc + 1 must not be a jump target (nothing may reach it without
 * passing pc) and its own target must be in the program.
 */
static int flags_fuse(const struct hu_jit *j, uint32_t pc)
{
    const struct hu_insn *a = &j->insns[pc], *b;
    unsigned int op;

    if ( pc + 1 >= j->n || (j->lead[pc + 1] & LEAD) || !valid_regs(a) )
        return 0;
    b = &j->insns[pc + 1];
    op = HU_OP(a->code);
    if ( (HU_CLASS(a->code) != HU_CLS_ALU &&
          HU_CLASS(a->code) != HU_CLS_ALU64) ||
         (op != HU_ALU_ADD && op != HU_ALU_SUB && op != HU_ALU_AND &&
          op != HU_ALU_OR && op != HU_ALU_XOR) )
        return 0;
    if ( (HU_CLASS(b->code) != HU_CLS_JMP &&
          (HU_CLASS(b->code) != HU_CLS_JMP32 ||
           HU_CLASS(a->code) != HU_CLS_ALU)) ||
         (HU_OP(b->code) != HU_JMP_JEQ && HU_OP(b->code) != HU_JMP_JNE) ||
         (b->code & HU_SRC_X) || b->imm != 0 || b->dst != a->dst ||
         !valid_regs(b) )
        return 0;
    return in_prog(j, (int64_t)pc + 2 + b->off);
}

/*
 * A back edge whose compare is fused (flags_fuse) is charged before the
 * ALU instruction that sets its flags: the charge's error names the
 * jump's pc, and what the ALU instruction would have done first is not
 * observable (an error reports no register, and the instruction touches
 * no memory).
 */
static void charge_fused(struct hu_jit *j, uint32_t pc)
{
    const struct hu_insn *b = &j->insns[pc + 1];
    int64_t t = (int64_t)pc + 2 + b->off;

    j->fused = pc + 1;
    if ( t <= (int64_t)pc + 1 )
        charge_back(j, pc + 1, (uint32_t)t);
}

static void cond_jump(struct hu_jit *j, uint32_t pc,
                      const struct hu_insn *insn)
{
    int64_t t = (int64_t)pc + 1 + insn->off;
    enum x86_cc cc = (enum x86_cc)jcc_cc[HU_OP(insn->code) >> 4];

    if ( !in_prog(j, t) )
    {
        compare(j, insn);
        x86_jcc(j, cc, stub(j, pc, HU_RUN_BAD_JUMP), 0);
        return;
    }
    if ( j->fused == pc && pc > 0 )
    {
        /* Flags and charge came with the instruction before. */
        x86_jcc(j, cc, pos_pc(j, (uint32_t)t), short_to(j, pc, (uint32_t)t));
        return;
    }
    /* Charged whether or not it is taken: cheaper than a branch around. */
    if ( t <= (int64_t)pc )
        charge_back(j, pc, (uint32_t)t);
    compare(j, insn);
    x86_jcc(j, cc, pos_pc(j, (uint32_t)t), short_to(j, pc, (uint32_t)t));
}

/* ------------------------------------------------------------------ */
/* Calls. */

/*
 * call or jmp rel32 (opcode e8 or e9) to an address outside the image; one
 * out of reach fails the translation (HU_JIT_E_RANGE).
 */
static void branch_out(struct hu_jit *j, uint8_t opcode, uint64_t target)
{
    int64_t d = (int64_t)target - (int64_t)(j->rx + j->len + 5);

    if ( j->out != NULL && !j->mute && d != (int64_t)(int32_t)d )
        j->err = HU_JIT_E_RANGE;
    x86_byte(j, opcode);
    x86_u32(j, (uint32_t)d);
}

/*
 * Every return of the image: `ret`, or with hu_jit_opts.ret_thunk a jmp to
 * the host's return thunk, as the host's own compiled code returns (Xen's
 * __x86_return_thunk sits where a `ret` is safe from Indirect Target
 * Selection; a `ret` anywhere in the image might not be). It changes no
 * flag: the region checks return their answer in CF.
 */
static void ret(struct hu_jit *j)
{
    if ( j->o.ret_thunk )
        branch_out(j, 0xe9, j->o.ret_thunk);
    else
        x86_byte(j, 0xc3);
}

/* A helper: run in rdi, r1-r5 already in place, r11 saved around it. */
static void call_helper(struct hu_jit *j, hu_helper_fn fn)
{
    x86_push(j, LEFT);
    x86_mov_rr(j, 1, TMP, FRAME);
    branch_out(j, 0xe8, (uint64_t)(uintptr_t)fn);
    x86_pop(j, LEFT);
    /* A helper may end the run, with its return value as r0. */
    x86_rm(j, 0, 0x83, 7, FRAME, HU_JIT_OFF(run.stop));
    x86_byte(j, 0);
    x86_jcc(j, CC_NE, j->lp.tail[TAIL_STOPPED], 0);
}

static hu_helper_fn helper_of(const struct hu_jit *j, uint64_t id)
{
    return id < j->o.nhelpers ? j->o.helpers[id] : NULL;
}

/* callx: the id is data, so compare it with each helper there is. */
static void callx(struct hu_jit *j, uint32_t pc, unsigned int sel)
{
    uint32_t id, unknown;

    unknown = stub(j, pc, HU_RUN_UNKNOWN_HELPER);
    for ( id = 0; id < j->o.nhelpers; id++ )
    {
        uint32_t next;

        if ( j->o.helpers[id] == NULL )
            continue;
        x86_alu_ri(j, 1, ALU_CMP, sel, (int32_t)id);
        next = x86_jcc8_fwd(j, CC_NE);
        call_helper(j, j->o.helpers[id]);
        /* To the end of this slot: a loop's head may follow, whose
         * window is set on the way in (window_close, window_open). */
        x86_jmp(j, slot_end(j, pc), 0);
        x86_here8(j, next);
    }
    x86_jmp(j, unknown, 0);
}

static void call_local(struct hu_jit *j, uint32_t pc, uint32_t t)
{
    static const uint8_t saved[] = { RBX, R13, R14, R15, RBP };
    unsigned int i;

    charge(j, pc, 1);
    x86_rm(j, 0, 0x83, ALU_CMP, FRAME, HU_JIT_OFF(depth));
    x86_byte(j, HU_MAX_CALL_DEPTH - 1);
    x86_jcc(j, CC_AE, stub(j, pc, HU_RUN_CALL_DEPTH), 0);
    x86_alu_mi(j, 0, ALU_ADD, FRAME, HU_JIT_OFF(depth), 1);
    for ( i = 0; i < sizeof(saved); i++ )
        x86_push(j, saved[i]);
    x86_alu_ri(j, 1, ALU_SUB, RBP, HU_STACK_FRAME);
    x86_call(j, pos_pc(j, t));
    x86_alu_mi(j, 0, ALU_CMP, FRAME, HU_JIT_OFF(err), 0);
    x86_jcc(j, CC_NE, j->lp.unwind, 0);
    for ( i = sizeof(saved); i-- > 0; )
        x86_pop(j, saved[i]);
    x86_alu_mi(j, 0, ALU_SUB, FRAME, HU_JIT_OFF(depth), 1);
}

static unsigned int call(struct hu_jit *j, uint32_t pc,
                         const struct hu_insn *insn)
{
    if ( insn->code & HU_SRC_X )
    {
        unsigned int sel;

        if ( insn->imm == 0 )
            sel = R[insn->dst];
        else if ( insn->dst == 0 && insn->imm >= 1 && insn->imm <= HU_REG_FP )
            sel = R[insn->imm]; /* legacy: the register in imm */
        else
            return HU_RUN_BAD_INSN;
        callx(j, pc, sel);
        return 0;
    }
    if ( insn->src == HU_CALL_LOCAL )
    {
        int64_t t = (int64_t)pc + 1 + insn->imm;

        if ( !in_prog(j, t) )
            return HU_RUN_BAD_JUMP;
        call_local(j, pc, (uint32_t)t);
        return 0;
    }
    if ( insn->src != HU_CALL_HELPER )
        return HU_RUN_BAD_INSN;
    if ( helper_of(j, (uint32_t)insn->imm) == NULL )
        return HU_RUN_UNKNOWN_HELPER;
    /* Not charged: without back edges and local calls, helper calls are
     * bounded by the program's length. */
    call_helper(j, helper_of(j, (uint32_t)insn->imm));
    return 0;
}

/* ------------------------------------------------------------------ */
/* Memory. */

static unsigned int size_class(unsigned int size)
{
    return size == 1 ? 0 : size == 2 ? 1 : size == 4 ? 2 : 3;
}

/*
 * The address of an access: [rbp + off] when the base is r10 (checked
 * now: r10 is constant within a frame), else r10 = base + off checked at
 * run time. The check is one compare against the region most accesses of
 * its kind hit (reads: the first region, the context in a hook; writes:
 * the stack buffer), falling through to the access; when it misses, an
 * out-of-line stub calls the full scan (emit_chk). An address that passes
 * the fast compare only speculatively is replaced by the frame's (cmov),
 * so a mispredicted check reads nothing of interest. Returns 0 with *base and *disp set, or the error the
 * access raises whenever it runs.
 */
static unsigned int address(struct hu_jit *j, uint32_t pc, unsigned int breg,
                            int16_t off, unsigned int size, int write,
                            uint32_t pair, unsigned int *base, int32_t *disp)
{
    unsigned int k = size_class(size) * 2 + (write ? 1 : 0);
    /*
     * An access through a pointer derived from r10 compares with the
     * stack buffer first, a read through one derived from the context
     * with the first region (the context, in a hook), any other access
     * with the first writable region after the stack (a map value). Only
     * the order of the comparisons depends on it: a miss still scans
     * every region.
     */
    uint32_t hint = j->stk[pc];
    int32_t fast = ((hint >> breg) & 1)                      ? HU_JIT_OFF(fastw)
                   : write                                   ? HU_JIT_OFF(fastm)
                   : ((hint >> (STK_CTX + breg)) & 1) != 0u ? HU_JIT_OFF(tbl)
                                                             : HU_JIT_OFF(fastr);

    if ( breg == HU_REG_FP )
    {
        if ( off < -HU_STACK_FRAME || off + (int32_t)size > 0 )
            return HU_RUN_OOB_STACK;
        *base = RBP;
        *disp = off;
        return 0;
    }
    /*
     * A register this block set to r10 + c: the address is known now, and
     * inside the current frame it is inside the stack buffer, which is
     * what the run-time check would find. Outside the frame (a caller's,
     * or no stack at all) the run-time check decides, as for any pointer.
     */
    if ( (j->fp_known >> breg) & 1 )
    {
        int32_t at = j->fp_off[breg] + off;

        if ( at >= -HU_STACK_FRAME && at + (int32_t)size <= 0 )
        {
            *base = RBP;
            *disp = at;
            return 0;
        }
    }
    /* Unrolled rounds are placed in the frame (count_units); a check there
     * would return to one resume point for all of them. */
    if ( j->unrolling )
        j->err = HU_JIT_E_INTERNAL;
    if ( pair )
    {
        /* A load that covers a store: compare with a writable region. */
        fast = ((hint >> breg) & 1) ? HU_JIT_OFF(fastw) : HU_JIT_OFF(fastm);
        j->merged = pair;
    }
    /* Two independent copies of the address (mov when off is 0: the
     * renamer does those) rather than one copied from the other. */
    if ( off )
    {
        x86_lea(j, AX, R[breg], off);
        x86_lea(j, TMP, R[breg], off);
    }
    else
    {
        x86_mov_rr(j, 1, AX, R[breg]);
        x86_mov_rr(j, 1, TMP, R[breg]);
    }
    x86_rm(j, X_W, 0x2b, TMP, FRAME, fast); /* sub rdi, base */
    x86_rm(j, X_W, 0x3b, TMP, FRAME, fast + 8 + 8 * (int32_t)size_class(size));
    j->uses |= 1u << k;
    if ( pair )
    {
        unsigned int kw =
            size_class(hu_opcodes[j->insns[pair].code].size) * 2 + 1;

        j->uses |= 1u << kw;
        x86_jcc(j, CC_AE, slow_pair_stub(j, pc, pair, k, kw), 0);
    }
    else
        x86_jcc(j, CC_AE, slow_stub(j, pc, k), 0);
    x86_rr(j, X_W, 0x0f43, AX, FRAME); /* cmovae r10, r12 */
    if ( !j->mute )
        j->resume[pc] = j->len;
    *base = AX;
    *disp = 0;
    return 0;
}

/*
 * An ALU instruction that cannot fail, touches no memory and leaves r10
 * (AX) alone: between a load and the store its check covers.
 */
static int pure_alu(const struct hu_jit *j, const struct hu_insn *insn)
{
    int is_x = (insn->code & HU_SRC_X) != 0;

    if ( HU_CLASS(insn->code) != HU_CLS_ALU &&
         HU_CLASS(insn->code) != HU_CLS_ALU64 )
        return 0;
    switch ( HU_OP(insn->code) )
    {
    case HU_ALU_ADD:
    case HU_ALU_SUB:
    case HU_ALU_XOR:
    case HU_ALU_NEG:
        return 1;
    case HU_ALU_OR:
    case HU_ALU_AND:
    case HU_ALU_MUL: /* blinded, these go through r10 */
        return is_x || !blinded(j, insn->imm);
    case HU_ALU_MOV:
        return !is_x || insn->off == 0;
    case HU_ALU_LSH:
    case HU_ALU_RSH:
    case HU_ALU_ARSH: /* by a register, these save rcx in r10 */
        return !is_x;
    default:
        return 0;
    }
}

/*
 * Read-modify-write: the load at pc and a store a few instructions later
 * in the same block, through the same unchanged base register at the same
 * offset, no wider than the load. Returns the store's pc (0: none). Its
 * check is then the load's: the load compares with a writable region
 * first, so passing it covers both; a miss scans for each in turn
 * (slow_pair_stub), and the store reuses the load's checked address in
 * r10. Not for a read through a context pointer: the context is
 * read-only, its fast compare must stay the context's.
 */
#define RMW_WINDOW 8

static uint32_t rmw_pair(const struct hu_jit *j, uint32_t pc)
{
    const struct hu_insn *l = &j->insns[pc];
    uint32_t w;

    if ( l->src == HU_REG_FP || l->dst == l->src ||
         ((j->stk[pc] >> (STK_CTX + l->src)) & 1) )
        return 0;
    for ( w = pc + 1; w < j->n && w <= pc + RMW_WINDOW; w++ )
    {
        const struct hu_insn *i = &j->insns[w];

        if ( (j->lead[w] & LEAD) || !valid_regs(i) )
            return 0;
        if ( (HU_CLASS(i->code) == HU_CLS_STX ||
              HU_CLASS(i->code) == HU_CLS_ST) &&
             HU_MODE(i->code) == HU_MODE_MEM )
            return i->dst == l->src && i->off == l->off &&
                           hu_opcodes[i->code].size <=
                               hu_opcodes[l->code].size
                       ? w
                       : 0;
        if ( !pure_alu(j, i) || i->dst == l->src )
            return 0;
    }
    return 0;
}

/* ------------------------------------------------------------------ */
/* Windows: a loop's accesses through one base, checked at its head. */

static int32_t window_lim(uint32_t head_lead)
{
    return HU_JIT_OFF(lim) + 8 * (int32_t)WIN_SLOT(head_lead);
}

/* The back edge of the loop at h: the first jump from h (find_windows). */
static uint32_t window_end(const struct hu_jit *j, uint32_t h)
{
    uint32_t pc = h;

    while ( HU_CLASS(j->insns[pc].code) != HU_CLS_JMP &&
            HU_CLASS(j->insns[pc].code) != HU_CLS_JMP32 )
        pc++;
    return pc;
}

/*
 * What the loop at h adds to its base a round (1 to WIN_MAX), and the end
 * of its accesses from the head's base (1 to WIN_SPAN); *write when one
 * of them is a store.
 */
static int32_t window_stride(const struct hu_jit *j, uint32_t h)
{
    uint32_t pc, e = window_end(j, h);
    int64_t d = 0, c;

    for ( pc = h; pc < e; pc++ )
        if ( steps(&j->insns[pc], WIN_BASE(j->lead[h]), &c) )
            d += c;
    return (int32_t)d;
}

static int32_t window_span(const struct hu_jit *j, uint32_t h, int *write)
{
    uint32_t pc, e = window_end(j, h);
    int32_t hi = 0;

    *write = 0;
    for ( pc = h; pc < e; pc++ )
        if ( j->lead[pc] & WIN_ACC )
        {
            int32_t end = WIN_D(j->lead[pc]) +
                          (int32_t)hu_opcodes[j->insns[pc].code].size;

            *write |= HU_CLASS(j->insns[pc].code) != HU_CLS_LDX;
            if ( end > hi )
                hi = end;
        }
    return hi;
}

/*
 * The budget and windows. A windowed loop's back edge charges its length
 * L with no branch (charge_back), so the window's limit must also end
 * the fast rounds before one whose charge would fail: a round that passes
 * the head's compare has at least L left. From a head with base b and
 * `left` units, rounds k = 0 .. n - 1 with n = left >> shift (1 << shift
 * >= L, so n <= left / L) have bases b + k * stride and each at least L
 * left at its start: the budget's limit is b + stride * n, saturating at
 * the top of the address space. Where n would be 0 the out-of-line head
 * (window_code) lets just its own round run (n = 1): if its charge fails
 * r11 wraps below zero, which the next head (out of line, the limit stops
 * it) and the way out of the loop (budget_exit) find in r11's sign and
 * raise at the back edge, before anything else runs, as the charge's own
 * jump would have. r11 stays below 2^62 otherwise (hu_jit_run). At least
 * 7, so that n * stride cannot overflow either.
 */
static unsigned int budget_shift(uint32_t units)
{
    unsigned int c = 7;

    while ( ((uint64_t)1 << c) < units )
        c++;
    return c;
}

/* rdi = the budget's limit for the loop at h (above); r10 is clobbered. */
static void budget_limit(struct hu_jit *j, uint32_t h, int at_least_one)
{
    unsigned int b = R[WIN_BASE(j->lead[h])];

    x86_mov_rr(j, 1, TMP, LEFT);
    x86_shift_ri(j, 1, SH_SHR, TMP,
                 (uint8_t)budget_shift(window_end(j, h) - h + 1));
    if ( at_least_one )
    {
        x86_alu_ri(j, 1, ALU_CMP, TMP, 1);
        x86_alu_ri(j, 1, ALU_ADC, TMP, 0); /* 0 becomes 1 */
    }
    x86_rr(j, X_W, 0x6b, TMP, TMP); /* imul rdi, rdi, stride */
    x86_byte(j, (uint8_t)window_stride(j, h));
    x86_alu_rr(j, 1, ALU_ADD, TMP, b);
    x86_rr(j, X_W, 0x19, AX, AX); /* sbb r10, r10: -1 on a carry, */
    x86_alu_rr(j, 1, ALU_OR, TMP, AX); /* which saturates */
}

static int32_t window_sync_at(uint32_t head_lead)
{
    return HU_JIT_OFF(sync) + 8 * (int32_t)WIN_SLOT(head_lead);
}

/*
 * A loop whose stride is a power of two and whose body nothing but its
 * window's out-of-line head can stop (every other instruction a pure ALU
 * one) charges no budget at its back edge at all: its rounds since the
 * window last synced are (b - sync) / stride, each of length L, and they
 * are charged where the budget can be seen or must be right: at the
 * out-of-line head, before anything there, and on the way out of the
 * loop. Both raise a charge that fails at the back edge, as its own
 * charge would have; nothing that ran since can fail or tell (the rounds
 * the limit let run fast had their budget, budget_shift). On the way in
 * sync = b. This leaves r11 below the charges still to come: r11 <
 * charge sets CF.
 */
static int window_syncs(const struct hu_jit *j, uint32_t h)
{
    uint32_t pc, e = window_end(j, h);
    int32_t s = window_stride(j, h);

    if ( (s & (s - 1)) != 0 )
        return 0;
    for ( pc = h; pc < e; pc++ )
        if ( !(j->lead[pc] & WIN_ACC) && !pure_alu(j, &j->insns[pc]) )
            return 0;
    return 1;
}

/* r11 -= the rounds since the loop at h last synced; CF when short. */
static void window_sync(struct hu_jit *j, uint32_t h)
{
    unsigned int b = R[WIN_BASE(j->lead[h])], k = 0;
    int32_t s = window_stride(j, h), units = (int32_t)(window_end(j, h) - h + 1);

    while ( (1 << k) < s )
        k++;
    x86_mov_rr(j, 1, TMP, b);
    x86_rm(j, X_W, 0x2b, TMP, FRAME, window_sync_at(j->lead[h]));
    if ( k )
        x86_shift_ri(j, 1, SH_SHR, TMP, (uint8_t)k);
    if ( small_imm(units) )
    {
        x86_rr(j, X_W, 0x6b, TMP, TMP); /* imul rdi, rdi, imm8 */
        x86_byte(j, (uint8_t)units);
    }
    else
    {
        x86_rr(j, X_W, 0x69, TMP, TMP); /* imul rdi, rdi, imm32 */
        x86_u32(j, (uint32_t)units);
    }
    x86_alu_rr(j, 1, ALU_SUB, LEFT, TMP);
}

/* The way out of a windowed loop through its conditional back edge e. */
static void budget_exit(struct hu_jit *j, uint32_t e)
{
    uint32_t h = (uint32_t)((int64_t)e + 1 + j->insns[e].off);

    if ( j->lead[h] & WIN_COUNT )
        return;
    if ( j->lead[h] & WIN_SYNC )
    {
        window_sync(j, h);
        x86_jcc(j, CC_B, stub(j, e, HU_RUN_BUDGET), 0);
        return;
    }
    x86_rr(j, X_W, 0x85, LEFT, LEFT); /* test r11, r11 */
    x86_jcc(j, CC_S, stub(j, e, HU_RUN_BUDGET), 0);
}

/* On the way into the loop (not on its back edge): no window yet. */
static void window_close(struct hu_jit *j, uint32_t h)
{
    x86_rm(j, X_W, 0xc7, 0, FRAME, window_lim(j->lead[h]));
    x86_u32(j, 0);
    if ( j->lead[h] & WIN_SYNC )
        x86_store64(j, FRAME, window_sync_at(j->lead[h]),
                    R[WIN_BASE(j->lead[h])]);
}

/*
 * On the way into a loop whose base is r10 + c with c in the current
 * frame, by this block's own instructions (fp_known; nothing from the
 * verifier): rounds whose base is below r10 - span + 1 access only the
 * frame, as the run-time check would have found. The limit is that or
 * the budget's, whichever is lower, so the first round needs no trip out
 * of line (StackHeavy in bench/engine enters its two loops 16 times a
 * run). A round it stops goes out of line as any other.
 */
static void window_open(struct hu_jit *j, uint32_t h)
{
    int write;

    budget_limit(j, h, 0);
    x86_lea(j, AX, RBP, 1 - window_span(j, h, &write));
    x86_alu_rr(j, 1, ALU_CMP, TMP, AX);
    x86_rr(j, X_W, 0x0f47, TMP, AX); /* cmova rdi, r10 */
    x86_store64(j, FRAME, window_lim(j->lead[h]), TMP);
    if ( j->lead[h] & WIN_SYNC )
        x86_store64(j, FRAME, window_sync_at(j->lead[h]),
                    R[WIN_BASE(j->lead[h])]);
}

/*
 * On the way into a counted loop (count_units): its rounds' budget at
 * once, or the error its back edge's charge would raise. The rounds the
 * loop would have run before that only wrote the current frame, which no
 * host reads after an error, and `executed` is the whole budget either
 * way (hu_jit_run). Then CF set, as a taken back edge leaves it, so the
 * head's clamp keeps b; unrolled rounds (unroll) have no head.
 */
static void count_enter(struct hu_jit *j, uint32_t h)
{
    int32_t units = (int32_t)j->win_units[WIN_SLOT(j->lead[h])];

    if ( blinded(j, units) )
    {
        load_imm(j, 1, TMP, units);
        x86_alu_rr(j, 1, ALU_SUB, LEFT, TMP);
    }
    else
        x86_alu_ri(j, 1, ALU_SUB, LEFT, units);
    x86_jcc(j, CC_B, stub(j, window_end(j, h), HU_RUN_BUDGET), 0);
    if ( !(j->lead[h] & WIN_UNROLL) )
        x86_byte(j, 0xf9); /* stc */
}

/* Whether the way into the loop at h, translated up to here, opens it. */
static int window_opens(const struct hu_jit *j, uint32_t h)
{
    unsigned int breg = WIN_BASE(j->lead[h]);

    return ((j->fp_known >> breg) & 1) &&
           j->fp_off[breg] >= -HU_STACK_FRAME;
}

/* The code between slot pc - 1 and slot pc, align_loop's padding aside. */
static void gap_code(struct hu_jit *j, uint32_t pc)
{
    uint32_t v = j->lead[pc];

    if ( v & WIN_EXIT )
        budget_exit(j, pc - 1);
    if ( (v & WIN_HEAD) && (v & WIN_COUNT) )
        count_enter(j, pc);
    else if ( (v & WIN_HEAD) && (v & WIN_INLINE) )
        window_open(j, pc);
    else if ( v & WIN_HEAD )
        window_close(j, pc);
}

/*
 * The bytes before slot pc that belong to no slot, as the last pass
 * emitted them: gap_code's, measured, and align_loop's padding.
 */
static uint32_t gap_before(struct hu_jit *j, uint32_t pc)
{
    uint32_t len = j->len, cold = j->cold_next, gap;
    uint64_t rng = j->rng;
    uint8_t *out = j->out;
    int mute = j->mute;

    if ( pc > j->n )
        return 0;
    j->out = NULL;
    j->mute = 0;
    gap_code(j, pc);
    gap = j->len - len + PAD(j->lead[pc]);
    j->len = len;
    j->cold_next = cold;
    j->rng = rng;
    j->out = out;
    j->mute = mute;
    return gap;
}

/*
 * Out of line, when b is not below the limit. First the budget: r11 below
 * zero is the last round's charge failing (budget_shift). Then, when [b,
 * b + hi) lies in the region this iteration's accesses compare with first
 * (the usual region check of size hi, rounded up to 1, 2, 4 or 8), the
 * limit becomes the lower of one past the highest b for which that stays
 * so (unless that is within 128 of the top of the address space) and the
 * budget's; r10 = b, or the frame when the region compare passed only
 * speculatively. Otherwise each access is checked as if it ran, in order,
 * the first failure raised at its pc; then an lfence (no mispredicted
 * check there may run the body) and r10 = b, and the limit stays: b only
 * grows, so the next head comes here again.
 */
static void window_code(struct hu_jit *j, uint32_t h)
{
    uint32_t v = j->lead[h], pc, slow, keep[2], charged, e = window_end(j, h);
    unsigned int breg = WIN_BASE(v), b = R[breg], k;
    uint32_t hint = j->stk[h];
    int32_t hi, fast, cnt;
    int write;

    if ( v & WIN_SYNC )
    {
        window_sync(j, h);
        x86_store64(j, FRAME, window_sync_at(v), b);
        charged = x86_jcc8_fwd(j, CC_AE);
    }
    else
    {
        x86_rr(j, X_W, 0x85, LEFT, LEFT); /* test r11, r11 */
        charged = x86_jcc8_fwd(j, CC_NS);
    }
    set_err_pc(j, e);
    x86_jmp(j, j->lc.tail[HU_RUN_BUDGET], 0);
    x86_here8(j, charged);
    hi = window_span(j, h, &write);
    k = size_class((unsigned int)hi <= 1 ? 1 : hi <= 2 ? 2 : hi <= 4 ? 4 : 8);
    fast = ((hint >> breg) & 1)                  ? HU_JIT_OFF(fastw)
           : write                               ? HU_JIT_OFF(fastm)
           : ((hint >> (STK_CTX + breg)) & 1) ? HU_JIT_OFF(tbl)
                                                 : HU_JIT_OFF(fastr);
    cnt = fast + 8 + 8 * (int32_t)k;
    x86_mov_rr(j, 1, TMP, b);
    x86_rm(j, X_W, 0x2b, TMP, FRAME, fast); /* sub rdi, base */
    x86_rm(j, X_W, 0x3b, TMP, FRAME, cnt);
    slow = x86_jcc8_fwd(j, CC_AE);
    budget_limit(j, h, 1);
    x86_mov_rr(j, 1, AX, TMP);
    x86_load64(j, TMP, FRAME, cnt);
    x86_rm(j, X_W, 0x03, TMP, FRAME, fast); /* rdi = base + cnt: the limit */
    keep[0] = x86_jcc8_fwd(j, CC_B);
    x86_alu_ri(j, 1, ALU_CMP, TMP, -128);
    keep[1] = x86_jcc8_fwd(j, CC_AE);
    x86_alu_rr(j, 1, ALU_CMP, TMP, AX);
    x86_rr(j, X_W, 0x0f47, TMP, AX); /* cmova rdi, r10: the lower */
    x86_store64(j, FRAME, window_lim(v), TMP);
    x86_here8(j, keep[0]);
    x86_here8(j, keep[1]);
    /* The region compare again: its flags choose r10 without a branch. */
    x86_mov_rr(j, 1, AX, b);
    x86_mov_rr(j, 1, TMP, b);
    x86_rm(j, X_W, 0x2b, TMP, FRAME, fast);
    x86_rm(j, X_W, 0x3b, TMP, FRAME, cnt);
    x86_rr(j, X_W, 0x0f43, AX, FRAME); /* cmovae r10, r12 */
    x86_jmp(j, j->resume[h], 0);

    x86_here8(j, slow);
    for ( pc = h; pc < e; pc++ )
    {
        unsigned int cls = HU_CLASS(j->insns[pc].code), kc;
        uint32_t skip;

        if ( !(j->lead[pc] & WIN_ACC) )
            continue;
        kc = size_class(hu_opcodes[j->insns[pc].code].size) * 2 +
             (cls != HU_CLS_LDX ? 1u : 0u);
        j->uses |= 1u << kc;
        x86_lea(j, AX, b, WIN_D(j->lead[pc]));
        x86_call(j, j->lc.chk[kc]);
        skip = x86_jcc8_fwd(j, CC_AE);
        set_err_pc(j, pc);
        x86_jmp(j, j->lc.tail[0], 0);
        x86_here8(j, skip);
    }
    x86_byte(j, 0x0f); /* lfence */
    x86_byte(j, 0xae);
    x86_byte(j, 0xe8);
    x86_mov_rr(j, 1, AX, b);
    x86_jmp(j, j->resume[h], 0);
}

/* Where window_code for the loop at h goes; emitted in the stub pass. */
static uint32_t window_stub(struct hu_jit *j, uint32_t h)
{
    uint32_t at = j->lp.cold + j->cold_next, start = j->len;
    uint8_t *out = j->out;
    int mute = j->mute;

    /* Its size: the code measured, not written. */
    j->mute = 0;
    j->out = NULL;
    window_code(j, h);
    j->cold_next += j->len - start;
    j->len = start;
    j->out = out;
    if ( mute )
        window_code(j, h);
    j->mute = mute;
    return at;
}

/*
 * Every iteration: b below the limit, or the out-of-line checks; r10 = b,
 * or the frame when the compare passed only speculatively. A counted loop
 * (count_units) has no limit: its back edge's `jb` or the way in's `stc`
 * leaves CF set, so the clamp follows a mispredicted back edge instead.
 * The clamp goes on a copy: on b itself it would lengthen the chain that
 * carries b from round to round (RegionSum's loop ran about twice as
 * long).
 */
static void window_head(struct hu_jit *j, uint32_t h)
{
    unsigned int b = R[WIN_BASE(j->lead[h])];

    x86_mov_rr(j, 1, AX, b);
    if ( !(j->lead[h] & WIN_COUNT) )
    {
        x86_rm(j, X_W, 0x3b, b, FRAME, window_lim(j->lead[h])); /* cmp b, lim */
        x86_jcc(j, CC_AE, window_stub(j, h), 0);
    }
    x86_rr(j, X_W, 0x0f43, AX, FRAME); /* cmovae r10, r12 */
    if ( !j->mute )
        j->resume[h] = j->len;
}

/*
 * Whether the access at pc was checked at its loop's head (window_head).
 * In unrolled rounds (unroll) there is no head: the base is a known frame
 * address there, so address() places the access as one through r10.
 */
static int at_head(const struct hu_jit *j, uint32_t pc)
{
    return (j->lead[pc] & WIN_ACC) && !j->unrolling;
}

static unsigned int load(struct hu_jit *j, uint32_t pc,
                         const struct hu_insn *insn)
{
    unsigned int size = hu_opcodes[insn->code].size, base, err;
    unsigned int d = R[insn->dst];
    int32_t disp;

    if ( at_head(j, pc) )
    {
        /* Checked at the loop's head (window_head). */
        base = AX;
        disp = WIN_D(j->lead[pc]);
    }
    else
    {
        err = address(j, pc, insn->src, insn->off, size, 0, rmw_pair(j, pc),
                      &base, &disp);
        if ( err )
            return err;
    }
    if ( HU_MODE(insn->code) == HU_MODE_MEMSX )
        x86_rm(j, X_W, size == 1 ? 0x0fbe : size == 2 ? 0x0fbf : 0x63, d,
               base, disp);
    else if ( size == 1 )
        x86_rm(j, 0, 0x0fb6, d, base, disp);
    else if ( size == 2 )
        x86_rm(j, 0, 0x0fb7, d, base, disp);
    else
        x86_rm(j, size == 8 ? X_W : 0, 0x8b, d, base, disp);
    return 0;
}

static void store_reg(struct hu_jit *j, unsigned int size, unsigned int base,
                      int32_t disp, unsigned int s)
{
    switch ( size )
    {
    case 1:
        x86_rm(j, X_REX, 0x88, s, base, disp);
        break;
    case 2:
        x86_rm(j, X_66, 0x89, s, base, disp);
        break;
    case 4:
        x86_rm(j, 0, 0x89, s, base, disp);
        break;
    default:
        x86_rm(j, X_W, 0x89, s, base, disp);
        break;
    }
}

static unsigned int store(struct hu_jit *j, uint32_t pc,
                          const struct hu_insn *insn)
{
    unsigned int size = hu_opcodes[insn->code].size, base, err;
    int32_t disp;

    if ( at_head(j, pc) )
    {
        /* Checked at the loop's head (window_head). */
        base = AX;
        disp = WIN_D(j->lead[pc]);
    }
    else if ( j->merged == pc && pc > 0 )
    {
        /* The load before checked this address for it (rmw_pair). */
        base = AX;
        disp = 0;
    }
    else
    {
        err = address(j, pc, insn->dst, insn->off, size, 1, 0, &base, &disp);
        if ( err )
            return err;
    }
    if ( HU_CLASS(insn->code) == HU_CLS_STX )
        store_reg(j, size, base, disp, R[insn->src]);
    else if ( blinded(j, insn->imm) )
    {
        load_imm(j, 1, TMP, insn->imm);
        store_reg(j, size, base, disp, TMP);
    }
    else
    {
        switch ( size )
        {
        case 1:
            x86_rm(j, 0, 0xc6, 0, base, disp);
            x86_byte(j, (uint8_t)insn->imm);
            break;
        case 2:
            x86_rm(j, X_66, 0xc7, 0, base, disp);
            x86_byte(j, (uint8_t)insn->imm);
            x86_byte(j, (uint8_t)(insn->imm >> 8));
            break;
        default:
            x86_rm(j, size == 8 ? X_W : 0, 0xc7, 0, base, disp);
            x86_u32(j, (uint32_t)insn->imm);
            break;
        }
    }
    return 0;
}

static unsigned int atomic(struct hu_jit *j, uint32_t pc,
                           const struct hu_insn *insn)
{
    unsigned int size = hu_opcodes[insn->code].size, base, err;
    unsigned int flags = size == 8 ? X_W : 0;
    unsigned int s = R[insn->src];
    int32_t op = insn->imm, disp;

    if ( !hu_atomic_op_valid(op) ||
         ((op & HU_ATOMIC_FETCH) && op != HU_ATOMIC_CMPXCHG &&
          insn->src == HU_REG_FP) )
        return HU_RUN_BAD_INSN;
    err = address(j, pc, insn->dst, insn->off, size, 1, 0, &base, &disp);
    if ( err )
        return err;
    if ( base == RBP )
        x86_lea(j, AX, RBP, disp);
    x86_test_ri(j, 0, AX, (int32_t)size - 1);
    x86_jcc(j, CC_NE, stub(j, pc, HU_RUN_MISALIGNED), 0);

    switch ( op )
    {
    case HU_ATOMIC_ADD:
    case HU_ATOMIC_OR:
    case HU_ATOMIC_AND:
    case HU_ATOMIC_XOR:
        x86_rm(j, flags | X_LOCK, 8 * alu_ops[op >> 4] + 1, s, AX, 0);
        return 0;
    case HU_ATOMIC_ADD | HU_ATOMIC_FETCH:
        x86_rm(j, flags | X_LOCK, 0x0fc1, s, AX, 0); /* xadd */
        return 0;
    case HU_ATOMIC_XCHG:
        x86_rm(j, flags, 0x87, s, AX, 0); /* xchg locks by itself */
        return 0;
    case HU_ATOMIC_CMPXCHG:
        x86_rm(j, flags | X_LOCK, 0x0fb1, s, AX, 0);
        if ( size == 4 )
            x86_mov_rr(j, 0, RAX, RAX); /* success leaves rax's top */
        return 0;
    default:
    {
        /* fetch or/and/xor: a cmpxchg loop; the old value goes to src. */
        uint32_t loop;

        x86_push(j, LEFT);
        if ( s != RAX )
            x86_push(j, RAX);
        x86_mov_rr(j, 1, LEFT, s);
        x86_rm(j, flags, 0x8b, RAX, AX, 0);
        loop = j->len;
        x86_mov_rr(j, 1, TMP, RAX);
        x86_alu_rr(j, size == 8, (enum x86_alu)alu_ops[(op & ~HU_ATOMIC_FETCH)
                                                       >> 4], TMP, LEFT);
        x86_rm(j, flags | X_LOCK, 0x0fb1, TMP, AX, 0);
        x86_jcc(j, CC_NE, loop, 1);
        if ( s != RAX )
        {
            x86_mov_rr(j, size == 8, s, RAX);
            x86_pop(j, RAX);
        }
        x86_pop(j, LEFT);
        return 0;
    }
    }
}

/* ------------------------------------------------------------------ */
/* Frame offsets known within a basic block (see hu_jit.fp_known). */

/* Bound on a tracked offset: far outside any frame, far from overflow. */
#define FP_TRACK_MAX (1 << 24)

/* After insn: which registers still hold a known constant (k_known). */
static void track_const(struct hu_jit *j, const struct hu_insn *insn)
{
    unsigned int cls = HU_CLASS(insn->code), r;

    if ( cls == HU_CLS_ALU64 && HU_OP(insn->code) == HU_ALU_MOV &&
         !(insn->code & HU_SRC_X) && insn->off == 0 &&
         insn->dst < HU_REG_FP )
    {
        j->k_known |= 1u << insn->dst;
        j->k_val[insn->dst] = insn->imm;
        return;
    }
    /* A call leaves r0-r5 as the callee or helper left them. */
    if ( (cls == HU_CLS_JMP || cls == HU_CLS_JMP32) &&
         HU_OP(insn->code) == HU_JMP_CALL )
        j->k_known &= ~0x3fu;
    for ( r = 0; r < HU_NREGS; r++ )
        if ( writes(insn, r) )
            j->k_known &= ~(1u << r);
}

/* After insn (translated): which registers still hold r10 + a constant. */
static void track(struct hu_jit *j, const struct hu_insn *insn)
{
    unsigned int op = HU_OP(insn->code);
    uint32_t d = 1u << (insn->dst & 15);

    track_const(j, insn);
    switch ( HU_CLASS(insn->code) )
    {
    case HU_CLS_ALU64:
        if ( op == HU_ALU_MOV && (insn->code & HU_SRC_X) && insn->off == 0 &&
             insn->src <= HU_REG_FP &&
             (insn->src == HU_REG_FP || ((j->fp_known >> insn->src) & 1)) )
        {
            j->fp_off[insn->dst] =
                insn->src == HU_REG_FP ? 0 : j->fp_off[insn->src];
            j->fp_known |= d;
            return;
        }
        if ( (op == HU_ALU_ADD || op == HU_ALU_SUB) &&
             !(insn->code & HU_SRC_X) && ((j->fp_known & d) != 0) )
        {
            int64_t c = (int64_t)j->fp_off[insn->dst] +
                        (op == HU_ALU_ADD ? (int64_t)insn->imm
                                          : -(int64_t)insn->imm);

            if ( c >= -FP_TRACK_MAX && c <= FP_TRACK_MAX )
            {
                j->fp_off[insn->dst] = (int32_t)c;
                return;
            }
        }
        j->fp_known &= ~d;
        return;
    case HU_CLS_ALU:
    case HU_CLS_LD:
    case HU_CLS_LDX:
        j->fp_known &= ~d;
        return;
    case HU_CLS_STX:
        if ( HU_MODE(insn->code) != HU_MODE_ATOMIC )
            return;
        if ( insn->imm == HU_ATOMIC_CMPXCHG )
            j->fp_known &= ~1u;
        else if ( insn->imm & HU_ATOMIC_FETCH )
            j->fp_known &= ~(1u << (insn->src & 15));
        return;
    case HU_CLS_JMP:
    case HU_CLS_JMP32:
        /* A call leaves r0-r5 as the callee or helper left them. */
        if ( op == HU_JMP_CALL )
            j->fp_known &= ~0x3fu;
        return;
    default: /* HU_CLS_ST */
        return;
    }
}

/*
 * Where a block starts: every jump and local call target, and whatever
 * follows an unconditional jump or an exit. Facts are dropped there.
 */
/* Where the jump or local call at pc goes (-1: it is neither). */
static int64_t jump_target(const struct hu_jit *j, uint32_t pc)
{
    const struct hu_insn *insn = &j->insns[pc];
    unsigned int cls = HU_CLASS(insn->code), op = HU_OP(insn->code);

    if ( (cls != HU_CLS_JMP && cls != HU_CLS_JMP32) || op == HU_JMP_EXIT )
        return -1;
    if ( op == HU_JMP_CALL )
        return insn->src == HU_CALL_LOCAL && !(insn->code & HU_SRC_X)
                   ? (int64_t)pc + 1 + insn->imm
                   : -1;
    if ( op == HU_JMP_JA && cls == HU_CLS_JMP32 )
        return (int64_t)pc + 1 + insn->imm;
    return (int64_t)pc + 1 + insn->off;
}

static void find_leads(struct hu_jit *j)
{
    uint32_t pc;

    for ( pc = 0; pc <= j->n; pc++ )
        j->lead[pc] = 0;
    for ( pc = 0; pc < j->n; pc++ )
    {
        const struct hu_insn *insn = &j->insns[pc];
        unsigned int cls = HU_CLASS(insn->code), op = HU_OP(insn->code);
        int64_t t = jump_target(j, pc);

        if ( in_prog(j, t) )
            j->lead[t] |= LEAD;
        if ( (cls == HU_CLS_JMP || cls == HU_CLS_JMP32) &&
             (op == HU_JMP_JA || op == HU_JMP_EXIT) )
            j->lead[pc + 1] |= LEAD;
    }
}

/*
 * Loops whose accesses through one base register are checked once per
 * iteration, at the head, against a window (the checks' "loop-invariant"
 * form): a loop [h, e] is one block that only e jumps back into (the
 * fall-through into h runs code that closes the window first), with a
 * base b that the body changes only by adding constants, growing by a
 * stride of 1 to WIN_MAX bytes an iteration. Up to its last access
 * through b the body is such accesses (loads, and a load or store last)
 * and pure ALU instructions, so the head can check every one of them, in
 * order, and raise the first failure at its pc with nothing skipped that
 * the interpreter would have done (no memory written, no other check).
 * While b stays below the window's limit all of this iteration's
 * accesses lie in one region (window_code); b only grows, and cannot wrap
 * (the limit is 128 below the top of the address space). Offsets from
 * the head's b are 0 to WIN_MAX. A loop that does not fit keeps a check
 * per access.
 */
static int is_access(const struct hu_insn *insn, unsigned int *base)
{
    unsigned int cls = HU_CLASS(insn->code), mode = HU_MODE(insn->code);

    if ( cls == HU_CLS_LDX && (mode == HU_MODE_MEM || mode == HU_MODE_MEMSX) )
        *base = insn->src;
    else if ( (cls == HU_CLS_ST || cls == HU_CLS_STX) && mode == HU_MODE_MEM )
        *base = insn->dst;
    else
        return 0;
    return 1;
}

/* Whether insn may write register r (jumps and calls aside). */
static int writes(const struct hu_insn *insn, unsigned int r)
{
    switch ( HU_CLASS(insn->code) )
    {
    case HU_CLS_ALU:
    case HU_CLS_ALU64:
    case HU_CLS_LD:
    case HU_CLS_LDX:
        return insn->dst == r;
    case HU_CLS_STX:
        if ( HU_MODE(insn->code) != HU_MODE_ATOMIC )
            return 0;
        if ( insn->imm == HU_ATOMIC_CMPXCHG )
            return r == 0;
        return (insn->imm & HU_ATOMIC_FETCH) && insn->src == r;
    default:
        return 0;
    }
}

/* add/sub of a constant to b, 64-bit: what it adds (in *c), else 0. */
static int steps(const struct hu_insn *insn, unsigned int b, int64_t *c)
{
    unsigned int op = HU_OP(insn->code);

    if ( HU_CLASS(insn->code) != HU_CLS_ALU64 || (insn->code & HU_SRC_X) ||
         insn->dst != b || (op != HU_ALU_ADD && op != HU_ALU_SUB) )
        return 0;
    *c = op == HU_ALU_ADD ? insn->imm : -(int64_t)insn->imm;
    return 1;
}

static int window_at(struct hu_jit *j, uint32_t h, uint32_t e, uint32_t slot)
{
    uint32_t pc, last = h;
    unsigned int b = HU_NREGS, r;
    int64_t d = 0, c;

    /* j->resume holds how many jumps and calls go to each pc, here. */
    if ( h == 0 || j->resume[h] != 1 )
        return 0;
    for ( pc = h + 1; pc <= e; pc++ )
        if ( j->lead[pc] & LEAD )
            return 0;
    for ( pc = h; pc < e; pc++ )
    {
        const struct hu_insn *insn = &j->insns[pc];
        unsigned int cls = HU_CLASS(insn->code);

        if ( cls == HU_CLS_JMP || cls == HU_CLS_JMP32 || cls == HU_CLS_LD ||
             !valid_regs(insn) )
            return 0;
        if ( is_access(insn, &r) && (b == HU_NREGS || r == b) )
        {
            b = r;
            last = pc;
        }
    }
    if ( b >= HU_REG_FP )
        return 0;
    for ( pc = h; pc < e; pc++ )
    {
        const struct hu_insn *insn = &j->insns[pc];

        if ( is_access(insn, &r) && r == b )
        {
            int64_t at = d + insn->off;

            if ( (HU_CLASS(insn->code) != HU_CLS_LDX && pc != last) ||
                 (HU_CLASS(insn->code) == HU_CLS_LDX && insn->dst == b) ||
                 at < 0 || at + hu_opcodes[insn->code].size > WIN_SPAN )
                return 0;
            continue;
        }
        if ( steps(insn, b, &c) )
        {
            d += c;
            if ( d < -FP_TRACK_MAX || d > FP_TRACK_MAX )
                return 0;
            continue;
        }
        if ( writes(insn, b) || (pc < last && !pure_alu(j, insn)) )
            return 0;
    }
    if ( d < 1 || d > WIN_MAX )
        return 0;
    /* Fits: mark the head and the accesses. */
    j->lead[h] |= WIN_HEAD | (slot << 8) | (b << 12);
    d = 0;
    for ( pc = h; pc <= last; pc++ )
    {
        const struct hu_insn *insn = &j->insns[pc];

        if ( is_access(insn, &r) && r == b )
            j->lead[pc] |= WIN_ACC | ((uint32_t)(d + insn->off) << 16);
        else if ( steps(insn, b, &c) )
            d += c;
    }
    return 1;
}

/*
 * A window opened on the way in (WIN_INLINE) whose rounds the way in
 * fixes: c holds a known constant c0 here (k_known: a `mov` in this
 * block), the body writes c only with one `add c, s` of a constant, and
 * the back edge is either a 64-bit `jlt c, K` with s > 0, so it runs
 * max(1, ceil((K - c0) / s)) rounds, or a 64-bit `jne c, 0` with s < 0
 * and c0 a positive multiple of -s, so it runs c0 / -s rounds. When
 * every access of every round lies in the current frame (b0 = r10 +
 * fp_off, from r10 - HU_STACK_FRAME up, and the last round's end at most
 * r10), no round needs a check: the compare that window_open and the
 * head would make always passes. The body must be those accesses and
 * pure ALU instructions only, so that nothing else can stop the run:
 * then the rounds' budget is known too, and is charged on the way in
 * (count_enter). Returns that budget (rounds times the loop's length), or
 * 0: not counted. A `jne` loop is counted only when it unrolls (unroll):
 * the head's clamp of a loop that stays one reads the carry a `jlt` back
 * edge leaves. Like the frame offsets, this is the block's own
 * instructions, nothing from the verifier.
 */
#define COUNT_MAX_ROUNDS (1 << 16)
#define COUNT_MAX_UNITS (1 << 30)
#define UNROLL_MAX_UNITS 256

static uint32_t count_units(struct hu_jit *j, uint32_t h)
{
    uint32_t v = j->lead[h], e = window_end(j, h), pc, adds = 0;
    unsigned int breg = WIN_BASE(v), c;
    const struct hu_insn *be = &j->insns[e];
    int64_t s = 0, n, c0, len = (int64_t)(e - h + 1);
    int write, down;

    if ( !(v & WIN_INLINE) || HU_CLASS(be->code) != HU_CLS_JMP ||
         (be->code & HU_SRC_X) || !valid_regs(be) )
        return 0;
    if ( HU_OP(be->code) == HU_JMP_JLT && be->imm >= 1 )
        down = 0;
    else if ( HU_OP(be->code) == HU_JMP_JNE && be->imm == 0 )
        down = 1;
    else
        return 0;
    c = be->dst;
    if ( c == breg || c >= HU_REG_FP || !((j->k_known >> c) & 1) ||
         j->k_val[c] < 0 )
        return 0;
    for ( pc = h; pc < e; pc++ )
    {
        const struct hu_insn *insn = &j->insns[pc];

        if ( !(j->lead[pc] & WIN_ACC) && !pure_alu(j, insn) )
            return 0;
        if ( writes(insn, c) &&
             (!steps(insn, c, &s) || (down ? s > -1 : s < 1) ||
              adds++ != 0) )
            return 0;
    }
    if ( adds != 1 )
        return 0;
    c0 = j->k_val[c];
    if ( down )
    {
        if ( c0 == 0 || c0 % -s != 0 )
            return 0;
        n = c0 / -s;
    }
    else
        n = c0 >= be->imm ? 1 : ((int64_t)be->imm - c0 + s - 1) / s;
    if ( n > COUNT_MAX_ROUNDS || n * len > COUNT_MAX_UNITS ||
         (down && n * len > UNROLL_MAX_UNITS) )
        return 0;
    if ( j->fp_off[breg] + (n - 1) * window_stride(j, h) +
             window_span(j, h, &write) > 0 )
        return 0;
    return (uint32_t)(n * len);
}

/*
 * Every check in window_at is bounded by the distance to the next jump
 * target, and the bodies it scans in full hold none: linear in all.
 */
static void find_windows(struct hu_jit *j)
{
    uint32_t e, slot = 0;

    for ( e = 0; e <= j->n; e++ )
        j->resume[e] = 0;
    for ( e = 0; e < j->n; e++ )
    {
        int64_t t = jump_target(j, e);

        if ( in_prog(j, t) )
            j->resume[t]++;
    }
    for ( e = 0; e < j->n; e++ )
    {
        const struct hu_insn *insn = &j->insns[e];
        int64_t t = jump_target(j, e);

        if ( HU_OP(insn->code) == HU_JMP_CALL || t < 0 || t > (int64_t)e )
            continue;
        j->lead[t] |= LOOP_HEAD;
        if ( slot < HU_JIT_WINDOWS && window_at(j, (uint32_t)t, e, slot) )
        {
            slot++;
            if ( HU_OP(insn->code) != HU_JMP_JA )
                j->lead[e + 1] |= WIN_EXIT;
            if ( window_syncs(j, (uint32_t)t) )
                j->lead[t] |= WIN_SYNC;
        }
    }
}

/*
 * Which registers hold an address derived from r10 (bit i: a copy of r10,
 * then only constants or registers added or subtracted), or from the
 * context r1 held at entry (bit 16 + i, the same way), on every path into
 * each pc: j->stk. A forward dataflow to a fixed point, at most
 * STK_ROUNDS sweeps; a callee starts with its callers' r1-r9. It is only
 * a hint (the first region compared), so a sweep limit or a wrong guess
 * costs time, never a check.
 */
#define STK_ROUNDS 32
#define STK_ALL ((((1u << HU_NREGS) - 1) << STK_CTX) | ((1u << HU_NREGS) - 1))
#define STK_R0_R5 ((0x3fu << STK_CTX) | 0x3fu)
#define STK_R(i) ((1u << (STK_CTX + (i))) | (1u << (i)))

static uint32_t stk_after(uint32_t m, const struct hu_insn *insn)
{
    unsigned int op = HU_OP(insn->code);
    uint32_t d = STK_R(insn->dst & 15);

    switch ( HU_CLASS(insn->code) )
    {
    case HU_CLS_ALU64:
        if ( op == HU_ALU_MOV && (insn->code & HU_SRC_X) && insn->off == 0 &&
             insn->src <= HU_REG_FP )
            return (m & ~d) | (((m >> insn->src) & 1) << insn->dst) |
                   (((m >> (STK_CTX + insn->src)) & 1)
                    << (STK_CTX + insn->dst));
        if ( op == HU_ALU_ADD || op == HU_ALU_SUB )
            return m;
        return m & ~d;
    case HU_CLS_ALU:
    case HU_CLS_LD:
    case HU_CLS_LDX:
        return m & ~d;
    case HU_CLS_STX:
        if ( HU_MODE(insn->code) != HU_MODE_ATOMIC )
            return m;
        if ( insn->imm == HU_ATOMIC_CMPXCHG )
            return m & ~STK_R(0);
        if ( insn->imm & HU_ATOMIC_FETCH )
            return m & ~STK_R(insn->src & 15);
        return m;
    case HU_CLS_JMP:
    case HU_CLS_JMP32:
        return op == HU_JMP_CALL ? m & ~STK_R0_R5 : m;
    default: /* HU_CLS_ST */
        return m;
    }
}

static int stk_meet(struct hu_jit *j, int64_t t, uint32_t m)
{
    uint32_t v;

    if ( !in_prog(j, t) )
        return 0;
    v = j->stk[t] & (m | (1u << HU_REG_FP));
    if ( v == j->stk[t] )
        return 0;
    j->stk[t] = v;
    return 1;
}

static void find_stack_pointers(struct hu_jit *j)
{
    uint32_t pc, round;
    int changed = 1;

    for ( pc = 0; pc <= j->n; pc++ )
        j->stk[pc] = STK_ALL;
    j->stk[0] = (1u << HU_REG_FP) | (1u << (STK_CTX + 1));
    for ( round = 0; changed && round < STK_ROUNDS; round++ )
    {
        changed = 0;
        for ( pc = 0; pc < j->n; pc++ )
        {
            const struct hu_insn *insn = &j->insns[pc];
            unsigned int cls = HU_CLASS(insn->code), op = HU_OP(insn->code);
            uint32_t m = stk_after(j->stk[pc], insn);

            if ( cls == HU_CLS_LD )
                changed |= stk_meet(j, (int64_t)pc + 2, m);
            else if ( cls != HU_CLS_JMP && cls != HU_CLS_JMP32 )
                changed |= stk_meet(j, (int64_t)pc + 1, m);
            else if ( op == HU_JMP_EXIT )
                continue;
            else if ( op == HU_JMP_CALL )
            {
                changed |= stk_meet(j, (int64_t)pc + 1, m);
                /* A callee starts with the caller's r1-r9. */
                if ( insn->src == HU_CALL_LOCAL && !(insn->code & HU_SRC_X) )
                    changed |= stk_meet(j, (int64_t)pc + 1 + insn->imm,
                                        j->stk[pc] & ~STK_R(0));
            }
            else if ( op == HU_JMP_JA )
                changed |= stk_meet(j, (int64_t)pc + 1 +
                                       (cls == HU_CLS_JMP ? insn->off
                                                          : insn->imm), m);
            else
            {
                changed |= stk_meet(j, (int64_t)pc + 1 + insn->off, m);
                changed |= stk_meet(j, (int64_t)pc + 1, m);
            }
        }
    }
}

/* ------------------------------------------------------------------ */
/* One slot. */

#define LDDW (HU_CLS_LD | HU_MODE_IMM | HU_SIZE_DW)

static unsigned int lddw(struct hu_jit *j, uint32_t pc,
                         const struct hu_insn *insn)
{
    uint64_t v;
    unsigned int d = R[insn->dst];

    if ( insn->src != HU_PSEUDO_NONE || pc + 1 >= j->n ||
         j->insns[pc + 1].code != 0 )
        return HU_RUN_BAD_INSN;
    v = (uint64_t)(uint32_t)insn->imm |
        ((uint64_t)(uint32_t)j->insns[pc + 1].imm << 32);
    if ( (j->o.flags & HU_JIT_BLIND) && !small_imm((int64_t)v) )
    {
        uint64_t r = (uint64_t)rnd32(j) << 32;

        r |= rnd32(j);
        /* movabs d, v ^ r; movabs r10, r; xor d, r10 */
        x86_byte(j, (uint8_t)(0x48 | ((d & 8) ? 1 : 0)));
        x86_byte(j, (uint8_t)(0xb8 + (d & 7)));
        x86_u64(j, v ^ r);
        x86_byte(j, 0x49);
        x86_byte(j, (uint8_t)(0xb8 + (AX & 7)));
        x86_u64(j, r);
        x86_alu_rr(j, 1, ALU_XOR, d, AX);
    }
    else
        x86_mov_ri64(j, d, v);
    /* A jump to the second slot runs it: code 0 is no instruction. */
    if ( j->mute )
        j->cur[pc + 1] = j->lc.cold + j->cold_next;
    stub(j, pc + 1, HU_RUN_BAD_INSN);
    return 0;
}

/*
 * Translates the slot at pc; returns how many slots it took (2 for a good
 * lddw). Mirrors hu_interp_run's switch: the same checks, in the same
 * order, raise the same errors.
 */
static uint32_t translate(struct hu_jit *j, uint32_t pc)
{
    const struct hu_insn *insn = &j->insns[pc];
    unsigned int err = 0;

    /* An unrolled loop's head is reached only from the round before. */
    if ( (j->lead[pc] & LEAD) && !j->unrolling )
        j->fp_known = j->k_known = 0;
    if ( (j->lead[pc] & WIN_HEAD) && !j->unrolling )
        window_head(j, pc);
    if ( !valid_regs(insn) )
        err = HU_RUN_BAD_INSN;
    else
    {
        switch ( HU_CLASS(insn->code) )
        {
        case HU_CLS_ALU:
        case HU_CLS_ALU64:
            if ( flags_fuse(j, pc) )
                charge_fused(j, pc);
            err = alu(j, insn);
            break;
        case HU_CLS_JMP:
        case HU_CLS_JMP32:
            switch ( HU_OP(insn->code) )
            {
            case HU_JMP_JA:
                err = jump(j, pc, HU_CLASS(insn->code) == HU_CLS_JMP
                                  ? insn->off : insn->imm);
                break;
            case HU_JMP_CALL:
                err = call(j, pc, insn);
                break;
            case HU_JMP_EXIT:
                ret(j);
                break;
            default:
                cond_jump(j, pc, insn);
                break;
            }
            break;
        case HU_CLS_LD:
            err = lddw(j, pc, insn);
            if ( !err )
            {
                track(j, insn);
                return 2;
            }
            break;
        case HU_CLS_LDX:
            err = load(j, pc, insn);
            break;
        case HU_CLS_ST:
            err = store(j, pc, insn);
            break;
        default: /* HU_CLS_STX */
            if ( HU_MODE(insn->code) == HU_MODE_ATOMIC )
                err = atomic(j, pc, insn);
            else
                err = store(j, pc, insn);
            break;
        }
    }
    if ( err )
    {
        /*
         * Its registers may be out of range (fp_off has a slot per eBPF
         * register): nothing to track past it.
         */
        fail_here(j, pc, err);
        j->fp_known = j->k_known = 0;
        return 1;
    }
    track(j, insn);
    return 1;
}

/*
 * A counted loop (count_units) of at most UNROLL_MAX_UNITS instructions
 * over all its rounds runs as those rounds one after another: no back
 * edge, so no compare, no branch to mispredict and no clamp at a head
 * (with its back edge StackHeavy in bench/engine ran about 1.55x of its
 * native twin, engine/jit/README.md). Nothing else enters the head (its
 * back edge is its only jump, window_at), so the block's frame offsets
 * carry through every round and each access is placed as one through r10
 * (address), inside the frame as count_units proved; the budget is paid
 * on the way in as for any counted loop. The back edge emits nothing:
 * where it is reached the counter is past the bound.
 */
static uint32_t unroll(struct hu_jit *j, uint32_t h)
{
    uint32_t e = window_end(j, h), r, pc;
    uint32_t rounds = j->win_units[WIN_SLOT(j->lead[h])] / (e - h + 1);

    j->unrolling = 1;
    for ( r = 0; r < rounds; r++ )
        for ( pc = h; pc < e; pc++ )
        {
            if ( r == 0 && !j->mute )
                j->cur[pc] = j->len;
            translate(j, pc);
        }
    j->unrolling = 0;
    if ( !j->mute )
        j->cur[e] = j->len;
    return e + 1;
}

/* Translates the slot at pc, or the unrolled loop there; returns the
 * next slot. */
static uint32_t next_slot(struct hu_jit *j, uint32_t pc)
{
    if ( j->lead[pc] & WIN_UNROLL )
        return unroll(j, pc);
    return pc + translate(j, pc);
}

/* ------------------------------------------------------------------ */
/* Shared code. */

static void prologue(struct hu_jit *j)
{
    static const uint8_t saved[] = { RBP, RBX, R12, R13, R14, R15 };
    static const uint8_t zeroed[] = { RAX, R8, R9, RBX, R13, R14, R15 };
    unsigned int i;

    /* endbr64: the one indirect entry */
    x86_byte(j, 0xf3);
    x86_byte(j, 0x0f);
    x86_byte(j, 0x1e);
    x86_byte(j, 0xfa);
    for ( i = 0; i < sizeof(saved); i++ )
        x86_push(j, saved[i]);
    x86_mov_rr(j, 1, FRAME, RDI);
    /* r1-r3 arrive in rsi, rdx, rcx; r0 and r4-r9 start at zero */
    for ( i = 0; i < sizeof(zeroed); i++ )
        x86_alu_rr(j, 0, ALU_XOR, zeroed[i], zeroed[i]);
    x86_load64(j, RBP, FRAME, HU_JIT_OFF(fp_top));
    x86_load64(j, LEFT, FRAME, HU_JIT_OFF(budget));
    /* 6 pushes and this keep the body at rsp = 8 mod 16, so a helper
     * call site that pushes r11 calls with the stack aligned */
    x86_alu_ri(j, 1, ALU_SUB, RSP, 8);
    x86_call(j, pos_pc(j, 0));
    x86_alu_ri(j, 1, ALU_ADD, RSP, 8);
    x86_store64(j, FRAME, HU_JIT_OFF(budget), LEFT);
    for ( i = sizeof(saved); i-- > 0; )
        x86_pop(j, saved[i]);
    ret(j);
}

static void tails(struct hu_jit *j)
{
    unsigned int e;

    for ( e = 0; e < HU_JIT_NTAIL; e++ )
    {
        j->lc.tail[e] = j->len;
        if ( e )
            x86_store32_i(j, FRAME, HU_JIT_OFF(err),
                          e == TAIL_STOPPED ? HU_JIT_STOPPED : e);
        ret(j);
    }
    /* An error inside a local call: drop the call's saved registers and
     * return from this function as well. */
    j->lc.unwind = j->len;
    x86_alu_ri(j, 1, ALU_ADD, RSP, CALL_SAVE);
    ret(j);
}

/* Scans regions [from, end) for r10 with size class k; jumps to `found`
 * (rel8, patched) with CF set when one holds it. Uses r11 and rdi. */
static uint32_t scan(struct hu_jit *j, unsigned int k, int32_t end_off,
                     uint32_t *found)
{
    uint32_t loop = j->len, out;

    x86_rm(j, X_W, 0x3b, LEFT, FRAME, end_off); /* cmp r11, [end] */
    out = x86_jcc8_fwd(j, CC_AE);
    x86_mov_rr(j, 1, TMP, AX);
    x86_rm(j, X_W, 0x2b, TMP, LEFT, 0); /* sub rdi, [r11].base */
    x86_rm(j, X_W, 0x3b, TMP, LEFT, 8 + 8 * (int32_t)k); /* cmp cnt[k] */
    *found = x86_jcc8_fwd(j, CC_B);
    x86_alu_ri(j, 1, ALU_ADD, LEFT, (int32_t)sizeof(struct hu_jit_region));
    x86_jmp(j, loop, 1);
    return out;
}

/*
 * Region scan for size class k: r10 = address in, r10 = the same address
 * out with CF clear, or CF set and err set (OOB_MEM, or READONLY for a
 * write into a read-only region) and r10 = 0. On the way out of a hit the
 * offset is masked by the comparison itself (cmp; sbb; and), so a
 * mispredicted miss cannot reach past the region.
 */
static void emit_chk(struct hu_jit *j, unsigned int k, int write)
{
    uint32_t hit, miss, ro = 0, oob = 0, done;

    x86_push(j, LEFT);
    if ( write )
        x86_load64(j, LEFT, FRAME, HU_JIT_OFF(wr));
    else
        x86_lea(j, LEFT, FRAME, HU_JIT_OFF(tbl));
    miss = scan(j, k, HU_JIT_OFF(end), &hit);
    x86_here8(j, hit);
    x86_rr(j, X_W, 0x19, AX, AX); /* sbb r10, r10: -1 when inside */
    x86_alu_rr(j, 1, ALU_AND, TMP, AX);
    x86_rm(j, X_W, 0x03, TMP, LEFT, 0); /* add rdi, base */
    x86_mov_rr(j, 1, AX, TMP);
    x86_pop(j, LEFT);
    x86_byte(j, 0xf8); /* clc */
    ret(j);

    x86_here8(j, miss);
    if ( write )
    {
        x86_lea(j, LEFT, FRAME, HU_JIT_OFF(tbl));
        oob = scan(j, k, HU_JIT_OFF(wr), &ro);
        x86_here8(j, ro);
        x86_store32_i(j, FRAME, HU_JIT_OFF(err), HU_RUN_READONLY);
        done = x86_jmp8_fwd(j);
        x86_here8(j, oob);
        x86_store32_i(j, FRAME, HU_JIT_OFF(err), HU_RUN_OOB_MEM);
        x86_here8(j, done);
    }
    else
        x86_store32_i(j, FRAME, HU_JIT_OFF(err), HU_RUN_OOB_MEM);
    x86_alu_rr(j, 0, ALU_XOR, AX, AX);
    x86_pop(j, LEFT);
    x86_byte(j, 0xf9); /* stc */
    ret(j);
}

/*
 * A loop's first instruction starts a 64-byte line: a short loop then
 * sits in one line, which the front end fetches once an iteration
 * (RegionSum in bench/engine: about 1.4x of native aligned, 2x when its
 * 45 bytes straddled two lines). The padding, run once on the way in, is
 * long NOPs. It follows the layout for the first ALIGN_PASSES passes and
 * is then kept (in j->lead), so that from there on code only shrinks and
 * the layout settles as without it.
 */
#define LOOP_ALIGN 64u
#define ALIGN_PASSES 4

static void align_loop(struct hu_jit *j, uint32_t h)
{
    static const uint8_t nop[8][8] = {
        { 0x90 },
        { 0x66, 0x90 },
        { 0x0f, 0x1f, 0x00 },
        { 0x0f, 0x1f, 0x40, 0x00 },
        { 0x0f, 0x1f, 0x44, 0x00, 0x00 },
        { 0x66, 0x0f, 0x1f, 0x44, 0x00, 0x00 },
        { 0x0f, 0x1f, 0x80, 0x00, 0x00, 0x00, 0x00 },
        { 0x0f, 0x1f, 0x84, 0x00, 0x00, 0x00, 0x00, 0x00 },
    };
    uint32_t pad, i;

    if ( j->pass < ALIGN_PASSES && j->out == NULL )
    {
        pad = (0u - j->len) & (LOOP_ALIGN - 1);
        /* The slots may stay where they were while a padding changes:
         * the jumps before it were sized with the old one (slot_end). */
        if ( pad != PAD(j->lead[h]) )
            j->pads_moved = 1;
        j->lead[h] = (j->lead[h] & ~(63u << PAD_SHIFT)) | (pad << PAD_SHIFT);
    }
    for ( pad = PAD(j->lead[h]); pad > 0; pad -= i + 1 )
    {
        uint32_t b;

        i = pad > 8 ? 7 : pad - 1;
        for ( b = 0; b <= i; b++ )
            x86_byte(j, nop[i][b]);
    }
}

/* ------------------------------------------------------------------ */
/* Passes. */

static void one_pass(struct hu_jit *j)
{
    uint32_t pc, k;

    j->len = 0;
    j->pads_moved = 0;
    j->cold_next = 0;
    j->rng = j->o.seed;
    j->mute = 0;
    j->fp_known = 0;
    j->k_known = 0;
    j->fused = 0;
    j->merged = 0;
    j->unrolling = 0;
    j->counted = 0;
    j->unrolled = 0;
    prologue(j);
    for ( pc = 0; pc < j->n; )
    {
        uint32_t gap = j->len;

        if ( (j->lead[pc] & WIN_HEAD) && window_opens(j, pc) )
            j->lead[pc] |= WIN_INLINE;
        else
            j->lead[pc] &= ~WIN_INLINE;
        j->lead[pc] &= ~(WIN_COUNT | WIN_UNROLL);
        if ( j->lead[pc] & WIN_INLINE )
        {
            uint32_t units = count_units(j, pc);

            if ( units )
            {
                j->lead[pc] |= WIN_COUNT;
                j->win_units[WIN_SLOT(j->lead[pc])] = units;
                j->counted++;
            }
            if ( units && units <= UNROLL_MAX_UNITS )
            {
                j->lead[pc] |= WIN_UNROLL;
                j->unrolled++;
            }
        }
        gap_code(j, pc);
        /* Unrolled, it is no loop: the decision and so its padding (none)
         * are the same in every pass. */
        if ( (j->lead[pc] & LOOP_HEAD) && !(j->lead[pc] & WIN_UNROLL) )
            align_loop(j, pc);
        /* The jumps before pc were sized with this (slot_end). */
        if ( j->len - gap != gap_before(j, pc) )
            j->err = HU_JIT_E_INTERNAL;
        j->cur[pc] = j->len;
        pc = next_slot(j, pc);
    }
    gap_code(j, j->n);
    j->cur[j->n] = j->len;
    fail_here(j, j->n, HU_RUN_FELL_OFF);
    tails(j);
    for ( k = 0; k < 8; k++ )
    {
        j->lc.chk[k] = j->len;
        if ( j->uses & (1u << k) )
            emit_chk(j, k / 2, k & 1);
    }
    /* The stubs: translate again with the body muted. */
    j->lc.cold = j->len;
    j->cold_next = 0;
    j->mute = 1;
    j->fp_known = 0;
    j->k_known = 0;
    j->fused = 0;
    j->merged = 0;
    for ( pc = 0; pc < j->n; )
    {
        gap_code(j, pc); /* its stubs, in the body's order */
        pc = next_slot(j, pc);
    }
    gap_code(j, j->n);
    j->mute = 0;
    j->lc.end = j->len;
}

static int same_layout(const struct hu_jit *j)
{
    uint32_t pc;
    unsigned int i;

    for ( pc = 0; pc <= j->n; pc++ )
        if ( j->prev[pc] != j->cur[pc] )
            return 0;
    for ( i = 0; i < HU_JIT_NTAIL; i++ )
        if ( j->lp.tail[i] != j->lc.tail[i] )
            return 0;
    for ( i = 0; i < 8; i++ )
        if ( j->lp.chk[i] != j->lc.chk[i] )
            return 0;
    return j->lp.unwind == j->lc.unwind && j->lp.cold == j->lc.cold &&
           j->lp.end == j->lc.end;
}

int hu_jit_plan(struct hu_jit *j, const struct hu_insn *insns, uint32_t n,
                const struct hu_jit_opts *o, uint32_t *scratch)
{
    if ( insns == NULL || n == 0 || n > (1u << 20) || o == NULL ||
         scratch == NULL || (o->nhelpers != 0 && o->helpers == NULL) )
        return HU_JIT_E_CONFIG;
    j->insns = insns;
    j->n = n;
    j->o = *o;
    j->prev = scratch;
    j->cur = scratch + n + 1;
    j->resume = scratch + 2 * (n + 1);
    j->lead = scratch + 3 * (n + 1);
    j->stk = scratch + 4 * (n + 1);
    j->out = NULL;
    j->cap = 0;
    j->rx = 0;
    j->uses = 0;
    j->err = 0;
    j->size = 0;
    find_leads(j);
    find_stack_pointers(j);
    find_windows(j);
    for ( j->pass = 0; j->pass < MAX_PASSES; j->pass++ )
    {
        uint32_t *t;

        one_pass(j);
        if ( j->err )
            return j->err;
        if ( j->pass > 0 && !j->pads_moved && same_layout(j) )
        {
            j->size = j->len;
            return HU_JIT_OK;
        }
        t = j->prev;
        j->prev = j->cur;
        j->cur = t;
        j->lp = j->lc;
    }
    return HU_JIT_E_INTERNAL;
}

int hu_jit_emit(struct hu_jit *j, uint8_t *rw, uint64_t rx,
                struct hu_jit_image *img)
{
    if ( j->size == 0 || rw == NULL || img == NULL )
        return HU_JIT_E_CONFIG;
    j->out = rw;
    j->cap = j->size;
    j->rx = rx;
    j->err = 0;
    one_pass(j);
    j->out = NULL;
    if ( j->err )
        return j->err;
    if ( j->len != j->size || !same_layout(j) )
        return HU_JIT_E_INTERNAL;
    img->entry = (const void *)(uintptr_t)rx;
    img->size = j->size;
    img->needs_regions = j->uses != 0;
    img->counted_loops = j->counted;
    img->unrolled_loops = j->unrolled;
    img->helpers = j->o.helpers;
    img->nhelpers = j->o.nhelpers;
    return HU_JIT_OK;
}

const char *hu_jit_strerror(int err)
{
    switch ( err )
    {
    case HU_JIT_OK:
        return "ok";
    case HU_JIT_E_CONFIG:
        return "bad translation request";
    case HU_JIT_E_SIZE:
        return "image larger than its buffer";
    case HU_JIT_E_RANGE:
        return "helper or return thunk out of reach of rel32";
    case HU_JIT_E_INTERNAL:
        return "layout did not settle";
    default:
        return "unknown error";
    }
}
