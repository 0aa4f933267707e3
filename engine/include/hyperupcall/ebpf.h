/* SPDX-License-Identifier: MIT */
/*
 * eBPF instruction set constants (RFC 9669).
 *
 * Freestanding C: this header is compiled into the Xen hypervisor as well as
 * into user space, so it includes nothing but <stdint.h> equivalents that the
 * includer provides (Xen has its own types.h).
 */
#ifndef HYPERUPCALL_EBPF_H
#define HYPERUPCALL_EBPF_H

#ifdef __XEN__
#include <xen/types.h>
#else
#include <stdint.h>
#endif

/* Instruction classes: the low three bits of the opcode. */
#define HU_CLS_MASK 0x07
#define HU_CLS_LD 0x00
#define HU_CLS_LDX 0x01
#define HU_CLS_ST 0x02
#define HU_CLS_STX 0x03
#define HU_CLS_ALU 0x04
#define HU_CLS_JMP 0x05
#define HU_CLS_JMP32 0x06
#define HU_CLS_ALU64 0x07

/* Arithmetic and jump instructions: source bit and operation. */
#define HU_SRC_MASK 0x08
#define HU_SRC_K 0x00 /* immediate */
#define HU_SRC_X 0x08 /* register (or "to big endian" for END) */
#define HU_OP_MASK 0xf0

#define HU_ALU_ADD 0x00
#define HU_ALU_SUB 0x10
#define HU_ALU_MUL 0x20
#define HU_ALU_DIV 0x30 /* off = 1: SDIV */
#define HU_ALU_OR 0x40
#define HU_ALU_AND 0x50
#define HU_ALU_LSH 0x60
#define HU_ALU_RSH 0x70
#define HU_ALU_NEG 0x80
#define HU_ALU_MOD 0x90 /* off = 1: SMOD */
#define HU_ALU_XOR 0xa0
#define HU_ALU_MOV 0xb0 /* off = 8, 16, 32: MOVSX */
#define HU_ALU_ARSH 0xc0
#define HU_ALU_END 0xd0 /* ALU: TO_LE (K) / TO_BE (X); ALU64 K: BSWAP */

#define HU_JMP_JA 0x00 /* JMP: off; JMP32: imm (gotol) */
#define HU_JMP_JEQ 0x10
#define HU_JMP_JGT 0x20
#define HU_JMP_JGE 0x30
#define HU_JMP_JSET 0x40
#define HU_JMP_JNE 0x50
#define HU_JMP_JSGT 0x60
#define HU_JMP_JSGE 0x70
#define HU_JMP_CALL 0x80
#define HU_JMP_EXIT 0x90
#define HU_JMP_JLT 0xa0
#define HU_JMP_JLE 0xb0
#define HU_JMP_JSLT 0xc0
#define HU_JMP_JSLE 0xd0

/* CALL source register values. */
#define HU_CALL_HELPER 0 /* imm = helper id */
#define HU_CALL_LOCAL 1 /* imm = pc-relative offset of the callee */
#define HU_CALL_BTF 2 /* imm = BTF id; unsupported, rejected */

/* Load and store instructions: mode and size. */
#define HU_MODE_MASK 0xe0
#define HU_MODE_IMM 0x00 /* LD only: lddw, 64-bit immediate */
#define HU_MODE_ABS 0x20 /* legacy packet access; unsupported */
#define HU_MODE_IND 0x40 /* legacy packet access; unsupported */
#define HU_MODE_MEM 0x60
#define HU_MODE_MEMSX 0x80 /* LDX only: sign-extending load */
#define HU_MODE_ATOMIC 0xc0 /* STX only */

#define HU_SIZE_MASK 0x18
#define HU_SIZE_W 0x00
#define HU_SIZE_H 0x08
#define HU_SIZE_B 0x10
#define HU_SIZE_DW 0x18

/* Atomic operations, in imm of an ATOMIC STX. */
#define HU_ATOMIC_ADD 0x00
#define HU_ATOMIC_OR 0x40
#define HU_ATOMIC_AND 0x50
#define HU_ATOMIC_XOR 0xa0
#define HU_ATOMIC_FETCH 0x01
#define HU_ATOMIC_XCHG (0xe0 | HU_ATOMIC_FETCH)
#define HU_ATOMIC_CMPXCHG (0xf0 | HU_ATOMIC_FETCH)

/* lddw src values (RFC 9669 section 5.4). */
#define HU_PSEUDO_NONE 0 /* imm64 is the value */
#define HU_PSEUDO_MAP_IDX 1 /* imm = map index: pointer to the map */
#define HU_PSEUDO_MAP_IDX_VALUE 5 /* imm = map index, next imm = offset */

#define HU_NREGS 11 /* r0..r10; r10 is the read-only frame pointer */
#define HU_REG_FP 10
#define HU_STACK_FRAME 512 /* bytes of stack per frame */
#define HU_MAX_CALL_DEPTH 8 /* frames, the caller included */

/* One 64-bit instruction slot, little endian, as in the ELF object. */
struct hu_insn {
	uint8_t code;
	uint8_t dst : 4;
	uint8_t src : 4;
	int16_t off;
	int32_t imm;
};

#define HU_CLASS(code) ((code)&HU_CLS_MASK)
#define HU_OP(code) ((code)&HU_OP_MASK)
#define HU_SRC(code) ((code)&HU_SRC_MASK)
#define HU_MODE(code) ((code)&HU_MODE_MASK)
#define HU_SIZE(code) ((code)&HU_SIZE_MASK)

#endif /* HYPERUPCALL_EBPF_H */
