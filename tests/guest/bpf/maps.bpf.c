/* Two maps, two programs: each program gets the maps it uses. */
#include "hu_test_bpf.h"

struct triple {
  u64 a, b, c;
};

struct {
  __uint(type, 2);
  __type(key, u32);
  __type(value, u64);
  __uint(max_entries, 8);
} counts SEC(".maps");

struct {
  __uint(type, 1);
  __type(key, u64);
  __type(value, struct triple);
  __uint(max_entries, 1024);
} seen SEC(".maps");

SEC("hyperupcall/trace.exit") int count_exits(void* ctx) {
  u32 k = 1;
  u64* v = hu_map_lookup_elem(&counts, &k);
  if (v) *v += 1;
  u64 key = (u64)ctx;
  struct triple val = {1, 2, 3};
  hu_map_update_elem(&seen, &key, &val, 0);
  return 0;
}

SEC("hyperupcall/mem.reclaim") int reclaim(void* ctx) {
  u64 key = (u64)ctx;
  return hu_map_lookup_elem(&seen, &key) != 0;
}

char _license[] SEC("license") = "GPL";
