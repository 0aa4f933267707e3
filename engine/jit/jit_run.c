/* SPDX-License-Identifier: MIT */
/*
 * hu_jit_run: the C side of a JIT run. Checks the run as hu_interp_run
 * does, builds the frame the generated code works on (jit_frame.h), calls the
 * image and reports like the interpreter. Freestanding C.
 */
#include "hyperupcall/jit.h"
#include "jit_frame.h"

#ifndef NULL
#define NULL ((void *)0)
#endif

#define STACK_NEEDED ((uint64_t)HU_STACK_FRAME * HU_MAX_CALL_DEPTH)

/*
 * The most budget the code counts: a windowed loop's back edge charges
 * with no branch and relies on r11's top bit to see a charge that failed
 * (jit.c, budget_shift). 2^62 units outlast any run (centuries at one
 * unit a nanosecond), so a larger budget behaves the same.
 */
#define BUDGET_MAX ((uint64_t)1 << 62)

typedef uint64_t (*hu_jit_entry)(struct hu_jit_frame *f, uint64_t r1,
                                 uint64_t r2, uint64_t r3);

/*
 * The interpreter accepts [addr, addr + size) when addr >= base and it
 * ends by base + len; a region that would run past the top of the address
 * space therefore ends there, which is what the clamp says.
 */
static struct hu_jit_region *add_region(struct hu_jit_region *e,
                                        uint64_t base, uint64_t len)
{
    unsigned int k;

    if ( base != 0 && len > 0 - base )
        len = 0 - base;
    e->base = base;
    for ( k = 0; k < 4; k++ )
    {
        uint64_t size = (uint64_t)1 << k;

        e->cnt[k] = len >= size ? len - size + 1 : 0;
    }
    return e + 1;
}

static void build_table(struct hu_jit_frame *f)
{
    const struct hu_run *run = &f->run;
    struct hu_jit_region *e = f->tbl;
    const struct hu_jit_region *m;
    uint32_t i;

    for ( i = 0; i < run->nregions; i++ )
        if ( !run->regions[i].writable )
            e = add_region(e, run->regions[i].base, run->regions[i].len);
    f->wr = e;
    e = add_region(e, (uintptr_t)run->stack, run->stack_size);
    for ( i = 0; i < run->nregions; i++ )
        if ( run->regions[i].writable )
            e = add_region(e, run->regions[i].base, run->regions[i].len);
    f->end = e;
    /* Field by field: a struct copy could become a call to memcpy. */
    f->fastw.base = f->wr->base;
    for ( i = 0; i < 4; i++ )
        f->fastw.cnt[i] = f->wr->cnt[i];
    m = f->wr + 1 < f->end ? f->wr + 1 : f->wr;
    f->fastm.base = m->base;
    for ( i = 0; i < 4; i++ )
        f->fastm.cnt[i] = m->cnt[i];
    m = f->wr + 1 < f->end ? f->wr + 1 : f->tbl;
    f->fastr.base = m->base;
    for ( i = 0; i < 4; i++ )
        f->fastr.cnt[i] = m->cnt[i];
}

int hu_jit_run(const struct hu_jit_image *img, struct hu_run *run,
               uint64_t r1, uint64_t r2, uint64_t r3)
{
    struct hu_jit_frame f;
    hu_jit_entry entry;
    uint64_t r0, budget;
    unsigned int i;

    run->r0 = 0;
    run->executed = 0;
    run->err_pc = 0;
    run->err = HU_RUN_OK;
    run->stop = 0;

    if ( img == NULL || img->entry == NULL || run->stack == NULL ||
         run->stack_size < STACK_NEEDED ||
         run->helpers != img->helpers || run->nhelpers != img->nhelpers ||
         (run->nregions != 0 && run->regions == NULL) ||
         run->nregions > HU_JIT_MAX_REGIONS )
    {
        run->err = HU_RUN_BAD_CONFIG;
        return run->err;
    }
    if ( run->budget == 0 )
    {
        run->err = HU_RUN_BUDGET;
        return run->err;
    }

    /* Field by field: a struct copy could become a call to memcpy. */
    f.run.insns = run->insns;
    f.run.ninsns = run->ninsns;
    f.run.nhelpers = run->nhelpers;
    f.run.helpers = run->helpers;
    f.run.env = run->env;
    f.run.regions = run->regions;
    f.run.nregions = run->nregions;
    f.run.stack_size = run->stack_size;
    f.run.stack = run->stack;
    f.run.budget = run->budget;
    f.run.r0 = 0;
    f.run.executed = 0;
    f.run.err_pc = 0;
    f.run.err = HU_RUN_OK;
    f.run.stop = 0;
    f.fp_top = (uintptr_t)run->stack + run->stack_size;
    budget = run->budget < BUDGET_MAX ? run->budget : BUDGET_MAX;
    f.budget = budget - 1; /* the entry */
    f.err = 0;
    f.err_pc = 0;
    f.depth = 0;
    f.pad = 0;
    f.wr = f.end = f.tbl;
    for ( i = 0; i < HU_JIT_WINDOWS; i++ )
    {
        f.lim[i] = 0;
        f.sync[i] = 0;
    }
    if ( img->needs_regions )
        build_table(&f);

    entry = (hu_jit_entry)(uintptr_t)img->entry;
    r0 = entry(&f, r1, r2, r3);

    if ( f.err == HU_RUN_BUDGET )
        run->executed = run->budget;
    else
        run->executed = budget - f.budget;
    if ( f.err == 0 || f.err == HU_JIT_STOPPED )
    {
        run->r0 = r0;
        run->stop = f.err == HU_JIT_STOPPED;
        return HU_RUN_OK;
    }
    run->err = (int)f.err;
    run->err_pc = f.err_pc;
    return run->err;
}
