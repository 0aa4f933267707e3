/* SPDX-License-Identifier: MIT */
/*
 * sched.preempt: preempting a vCPU that holds a spinlock stalls every other
 * vCPU spinning on that lock for a whole time slice (lock-holder
 * preemption). If the vCPU is in a critical section -- it holds a spinlock
 * or has preemption disabled -- ask for a short grace period so it can
 * leave it; the host caps the grace and grants it once per slice.
 */
#include "hu_helpers.h"

extern const char pcpu_hot[] __ksym;        /* per-CPU: preempt_count at +8 */
extern const char spin_lock_depth[] __ksym; /* per-CPU: spinlocks held */

#define GRACE_US 200
#define PREEMPT_COUNT_OFF 8
#define PREEMPT_NEED_RESCHED 0x80000000u /* x86 keeps it inverted in the count */

/* Grace periods asked for, per vCPU. */
struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __type(key, __u32);
  __type(value, __u64);
  __uint(max_entries, 1);
} grace_requests SEC(".maps");

SEC("hyperupcall/sched.preempt")
int preempt(struct hu_ctx_sched_preempt* ctx) {
  __u32 depth = 0, count = 0, zero = 0;
  __u64* n;

  if (ctx->cpl != 0) return 0; /* user mode holds no kernel lock */
  hu_read_gva(&depth, sizeof(depth), ctx->gs_base + (__u64)spin_lock_depth);
  hu_read_gva(&count, sizeof(count), ctx->gs_base + (__u64)pcpu_hot + PREEMPT_COUNT_OFF);
  if (depth == 0 && (count & ~PREEMPT_NEED_RESCHED) == 0) return 0;

  n = hu_map_lookup_elem(&grace_requests, &zero);
  if (n) *n += 1;
  return GRACE_US;
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";
