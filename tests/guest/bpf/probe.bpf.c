/* A rejection must point here: probe() increments a map value it never
 * checked against NULL (line 22), deep() calls a subprogram that reads
 * past its caller's buffer (line 15). */
#include "hu_test_bpf.h"

struct {
  __uint(type, 2);
  __type(key, u32);
  __type(value, u64);
  __uint(max_entries, 4);
} counts SEC(".maps");

static __noinline u64 twice(u64* p, u32 n) {
  u64 sum = 0;
  sum += p[n + 64];
  return sum * 2;
}

SEC("hyperupcall/trace.exit") int probe(void* ctx) {
  u32 key = 0;
  u64* v = hu_map_lookup_elem(&counts, &key);
  *v += 1;
  return 0;
}

SEC("hyperupcall/trace.exit") int deep(u64* ctx) {
  u64 buf[4];
  buf[0] = ctx[1];
  buf[1] = ctx[2];
  buf[2] = buf[0] + buf[1];
  buf[3] = 0;
  return (int)twice(buf, (u32)ctx[1] & 3);
}

char _license[] SEC("license") = "GPL";
