/* SPDX-License-Identifier: MIT */
/*
 * The eBPF interpreter: freestanding C, no libc, no allocation, no writable
 * globals. The same source is compiled into user space (sim backend, tests)
 * and into the Xen hypervisor, so it trusts nothing: even though the
 * verifier ran first, every run is bounded by an instruction budget, every
 * load and store is checked against the stack and the registered memory
 * regions, and every helper id against the helper table.
 */
#ifndef HYPERUPCALL_INTERP_H
#define HYPERUPCALL_INTERP_H

#include "ebpf.h"

#ifdef __cplusplus
extern "C" {
#endif

enum hu_run_err {
	HU_RUN_OK = 0,
	HU_RUN_BUDGET = 1, /* instruction budget exhausted */
	HU_RUN_BAD_INSN = 2, /* opcode or field the engine does not accept */
	HU_RUN_OOB_STACK = 3, /* stack access outside the current frame area */
	HU_RUN_OOB_MEM = 4, /* load/store outside the stack and every region */
	HU_RUN_READONLY = 5, /* store to a read-only region */
	HU_RUN_UNKNOWN_HELPER = 6, /* call of a helper id with no entry */
	HU_RUN_CALL_DEPTH = 7, /* more than HU_MAX_CALL_DEPTH frames */
	HU_RUN_BAD_JUMP = 8, /* jump or call target outside the program */
	HU_RUN_FELL_OFF = 9, /* ran past the last instruction */
	HU_RUN_BAD_CONFIG = 10, /* stack too small, no program, ... */
	HU_RUN_MISALIGNED = 11 /* atomic access not naturally aligned */
};

/* Memory a program may touch besides its stack (context, map values...). */
struct hu_mem_region {
	uint64_t base;
	uint64_t len;
	uint32_t writable;
	uint32_t pad;
};

struct hu_run;

/*
 * A helper gets the run (for run->env, hu_interp_check and run->stop) and
 * r1..r5; its return value goes to r0. Helpers that take pointers must
 * check them with hu_interp_check before touching them.
 */
typedef uint64_t (*hu_helper_fn)(struct hu_run *run, uint64_t r1,
				 uint64_t r2, uint64_t r3, uint64_t r4,
				 uint64_t r5);

struct hu_run {
	/* In: set by the caller. */
	const struct hu_insn *insns;
	uint32_t ninsns;
	uint32_t nhelpers; /* helpers[id] for id < nhelpers; NULL = none */
	const hu_helper_fn *helpers;
	void *env; /* for the helpers */
	const struct hu_mem_region *regions;
	uint32_t nregions;
	uint32_t stack_size; /* >= HU_STACK_FRAME * HU_MAX_CALL_DEPTH */
	uint8_t *stack; /* caller-provided (per-CPU buffer in Xen) */
	uint64_t budget; /* instructions; 0 = none allowed */

	/* Out: set by the run. */
	uint64_t r0; /* program result (valid when err == HU_RUN_OK) */
	uint64_t executed; /* instructions executed */
	uint32_t err_pc; /* instruction index of the error */
	int err; /* enum hu_run_err */

	/* Set by a helper to end the run now, with r0 = its return value. */
	int stop;
};

/* Runs the program with r1..r3 as given; returns run->err. */
int hu_interp_run(struct hu_run *run, uint64_t r1, uint64_t r2, uint64_t r3);

/*
 * Checks that [addr, addr + len) lies inside the current run's stack or one
 * region (writable if `write`). For helpers, which receive raw pointers.
 * Returns HU_RUN_OK (0) when the access is allowed, else HU_RUN_OOB_MEM or
 * HU_RUN_READONLY: test it as `if (hu_interp_check(...) != HU_RUN_OK)`.
 * len 0 is always allowed (nothing is touched).
 */
int hu_interp_check(const struct hu_run *run, uint64_t addr, uint64_t len,
		    int write);

/* Static name of an error code, e.g. "instruction budget exhausted". */
const char *hu_run_strerror(int err);

#ifdef __cplusplus
}
#endif

#endif /* HYPERUPCALL_INTERP_H */
