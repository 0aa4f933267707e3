/* SPDX-License-Identifier: MIT */
/*
 * Nested loops: for each of 16 vCPUs, walk an 8-entry table in a map and
 * add what matches; the inner loop restarts on every outer iteration.
 */
#include "hu_helpers.h"

struct row {
  __u64 key;
  __u64 weight;
};

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __type(key, __u32);
  __type(value, struct row);
  __uint(max_entries, 8);
} table SEC(".maps");

SEC("hyperupcall/trace.exit")
int weigh(struct hu_ctx_trace_exit* ctx) {
  __u64 total = 0;
  for (__u32 vcpu = 0; vcpu < 16; vcpu++) {
    for (__u32 i = 0; i < 8; i++) {
      struct row* r = hu_map_lookup_elem(&table, &i);
      if (r && r->key == ctx->code + vcpu) total += r->weight;
    }
  }
  hu_trace_output(&total, sizeof(total));
  return 0;
}

char LICENSE[] SEC("license") = "GPL";
