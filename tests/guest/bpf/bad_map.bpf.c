/* One bad map per BAD_* variant, selected with -D at build time. */
#include "hu_test_bpf.h"

struct {
#if defined(BAD_TYPE)
  __uint(type, 27);
#else
  __uint(type, 2);
#endif
#if defined(BAD_ARRAY_KEY)
  __type(key, u64);
#else
  __type(key, u32);
#endif
  __type(value, u64);
#if defined(BAD_PINNING)
  __uint(pinning, 1);
#endif
#if !defined(BAD_NO_ENTRIES)
  __uint(max_entries, 4);
#endif
} broken SEC(".maps");

SEC("hyperupcall/trace.exit") int use(void* ctx) {
  u32 k = 0;
  return hu_map_lookup_elem(&broken, &k) != ctx;
}
