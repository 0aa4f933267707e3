/* SPDX-License-Identifier: MIT */
/*
 * The x86-64 JIT: translates a program into machine code that behaves like
 * hu_interp_run. Freestanding C like the interpreter: the same source is
 * compiled into user space and, through the generated patch, into Xen. It
 * allocates nothing; the host provides scratch memory for the translation
 * and the executable memory for the image (write it through a writable
 * alias, execute it through a mapping that is never writable).
 *
 * Like the interpreter it trusts nothing the verifier proved:
 *  - the budget is charged at every back edge (the length of the loop it
 *    closes; a loop with a window through its window, jit.c budget_shift,
 *    to the same total and the same error at the same pc; a loop whose
 *    rounds it can count, jit.c count_units, all at once on the way in),
 *    every local call (1) and at entry (1), so a run ends after about
 *    `budget` instructions with HU_RUN_BUDGET; run->executed is the budget
 *    consumed, not an exact instruction count. A budget above 2^62 counts
 *    as 2^62. Between two charges the code only runs forward, so no run
 *    executes more than about (budget + 1) x the program's length
 *    instructions;
 *  - an access through r10 is checked when translated (the offset is
 *    constant and r10 cannot be written); any other access is checked at
 *    run time against the stack buffer and every region, and its address is
 *    clamped without a branch so a mispredicted check cannot read elsewhere;
 *  - helper calls are direct `call rel32` to the table given at translation
 *    time; callx compares the id with each known helper (no indirect
 *    branch in the image at all);
 *  - every other error of the interpreter is raised at the same pc.
 * Differences from the interpreter, beyond the budget: r1-r5 hold what the
 * helper left in them after a helper call (the verifier forbids reading
 * them), and run->insns is not read (the image is the program).
 *
 * Hardening: the entry starts with ENDBR64 (the only indirect entry);
 * returns go through the host's return thunk when it names one;
 * with HU_JIT_BLIND every immediate of the program outside [-128, 127] is
 * emitted as `imm ^ r` and `r` (or `imm - r` and `r`), with a fresh r per
 * instruction from a generator keyed by hu_jit_opts.seed (jit.c,
 * small_imm, says why the small ones are not).
 */
#ifndef HYPERUPCALL_JIT_H
#define HYPERUPCALL_JIT_H

#include "interp.h"

