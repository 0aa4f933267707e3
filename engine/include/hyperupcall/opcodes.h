/* SPDX-License-Identifier: MIT */
/*
 * Per-opcode validity table (uBPF style: data, not code) and the structural
 * check of one instruction built on it. Freestanding C, shared by the
 * interpreter (compiled into Xen), the C++ decoder/assembler and the fuzzers,
 * so every component agrees on which encodings exist.
 */
#ifndef HYPERUPCALL_OPCODES_H
#define HYPERUPCALL_OPCODES_H

#include "ebpf.h"

#ifdef __cplusplus
extern "C" {
#endif

/* What a field may hold, per opcode. */
enum hu_src_rule {
    HU_SRC_RULE_ZERO = 0,   /* reserved, must be 0 */
    HU_SRC_RULE_REG = 1,    /* register read, 0..10 */
    HU_SRC_RULE_CALL = 2,   /* HU_CALL_HELPER or HU_CALL_LOCAL */
    HU_SRC_RULE_PSEUDO = 3  /* lddw: HU_PSEUDO_NONE, _MAP_IDX, _MAP_IDX_VALUE */
};

enum hu_off_rule {
    HU_OFF_RULE_ZERO = 0,   /* reserved, must be 0 */
    HU_OFF_RULE_ANY = 1,    /* memory offset or jump offset */
    HU_OFF_RULE_SIGNED = 2, /* DIV/MOD: 0 unsigned, 1 signed */
    HU_OFF_RULE_MOVSX32 = 3,/* ALU MOV X: 0, 8, 16 */
    HU_OFF_RULE_MOVSX64 = 4 /* ALU64 MOV X: 0, 8, 16, 32 */
};

enum hu_imm_rule {
    HU_IMM_RULE_ZERO = 0,   /* reserved, must be 0 */
    HU_IMM_RULE_ANY = 1,
    HU_IMM_RULE_END = 2,    /* 16, 32 or 64 */
    HU_IMM_RULE_ATOMIC = 3, /* HU_ATOMIC_* operation */
    HU_IMM_RULE_CALLX = 4   /* 0, or legacy: register 1..10 when dst is 0 */
};

/* Flags of an opcode. */
#define HU_OPF_VALID 0x01   /* the engine accepts this opcode */
#define HU_OPF_DST_W 0x02   /* dst is written (so r10 is not allowed) */
#define HU_OPF_DST_R 0x04   /* dst is read (value or pointer) */
#define HU_OPF_JUMP 0x08    /* off (JMP) or imm (JMP32 JA) is a jump offset */
#define HU_OPF_LOAD 0x10    /* reads memory at src + off */
#define HU_OPF_STORE 0x20   /* writes memory at dst + off */
#define HU_OPF_LDDW 0x40    /* two slots */

struct hu_opcode_info {
    /*
     * One past the highest dst register accepted: 0 for an invalid opcode
     * (so an all-zero entry is invalid), 10 when dst is written (r10 is
     * read-only), 11 when it is only read, 1 when reserved. The
     * interpreter's one table check per instruction is `dst >= dst_end`.
     */
    uint8_t dst_end;
    uint8_t flags;   /* HU_OPF_* */
    uint8_t src;     /* enum hu_src_rule */
    uint8_t off;     /* enum hu_off_rule */
    uint8_t imm;     /* enum hu_imm_rule */
    uint8_t size;    /* bytes accessed in memory, 0 if none */
};

extern const struct hu_opcode_info hu_opcodes[256];

/* Why an instruction is structurally invalid. */
enum hu_insn_fault {
    HU_INSN_OK = 0,
    HU_INSN_BAD_OPCODE = 1,     /* no such opcode */
    HU_INSN_BAD_DST = 2,        /* dst out of range, r10 written, or reserved */
    HU_INSN_BAD_SRC = 3,        /* src out of range or reserved */
    HU_INSN_BAD_OFF = 4,        /* off not allowed for this opcode */
    HU_INSN_BAD_IMM = 5,        /* imm not allowed for this opcode */
    HU_INSN_LDDW_MISSING = 6,   /* lddw is the last slot */
    HU_INSN_LDDW_BAD_NEXT = 7   /* lddw second slot: code/dst/src/off set,
                                 * or imm set after a map reference */
};

/*
 * Structural validity of one slot, independent of data flow. `next` is the
 * slot after it (NULL at the end of the program); only lddw looks at it.
 */
enum hu_insn_fault hu_insn_validate(const struct hu_insn *insn,
                                    const struct hu_insn *next);

/* Whether imm names an atomic operation (HU_ATOMIC_*, with or without
 * fetch where that exists). */
int hu_atomic_op_valid(int32_t imm);

/* Static text for a fault, e.g. "reserved off field is not 0". */
const char *hu_insn_fault_str(enum hu_insn_fault fault);

#ifdef __cplusplus
}
#endif

#endif /* HYPERUPCALL_OPCODES_H */
