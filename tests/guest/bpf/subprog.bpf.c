/* bpf-to-bpf calls: a global and static subprograms in .text, nested, and
 * shared by two programs. The multipliers mark each body for the test. */
#include "hu_test_bpf.h"

static __noinline u64 times_0x111(u64 x) { return x * 0x111; }
static __noinline u64 times_0x222(u64 x) { return times_0x111(x) * 0x222; }
__noinline u64 times_0x333(u64 x) { return times_0x222(x) * 0x333; }

SEC("hyperupcall/tlb.flush") int flush(void* ctx) { return times_0x333((u64)ctx) & 1; }

SEC("hyperupcall/mem.protect") int protect(void* ctx) { return times_0x111((u64)ctx) & 1; }
