/* SPDX-License-Identifier: MIT */
/*
 * mem.reclaim for a Linux 6.1 guest (Debian 12's kernel), from the page
 * allocator's own state: a frame is free when it lies in a free block of
 * the buddy allocator, the kernel's is_free_buddy_page(): for some order,
 * the block head the frame would belong to carries PG_buddy and an order
 * at least that large. The largest order is tried first (an idle guest's
 * free memory is mostly in the largest blocks: one read answers). The host
 * asks with the guest's vCPUs paused (xen-patches reclaim), so the answer
 * still holds when it drops the frame.
 *
 * It reads struct page through vmemmap (the kernel variable vmemmap_base
 * holds its address, randomised by KASLR): the regions are vmemmap_base (8
 * bytes) and the struct page array of the guest's RAM (64 bytes a frame,
 * about 1.6% of guest RAM); `hu-memcheck regions` prints both.
 *
 * Anything uncertain keeps the frame: a read that fails, a frame with
 * references, a frame in no free block.
 */
#include "hu_helpers.h"

/* struct page in Linux 6.1, x86_64 (include/linux/mm_types.h). */
#define STRUCT_PAGE_SIZE 64
#define PAGE_PRIVATE_OFF 40 /* private: a free block head's order */
#define PAGE_TYPE_BASE 0xf0000000u
#define PG_BUDDY 0x00000080u
#define MAX_ORDER 11 /* orders 0..10 */

extern const char vmemmap_base[] __ksym;

/* private, page_type (union with _mapcount), _refcount: one read. */
struct page_tail {
  __u64 private;
  __u32 page_type;
  __s32 refcount;
};

/* Decisions so far: [HU_RECLAIM_KEEP], [HU_RECLAIM_FREE]. */
struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __type(key, __u32);
  __type(value, __u64);
  __uint(max_entries, 2);
} reclaim_decisions SEC(".maps");

/* vmemmap_base's value, read once: it never changes after boot. */
struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __type(key, __u32);
  __type(value, __u64);
  __uint(max_entries, 1);
} vmemmap_cache SEC(".maps");

static __always_inline long page_tail(__u64 vmemmap, __u64 pfn, struct page_tail* t) {
  return hu_read_gva(t, sizeof(*t), vmemmap + pfn * STRUCT_PAGE_SIZE + PAGE_PRIVATE_OFF);
}

static __always_inline __u64 vmemmap_address(void) {
  __u32 zero = 0;
  __u64* cached = hu_map_lookup_elem(&vmemmap_cache, &zero);
  __u64 v;

  if (cached && *cached) return *cached;
  if (hu_read_gva(&v, sizeof(v), (__u64)vmemmap_base) < 0) return 0;
  if (cached) *cached = v;
  return v;
}

static __always_inline int decide(struct hu_ctx_mem_reclaim* ctx) {
  __u64 vmemmap = vmemmap_address();
  struct page_tail t;
  __s32 order;

  if (!vmemmap) return HU_RECLAIM_KEEP;
  /* In use (a free page, head or not, has no references): the common case. */
  if (page_tail(vmemmap, ctx->gfn, &t) < 0 || t.refcount != 0) return HU_RECLAIM_KEEP;
  for (order = MAX_ORDER - 1; order >= 0; order--) {
    __u64 head = ctx->gfn & ~((1ULL << order) - 1);

    if (page_tail(vmemmap, head, &t) < 0) return HU_RECLAIM_KEEP;
    if ((t.page_type & (PAGE_TYPE_BASE | PG_BUDDY)) == PAGE_TYPE_BASE && t.private >= (__u64)order)
      return HU_RECLAIM_FREE;
  }
  return HU_RECLAIM_KEEP;
}

SEC("hyperupcall/mem.reclaim")
int reclaim_buddy(struct hu_ctx_mem_reclaim* ctx) {
  int verdict = decide(ctx);

  hu_count(&reclaim_decisions, verdict);
  return verdict;
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";
