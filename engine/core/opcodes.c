/* SPDX-License-Identifier: MIT */
/*
 * The opcode table: which of the 256 opcodes exist in RFC 9669 as this
 * engine implements it, and what each field may hold. Data, not code, so the
 * interpreter, the decoder and the verifier cannot disagree.
 *
 * Left out on purpose: legacy packet access (LD ABS/IND), BTF calls
 * (src = 2), JMP32 CALL/EXIT, NEG and END with a register source.
 */
#include "hyperupcall/opcodes.h"

#ifndef NULL
#define NULL ((void *)0)
#endif

#define V HU_OPF_VALID

/* ALU and ALU64 with an immediate or register source. */
#define ALU_K(cls, op, offr)                                              \
    [(cls) | (op) | HU_SRC_K] = { 10, V | HU_OPF_DST_W | HU_OPF_DST_R,      \
                                  HU_SRC_RULE_ZERO, offr, HU_IMM_RULE_ANY, 0 }
#define ALU_X(cls, op, offr)                                              \
    [(cls) | (op) | HU_SRC_X] = { 10, V | HU_OPF_DST_W | HU_OPF_DST_R,      \
                                  HU_SRC_RULE_REG, offr, HU_IMM_RULE_ZERO, 0 }
#define ALU_KX(cls, op, offr) ALU_K(cls, op, offr), ALU_X(cls, op, offr)
#define ALU_BOTH(op, offr) ALU_KX(HU_CLS_ALU, op, offr), \
                           ALU_KX(HU_CLS_ALU64, op, offr)

/* Conditional jumps, JMP and JMP32. */
#define JCC_K(cls, op)                                                    \
    [(cls) | (op) | HU_SRC_K] = { 11, V | HU_OPF_DST_R | HU_OPF_JUMP,      \
                                  HU_SRC_RULE_ZERO, HU_OFF_RULE_ANY,       \
                                  HU_IMM_RULE_ANY, 0 }
#define JCC_X(cls, op)                                                    \
    [(cls) | (op) | HU_SRC_X] = { 11, V | HU_OPF_DST_R | HU_OPF_JUMP,      \
                                  HU_SRC_RULE_REG, HU_OFF_RULE_ANY,        \
                                  HU_IMM_RULE_ZERO, 0 }
#define JCC(op) JCC_K(HU_CLS_JMP, op), JCC_X(HU_CLS_JMP, op), \
                JCC_K(HU_CLS_JMP32, op), JCC_X(HU_CLS_JMP32, op)

/* Loads and stores, by size. */
#define LDX(mode, sz, n)                                                  \
    [HU_CLS_LDX | (mode) | (sz)] = { 10, V | HU_OPF_DST_W | HU_OPF_LOAD,    \
                                     HU_SRC_RULE_REG, HU_OFF_RULE_ANY,     \
                                     HU_IMM_RULE_ZERO, n }
#define ST(sz, n)                                                         \
    [HU_CLS_ST | HU_MODE_MEM | (sz)] = { 11, V | HU_OPF_DST_R | HU_OPF_STORE,\
                                         HU_SRC_RULE_ZERO, HU_OFF_RULE_ANY,\
                                         HU_IMM_RULE_ANY, n }
#define STX(sz, n)                                                        \
    [HU_CLS_STX | HU_MODE_MEM | (sz)] = { 11, V | HU_OPF_DST_R | HU_OPF_STORE,\
                                          HU_SRC_RULE_REG, HU_OFF_RULE_ANY,\
                                          HU_IMM_RULE_ZERO, n }
#define ATOMIC(sz, n)                                                     \
    [HU_CLS_STX | HU_MODE_ATOMIC | (sz)] = { 11, V | HU_OPF_DST_R |        \
                                             HU_OPF_LOAD | HU_OPF_STORE,   \
                                             HU_SRC_RULE_REG,              \
                                             HU_OFF_RULE_ANY,              \
                                             HU_IMM_RULE_ATOMIC, n }

