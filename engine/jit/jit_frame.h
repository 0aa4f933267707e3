/* SPDX-License-Identifier: MIT */
/*
 * The per-run frame the JIT's code works on, shared by the translator
 * (which emits its field offsets) and hu_jit_run (which fills it in).
 * Generated code keeps its address in r12 for the whole run.
 */
#ifndef HU_JIT_FRAME_H
#define HU_JIT_FRAME_H

#include "hyperupcall/jit.h"

/*
 * One place a non-stack access may go. cnt[k] is how many start offsets
 * leave room for 1 << k bytes (0 when the region is smaller), so "addr is
 * inside" is one unsigned compare: addr - base < cnt[k].
 */
struct hu_jit_region {
    uint64_t base;
    uint64_t cnt[4];
};

/* Internal error code: a helper set run->stop; the run ends with r0. */
#define HU_JIT_STOPPED 0x7fffffff

struct hu_jit_frame {
    /*
     * A copy of the caller's hu_run. Helpers get its address (it is the
     * frame's): they read env, regions and stack from it, hu_interp_check
     * works on it, and run.stop is where generated code looks after each
     * helper call.
     */
    struct hu_run run;
    uint64_t fp_top; /* r10 at entry: stack + stack_size */
    uint64_t budget; /* units left, written back at the end */
    uint32_t err; /* enum hu_run_err, HU_JIT_STOPPED, 0 while running */
    uint32_t err_pc;
    uint32_t depth; /* local calls active */
    uint32_t pad;
    struct hu_jit_region fastw; /* a copy of *wr: the stack buffer */
    /*
     * The first writable region after the stack buffer (a map value, in a
     * hook), or the stack buffer when there is none: writes through a
     * pointer not derived from r10 compare it first.
     */
    struct hu_jit_region fastm;
    /* The same region for reads, or the first region when there is none. */
    struct hu_jit_region fastr;
    /*
     * Where a checked access may go: read-only regions first, then the
     * stack buffer and the writable regions; reads scan [tbl, end), writes
     * [wr, end). Reads compare tbl[0] first.
     */
    const struct hu_jit_region *wr;
    const struct hu_jit_region *end;
    struct hu_jit_region tbl[HU_JIT_MAX_REGIONS + 1];
    /*
     * Per loop with a window (jit.c, find_windows): its base register
     * below this means every access of the iteration is inside a region.
     * 0 (no window) on the way into the loop.
     */
    uint64_t lim[HU_JIT_WINDOWS];
    /*
     * Per loop whose budget is charged at its window (jit.c,
     * window_sync): its base register when the budget last was.
     */
    uint64_t sync[HU_JIT_WINDOWS];
};

#define HU_JIT_OFF(field) ((int32_t)__builtin_offsetof(struct hu_jit_frame, field))

#endif /* HU_JIT_FRAME_H */
