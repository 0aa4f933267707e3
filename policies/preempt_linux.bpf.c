/* SPDX-License-Identifier: MIT */
/*
 * sched.preempt for a Linux guest on Xen (credit2 or credit1), with the
 * guest's hu_guest kernel module loaded for two addresses /proc/kallsyms
 * lacks (guest-driver/kmod). Preempting a vCPU inside a critical section
 * -- a spinlock held, preemption or interrupts disabled -- stalls every
 * other vCPU that needs it for a whole time slice (lock-holder
 * preemption); such a vCPU asks for a short grace period instead.
 *
 * In kernel mode Linux keeps its per-CPU area at the GS base, so this
 * vCPU's preempt count is at gs_base + __preempt_count (a per-CPU
 * offset). A vCPU whose rip is in a qspinlock slow path is waiting for a
 * lock, not holding the one it waits for: no grace (the holder is who
 * should run). User mode holds no kernel lock. Xen caps the grace (500 us
 * unless the operator says less), grants it once per preemption, from a
 * per-vCPU budget, never to a vCPU that yields.
 */
#include "hu_helpers.h"

extern const char __preempt_count[] __ksym; /* per-CPU offset */
extern const char hu_spin_pv[] __ksym, hu_spin_pv_end[] __ksym;
extern const char hu_spin_native[] __ksym, hu_spin_native_end[] __ksym;

#define GRACE_US 200
#define PREEMPT_NEED_RESCHED 0x80000000u /* x86 keeps it inverted in the count */
#define X86_EFLAGS_IF 0x200

/* Per vCPU: [0] grace asked, [1] user mode, [2] waiting for a lock,
 * [3] not in a critical section, [4] preempt count unreadable. */
struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __type(key, __u32);
  __type(value, __u64);
  __uint(max_entries, 5);
} preempt_decisions SEC(".maps");

static __always_inline int count(__u32 what, int grace) {
  hu_count(&preempt_decisions, what);
  return grace;
}

static __always_inline int in(__u64 rip, const char* start, const char* end) {
  return rip >= (__u64)start && rip < (__u64)end;
}

SEC("hyperupcall/sched.preempt")
int preempt(struct hu_ctx_sched_preempt* ctx) {
  __u32 pc = 0;

  if (ctx->cpl != 0) return count(1, 0);
  if (in(ctx->rip, hu_spin_pv, hu_spin_pv_end) || in(ctx->rip, hu_spin_native, hu_spin_native_end))
    return count(2, 0);
  if (hu_read_gva(&pc, sizeof(pc), ctx->gs_base + (__u64)__preempt_count) < 0) return count(4, 0);
  if ((pc & ~PREEMPT_NEED_RESCHED) == 0 && (ctx->rflags & X86_EFLAGS_IF)) return count(3, 0);
  return count(0, GRACE_US);
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";