const struct hu_opcode_info hu_opcodes[256] = {
    /* Every opcode not listed is all zero: invalid. */
    ALU_BOTH(HU_ALU_ADD, HU_OFF_RULE_ZERO),
    ALU_BOTH(HU_ALU_SUB, HU_OFF_RULE_ZERO),
    ALU_BOTH(HU_ALU_MUL, HU_OFF_RULE_ZERO),
    ALU_BOTH(HU_ALU_DIV, HU_OFF_RULE_SIGNED),
    ALU_BOTH(HU_ALU_OR, HU_OFF_RULE_ZERO),
    ALU_BOTH(HU_ALU_AND, HU_OFF_RULE_ZERO),
    ALU_BOTH(HU_ALU_LSH, HU_OFF_RULE_ZERO),
    ALU_BOTH(HU_ALU_RSH, HU_OFF_RULE_ZERO),
    ALU_BOTH(HU_ALU_MOD, HU_OFF_RULE_SIGNED),
    ALU_BOTH(HU_ALU_XOR, HU_OFF_RULE_ZERO),
    ALU_BOTH(HU_ALU_ARSH, HU_OFF_RULE_ZERO),
    ALU_K(HU_CLS_ALU, HU_ALU_MOV, HU_OFF_RULE_ZERO),
    ALU_X(HU_CLS_ALU, HU_ALU_MOV, HU_OFF_RULE_MOVSX32),
    ALU_K(HU_CLS_ALU64, HU_ALU_MOV, HU_OFF_RULE_ZERO),
    ALU_X(HU_CLS_ALU64, HU_ALU_MOV, HU_OFF_RULE_MOVSX64),

    /* NEG: immediate form only, and imm is reserved. */
    [HU_CLS_ALU | HU_ALU_NEG | HU_SRC_K] = {
        10, V | HU_OPF_DST_W | HU_OPF_DST_R, HU_SRC_RULE_ZERO,
        HU_OFF_RULE_ZERO, HU_IMM_RULE_ZERO, 0 },
    [HU_CLS_ALU64 | HU_ALU_NEG | HU_SRC_K] = {
        10, V | HU_OPF_DST_W | HU_OPF_DST_R, HU_SRC_RULE_ZERO,
        HU_OFF_RULE_ZERO, HU_IMM_RULE_ZERO, 0 },

    /* END: to little endian, to big endian, and ALU64 unconditional swap. */
    [HU_CLS_ALU | HU_ALU_END | HU_SRC_K] = {
        10, V | HU_OPF_DST_W | HU_OPF_DST_R, HU_SRC_RULE_ZERO,
        HU_OFF_RULE_ZERO, HU_IMM_RULE_END, 0 },
    [HU_CLS_ALU | HU_ALU_END | HU_SRC_X] = {
        10, V | HU_OPF_DST_W | HU_OPF_DST_R, HU_SRC_RULE_ZERO,
        HU_OFF_RULE_ZERO, HU_IMM_RULE_END, 0 },
    [HU_CLS_ALU64 | HU_ALU_END | HU_SRC_K] = {
        10, V | HU_OPF_DST_W | HU_OPF_DST_R, HU_SRC_RULE_ZERO,
        HU_OFF_RULE_ZERO, HU_IMM_RULE_END, 0 },

    JCC(HU_JMP_JEQ), JCC(HU_JMP_JGT), JCC(HU_JMP_JGE), JCC(HU_JMP_JSET),
    JCC(HU_JMP_JNE), JCC(HU_JMP_JSGT), JCC(HU_JMP_JSGE), JCC(HU_JMP_JLT),
    JCC(HU_JMP_JLE), JCC(HU_JMP_JSLT), JCC(HU_JMP_JSLE),

    /* ja: offset in off; gotol (JMP32 ja): offset in imm. */
    [HU_CLS_JMP | HU_JMP_JA] = {
        1, V | HU_OPF_JUMP, HU_SRC_RULE_ZERO, HU_OFF_RULE_ANY,
        HU_IMM_RULE_ZERO, 0 },
    [HU_CLS_JMP32 | HU_JMP_JA] = {
        1, V | HU_OPF_JUMP, HU_SRC_RULE_ZERO, HU_OFF_RULE_ZERO,
        HU_IMM_RULE_ANY, 0 },

    /* call helper / call local; callx takes the helper id from dst. */
    [HU_CLS_JMP | HU_JMP_CALL | HU_SRC_K] = {
        1, V, HU_SRC_RULE_CALL, HU_OFF_RULE_ZERO, HU_IMM_RULE_ANY, 0 },
    [HU_CLS_JMP | HU_JMP_CALL | HU_SRC_X] = {
        11, V | HU_OPF_DST_R, HU_SRC_RULE_ZERO, HU_OFF_RULE_ZERO,
        HU_IMM_RULE_CALLX, 0 },
    [HU_CLS_JMP | HU_JMP_EXIT] = {
        1, V, HU_SRC_RULE_ZERO, HU_OFF_RULE_ZERO, HU_IMM_RULE_ZERO, 0 },

    [HU_CLS_LD | HU_MODE_IMM | HU_SIZE_DW] = {
        10, V | HU_OPF_DST_W | HU_OPF_LDDW, HU_SRC_RULE_PSEUDO,
        HU_OFF_RULE_ZERO, HU_IMM_RULE_ANY, 0 },

    LDX(HU_MODE_MEM, HU_SIZE_B, 1), LDX(HU_MODE_MEM, HU_SIZE_H, 2),
    LDX(HU_MODE_MEM, HU_SIZE_W, 4), LDX(HU_MODE_MEM, HU_SIZE_DW, 8),
    LDX(HU_MODE_MEMSX, HU_SIZE_B, 1), LDX(HU_MODE_MEMSX, HU_SIZE_H, 2),
    LDX(HU_MODE_MEMSX, HU_SIZE_W, 4),
    ST(HU_SIZE_B, 1), ST(HU_SIZE_H, 2), ST(HU_SIZE_W, 4), ST(HU_SIZE_DW, 8),
    STX(HU_SIZE_B, 1), STX(HU_SIZE_H, 2), STX(HU_SIZE_W, 4),
    STX(HU_SIZE_DW, 8),
    ATOMIC(HU_SIZE_W, 4), ATOMIC(HU_SIZE_DW, 8),
};

