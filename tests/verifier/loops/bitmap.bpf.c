/* SPDX-License-Identifier: MIT */
/*
 * An 8192-step bitmap scan: count the set bits of a 1 KiB bitmap kept in an
 * array map, one bit per step, and report the first one at or after the
 * frame asked about.
 */
#include "hu_helpers.h"

struct bitmap {
  __u8 bits[1024];
};

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __type(key, __u32);
  __type(value, struct bitmap);
  __uint(max_entries, 1);
} frames SEC(".maps");

SEC("hyperupcall/mem.reclaim")
int scan(struct hu_ctx_mem_reclaim* ctx) {
  __u32 key = 0;
  struct bitmap* b = hu_map_lookup_elem(&frames, &key);
  if (!b) return HU_RECLAIM_KEEP;
  __u32 set = 0, first = 8192;
  __u32 from = ctx->gfn & 8191;
  for (__u32 i = 0; i < 8192; i++) {
    if (b->bits[i / 8] & (1 << (i % 8))) {
      set++;
      if (i >= from && first == 8192) first = i;
    }
  }
  return set > 0 && first == from ? HU_RECLAIM_FREE : HU_RECLAIM_KEEP;
}

char LICENSE[] SEC("license") = "GPL";