#ifdef __cplusplus
extern "C" {
#endif

#define HU_JIT_BLIND 0x1 /* constant blinding */

/* Regions a run may pass (besides the stack buffer). */
#define HU_JIT_MAX_REGIONS 24

enum hu_jit_err {
	HU_JIT_OK = 0,
	HU_JIT_E_CONFIG = -1, /* no program, too large, NULL table */
	HU_JIT_E_SIZE = -2, /* the image does not fit the buffer given */
	HU_JIT_E_RANGE = -3, /* a helper or the return thunk is out of reach */
	HU_JIT_E_INTERNAL = -4 /* the layout did not settle (a bug) */
};

struct hu_jit_opts {
	const hu_helper_fn *helpers; /* bound into the image */
	uint32_t nhelpers;
	uint32_t flags; /* HU_JIT_* */
	uint64_t seed; /* key of the blinding values */
	/*
	 * 0, or the address of the host's return thunk (Xen's
	 * __x86_return_thunk): every return of the image becomes a jmp rel32
	 * to it, as the host's compiled code returns. Like the helpers it must
	 * be within reach of the image (else HU_JIT_E_RANGE).
	 */
	uint64_t ret_thunk;
};

/* Where the shared pieces of the image are, in one translation pass. */
#define HU_JIT_NTAIL 13
struct hu_jit_layout {
	uint32_t tail[HU_JIT_NTAIL]; /* per error code: set it, unwind */
	uint32_t chk[8]; /* region checks: size class x (read, write) */
	uint32_t unwind; /* leave a local call that failed */
	uint32_t cold; /* first error stub */
	uint32_t end;
};

/* Loops whose checks have a window, at most. */
#define HU_JIT_WINDOWS 8

/* Translation state: caller-allocated, opaque. */
struct hu_jit {
	const struct hu_insn *insns;
	uint32_t n;
	struct hu_jit_opts o;
	uint32_t *prev, *cur; /* per pc: offset of its code, last pass and now */
	uint32_t *resume; /* per pc: where a slow region check returns to */
	uint32_t *lead; /* per pc: 1 when a jump or call may enter there */
	/*
	 * Per pc: bit i when r_i holds an address derived from r10 on every
	 * path there (a hint: reads through it compare with the stack first).
	 */
	uint32_t *stk;
	/*
	 * Within a basic block: bit i of fp_known says r_i holds r10 + fp_off[i]
	 * (set by mov from r10, kept by add/sub of constants), so an access
	 * through it is checked at translation like one through r10.
	 */
	uint32_t fp_known;
	int32_t fp_off[HU_NREGS];
	/*
	 * Within a basic block: bit i of k_known says r_i holds k_val[i] (set
	 * by a 64-bit mov of a constant), so a loop entered there may have a
	 * trip count the translator knows.
	 */
	uint32_t k_known;
	int32_t k_val[HU_NREGS];
	/* Per window slot: a counted loop's rounds times its length. */
	uint32_t win_units[HU_JIT_WINDOWS];
	/* pc of a conditional jump that tests the flags the ALU instruction
	 * before it left (0: none; pc 0 cannot be one) */
	uint32_t fused;
	/* pc of a store whose check the load before it made (0: none) */
	uint32_t merged;
	int pads_moved; /* a loop's alignment changed in this pass */
	uint8_t *out; /* NULL while measuring */
	uint32_t len, cap;
	uint64_t rx; /* address the image will run at */
	uint64_t rng;
	uint32_t cold_next; /* where the next stub goes, from lp.cold */
	uint32_t uses; /* region checks referenced (bit per chk[] entry) */
	int pass; /* 0: no layout known yet */
	int mute; /* emit only error stubs (see jit.c) */
	int unrolling; /* translating an unrolled loop's rounds */
	uint32_t counted, unrolled; /* such loops in this pass */
	int err;
	struct hu_jit_layout lp, lc; /* previous pass, this pass */
	uint32_t size; /* image bytes, after hu_jit_plan */
};

/* What a run needs; filled by hu_jit_emit. */
struct hu_jit_image {
	const void *entry; /* in the executable mapping */
	uint32_t size;
	uint32_t needs_regions; /* the image reads the region table */
	/*
	 * Loops whose rounds the translator counted on the way in (no check,
	 * no charge per round), and of those the ones it unrolled: what the
	 * tests and the differential fuzzer see of that choice.
	 */
	uint32_t counted_loops, unrolled_loops;
	const hu_helper_fn *helpers;
	uint32_t nhelpers;
};

/* uint32_t words of scratch hu_jit_plan needs for `ninsns` slots. */
#define HU_JIT_SCRATCH_WORDS(ninsns) (5 * ((uint64_t)(ninsns) + 1))

/*
 * Lays the program out (several passes, until jump sizes settle) and sets
 * j->size. `scratch` must hold HU_JIT_SCRATCH_WORDS(n) words and live
 * until hu_jit_emit. Returns HU_JIT_OK or a negative hu_jit_err.
 */
int hu_jit_plan(struct hu_jit *j, const struct hu_insn *insns, uint32_t n,
		const struct hu_jit_opts *o, uint32_t *scratch);

/*
 * Writes the j->size bytes of code into `rw` for execution at `rx` (the
 * read+execute alias of the same memory); fills `img`. The host then drops
 * the writable alias. Returns HU_JIT_OK or a negative hu_jit_err
 * (HU_JIT_E_RANGE: a helper is more than 2 GiB from `rx`).
 */
int hu_jit_emit(struct hu_jit *j, uint8_t *rw, uint64_t rx,
		struct hu_jit_image *img);

/*
 * Runs the image as hu_interp_run runs the program: same hu_run in and
 * out, same errors. run->helpers must be the table the image was
 * translated with, and run->nregions at most HU_JIT_MAX_REGIONS (else
 * HU_RUN_BAD_CONFIG).
 */
int hu_jit_run(const struct hu_jit_image *img, struct hu_run *run,
	       uint64_t r1, uint64_t r2, uint64_t r3);

/* Static text of a hu_jit_err. */
const char *hu_jit_strerror(int err);

#ifdef __cplusplus
}
#endif

#endif /* HYPERUPCALL_JIT_H */
