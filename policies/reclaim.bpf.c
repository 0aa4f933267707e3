/* SPDX-License-Identifier: MIT */
/*
 * mem.reclaim: a frame the guest kernel has free (its bit is set in the
 * page allocator's free bitmap) can be dropped instead of swapped out.
 * Anything uncertain (bitmap unreadable, gfn out of range) keeps the frame:
 * a wrong FREE loses guest data, a wrong KEEP only costs a swap write.
 */
#include "hu_helpers.h"

extern const char page_free_bitmap[] __ksym;

/* Decisions so far: [HU_RECLAIM_KEEP], [HU_RECLAIM_FREE]. */
struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __type(key, __u32);
  __type(value, __u64);
  __uint(max_entries, 2);
} reclaim_decisions SEC(".maps");

static __always_inline int decide(struct hu_ctx_mem_reclaim* ctx) {
  __u64 gfn = ctx->gfn;
  __u8 byte;

  if (gfn >= ctx->guest_frames) return HU_RECLAIM_KEEP;
  if (hu_read_gva(&byte, sizeof(byte), (__u64)page_free_bitmap + gfn / 8) < 0)
    return HU_RECLAIM_KEEP;
  return (byte >> (gfn & 7)) & 1 ? HU_RECLAIM_FREE : HU_RECLAIM_KEEP;
}

SEC("hyperupcall/mem.reclaim")
int reclaim(struct hu_ctx_mem_reclaim* ctx) {
  int verdict = decide(ctx);

  hu_count(&reclaim_decisions, verdict);
  return verdict;
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";
