/* SPDX-License-Identifier: MIT */
/*
 * tlb.flush: a target vCPU in lazy TLB mode (idle, or running a kernel
 * thread) does not use the user mappings being shot down; Linux itself skips
 * lazy CPUs and flushes when they switch back. So the flush can wait for the
 * target's next entry instead of waking it with an IPI.
 */
#include "hu_helpers.h"

extern const char __per_cpu_offset[] __ksym;    /* unsigned long [NR_CPUS] */
extern const char cpu_tlbstate_shared[] __ksym; /* per-CPU: bool is_lazy */

#define NR_CPUS 64

/* Per target vCPU: [0] delivered, [1] deferred. */
struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __type(key, __u32);
  __type(value, __u64);
  __uint(max_entries, 2);
} tlb_decisions SEC(".maps");

static __always_inline int target_is_lazy(__u32 cpu) {
  __u64 base;
  __u8 lazy;

  if (cpu >= NR_CPUS) return 0;
  if (hu_read_gva(&base, sizeof(base), (__u64)__per_cpu_offset + cpu * 8) < 0) return 0;
  if (hu_read_gva(&lazy, sizeof(lazy), base + (__u64)cpu_tlbstate_shared) < 0) return 0;
  return lazy != 0;
}

SEC("hyperupcall/tlb.flush")
int tlb(struct hu_ctx_tlb_flush* ctx) {
  __u32 verdict = target_is_lazy(ctx->dst_vcpu) ? HU_TLB_DEFER : HU_TLB_DELIVER;
  __u64* n = hu_map_lookup_elem(&tlb_decisions, &verdict);

  if (n) *n += 1;
  return verdict;
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";
