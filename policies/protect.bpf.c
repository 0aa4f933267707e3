/* SPDX-License-Identifier: MIT */
/*
 * mem.protect: kernel data in ro_after_init (the syscall table, ops
 * structures) must not change after boot; the only legitimate writer is
 * text_poke(), which patches jump labels and static calls. Deny every other
 * write there -- a rootkit overwriting the syscall table, say -- and count it.
 */
#include "hu_helpers.h"

extern const char __start_ro_after_init[] __ksym;
extern const char __end_ro_after_init[] __ksym;
extern const char text_poke[] __ksym;
extern const char text_poke_end[] __ksym;

/* [0] writes allowed, [1] writes denied. */
struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __type(key, __u32);
  __type(value, __u64);
  __uint(max_entries, 2);
} protect_decisions SEC(".maps");

static __always_inline int decide(struct hu_ctx_mem_protect* ctx) {
  __u64 gva = ctx->gva;

  /* Only ro_after_init is guarded; a write the host could not map to a
   * virtual address (gva 0) is judged by its writer alone. */
  if (gva != 0 && (gva < (__u64)__start_ro_after_init || gva >= (__u64)__end_ro_after_init))
    return HU_PROTECT_ALLOW;
  if (ctx->rip >= (__u64)text_poke && ctx->rip < (__u64)text_poke_end) return HU_PROTECT_ALLOW;
  return HU_PROTECT_DENY;
}

SEC("hyperupcall/mem.protect")
int protect(struct hu_ctx_mem_protect* ctx) {
  int verdict = decide(ctx);

  hu_count(&protect_decisions, verdict);
  return verdict;
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";
