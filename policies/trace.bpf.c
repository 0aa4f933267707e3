/* SPDX-License-Identifier: MIT */
/*
 * trace.exit: counts the guest's exits per (kind, code) in a hash map the
 * operator can dump, and sends a record to the trace ring for the exits
 * worth looking at one by one: page faults and memory_op hypercalls.
 */
#include "hu_helpers.h"

#define HYPERVISOR_memory_op 12
#define X86_TRAP_PF 14

struct exit_key {
  __u32 kind; /* enum hu_exit_kind */
  __u32 pad;
  __u64 code; /* hypercall number, vector or exit reason */
};

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __type(key, struct exit_key);
  __type(value, __u64);
  __uint(max_entries, 256);
} exit_counts SEC(".maps");

/* One trace ring record; hyperupcallctl events shows it as bytes. */
struct exit_record {
  __u64 time_ns;
  __u32 vcpu;
  __u32 kind;
  __u64 code;
  __u64 arg0;
  __u64 arg1;
  __u64 rip;
};

SEC("hyperupcall/trace.exit")
int trace(struct hu_ctx_trace_exit* ctx) {
  struct exit_key key = {};
  __u64 one = 1;
  __u64* n;

  key.kind = ctx->kind;
  key.code = ctx->code;
  n = hu_map_lookup_elem(&exit_counts, &key);
  if (n)
    __sync_fetch_and_add(n, 1);
  else
    hu_map_update_elem(&exit_counts, &key, &one, BPF_NOEXIST);

  if ((ctx->kind == HU_EXIT_TRAP && ctx->code == X86_TRAP_PF) ||
      (ctx->kind == HU_EXIT_HYPERCALL && ctx->code == HYPERVISOR_memory_op)) {
    struct exit_record rec = {};

    rec.time_ns = ctx->time_ns;
    rec.vcpu = ctx->vcpu;
    rec.kind = ctx->kind;
    rec.code = ctx->code;
    rec.arg0 = ctx->args[0];
    rec.arg1 = ctx->args[1];
    rec.rip = ctx->rip;
    hu_trace_output(&rec, sizeof(rec));
  }
  return 0;
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";