int hu_atomic_op_valid(int32_t imm)
{
    switch ( imm )
    {
    case HU_ATOMIC_ADD:
    case HU_ATOMIC_OR:
    case HU_ATOMIC_AND:
    case HU_ATOMIC_XOR:
    case HU_ATOMIC_ADD | HU_ATOMIC_FETCH:
    case HU_ATOMIC_OR | HU_ATOMIC_FETCH:
    case HU_ATOMIC_AND | HU_ATOMIC_FETCH:
    case HU_ATOMIC_XOR | HU_ATOMIC_FETCH:
    case HU_ATOMIC_XCHG:
    case HU_ATOMIC_CMPXCHG:
        return 1;
    default:
        return 0;
    }
}

static int src_ok(const struct hu_opcode_info *info, const struct hu_insn *insn)
{
    switch ( info->src )
    {
    case HU_SRC_RULE_REG:
        return insn->src <= HU_REG_FP;
    case HU_SRC_RULE_CALL:
        return insn->src == HU_CALL_HELPER || insn->src == HU_CALL_LOCAL;
    case HU_SRC_RULE_PSEUDO:
        return insn->src == HU_PSEUDO_NONE || insn->src == HU_PSEUDO_MAP_IDX ||
               insn->src == HU_PSEUDO_MAP_IDX_VALUE;
    default:
        return insn->src == 0;
    }
}

static int off_ok(const struct hu_opcode_info *info, const struct hu_insn *insn)
{
    switch ( info->off )
    {
    case HU_OFF_RULE_ANY:
        return 1;
    case HU_OFF_RULE_SIGNED:
        return insn->off == 0 || insn->off == 1;
    case HU_OFF_RULE_MOVSX32:
        return insn->off == 0 || insn->off == 8 || insn->off == 16;
    case HU_OFF_RULE_MOVSX64:
        return insn->off == 0 || insn->off == 8 || insn->off == 16 ||
               insn->off == 32;
    default:
        return insn->off == 0;
    }
}

static int imm_ok(const struct hu_opcode_info *info, const struct hu_insn *insn)
{
    switch ( info->imm )
    {
    case HU_IMM_RULE_ANY:
        return 1;
    case HU_IMM_RULE_END:
        return insn->imm == 16 || insn->imm == 32 || insn->imm == 64;
    case HU_IMM_RULE_ATOMIC:
        return hu_atomic_op_valid(insn->imm);
    case HU_IMM_RULE_CALLX:
        return insn->imm == 0 ||
               (insn->dst == 0 && insn->imm >= 1 && insn->imm <= HU_REG_FP);
    default:
        return insn->imm == 0;
    }
}

enum hu_insn_fault hu_insn_validate(const struct hu_insn *insn,
                                    const struct hu_insn *next)
{
    const struct hu_opcode_info *info = &hu_opcodes[insn->code];

    if ( !(info->flags & HU_OPF_VALID) )
        return HU_INSN_BAD_OPCODE;
    if ( insn->dst >= info->dst_end )
        return HU_INSN_BAD_DST;
    if ( !src_ok(info, insn) )
        return HU_INSN_BAD_SRC;
    /* Atomics with fetch write src (cmpxchg writes r0): r10 stays fixed. */
    if ( info->imm == HU_IMM_RULE_ATOMIC && (insn->imm & HU_ATOMIC_FETCH) &&
         insn->imm != HU_ATOMIC_CMPXCHG && insn->src == HU_REG_FP )
        return HU_INSN_BAD_SRC;
    if ( !off_ok(info, insn) )
        return HU_INSN_BAD_OFF;
    if ( !imm_ok(info, insn) )
        return HU_INSN_BAD_IMM;
    if ( info->flags & HU_OPF_LDDW )
    {
        if ( next == NULL )
            return HU_INSN_LDDW_MISSING;
        if ( next->code != 0 || next->dst != 0 || next->src != 0 ||
             next->off != 0 )
            return HU_INSN_LDDW_BAD_NEXT;
        /* A map reference has no second immediate (map values do). */
        if ( insn->src == HU_PSEUDO_MAP_IDX && next->imm != 0 )
            return HU_INSN_LDDW_BAD_NEXT;
    }
    return HU_INSN_OK;
}

const char *hu_insn_fault_str(enum hu_insn_fault fault)
{
    switch ( fault )
    {
    case HU_INSN_OK:
        return "valid";
    case HU_INSN_BAD_OPCODE:
        return "unknown opcode";
    case HU_INSN_BAD_DST:
        return "dst register out of range or not allowed";
    case HU_INSN_BAD_SRC:
        return "src field out of range or not allowed";
    case HU_INSN_BAD_OFF:
        return "off field not allowed";
    case HU_INSN_BAD_IMM:
        return "imm field not allowed";
    case HU_INSN_LDDW_MISSING:
        return "lddw without its second slot";
    case HU_INSN_LDDW_BAD_NEXT:
        return "lddw second slot has reserved fields set";
    }
    return "unknown fault";
}
