/* Kernel symbols as externs: one that must resolve, one __weak. */
#include "hu_test_bpf.h"

extern const int runqueues __ksym;
extern const int maybe_absent __ksym __weak;

SEC("hyperupcall/sched.preempt") int grace(void* ctx) {
  (void)ctx;
  return (u64)&runqueues + (u64)&maybe_absent > 0;
}

char _license[] SEC("license") = "Dual MIT/GPL";
