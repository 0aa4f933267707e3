/* SPDX-License-Identifier: MIT */
/*
 * A loop over 64 vCPUs reading per-CPU data through read_gva, as a
 * sched.preempt policy would: the preempt count of every vCPU's per-CPU
 * area (__per_cpu_offset[cpu] + &pcpu_hot.preempt_count), summed.
 */
#include "hu_helpers.h"

extern const unsigned long __per_cpu_offset[64] __ksym;
extern const char pcpu_hot[] __ksym;

SEC("hyperupcall/sched.preempt")
int busy_vcpus(struct hu_ctx_sched_preempt* ctx) {
  __u32 busy = 0;
  for (__u32 cpu = 0; cpu < 64; cpu++) {
    __u64 base = 0;
    __u32 count = 0;
    if (hu_read_gva(&base, sizeof(base), (__u64)&__per_cpu_offset[cpu]) < 0) continue;
    if (hu_read_gva(&count, sizeof(count), base + (__u64)pcpu_hot + 8) < 0) continue;
    if (count != 0 && cpu != ctx->vcpu) busy++;
  }
  return busy > 8 ? 50 : 0;
}

char LICENSE[] SEC("license") = "GPL";
