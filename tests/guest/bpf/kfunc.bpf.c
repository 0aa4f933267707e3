#include "hu_test_bpf.h"

extern void bpf_rcu_read_lock(void) __ksym;

SEC("hyperupcall/trace.exit") int locker(void* ctx) {
  bpf_rcu_read_lock();
  return ctx != 0;
}
