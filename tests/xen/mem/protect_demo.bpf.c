/* SPDX-License-Identifier: MIT */
/*
 * The mem.protect program of the kernel self-protection demo in the Xen
 * stage. The guarded page of the guest's hu_protect module
 * (tests/xen/guest/hu_protect) may be written only by the module's one
 * store between hu_guard_begin and hu_guard_end; a write from anywhere
 * else is denied, counted in word 0 of the module's hu_protect_log and its
 * writer's rip recorded in word 1, through write_gva (the log is the
 * program's one writable region).
 *
 * Regions (the guest's init passes them): the guarded page,
 * gpa:GPA:4096:protect; the log, hu_protect_log:16:rw.
 *
 * Each denial also tries what abi.h's contract for the guest-memory
 * helpers says, and counts the answers the end-to-end test checks:
 * write_gva just past the writable region and read_gva there are -EFAULT
 * (the read's buffer zeroed), a write_gva of size 0 is 0.
 */
#include "hu_helpers.h"

extern const char hu_guard_begin[] __ksym;
extern const char hu_guard_end[] __ksym;
extern const char hu_protect_log[] __ksym;

/*
 * [0] writes allowed, [1] writes denied, [2] denials write_gva could not
 * log, [3] write_gva outside the region refused with -EFAULT, [4] read_gva
 * outside the regions refused with -EFAULT and the buffer zeroed, [5]
 * write_gva of size 0 answered 0.
 */
struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __type(key, __u32);
  __type(value, __u64);
  __uint(max_entries, 6);
} protect_demo_counts SEC(".maps");

struct denial_log {
  __u64 denied;
  __u64 last_rip;
};

SEC("hyperupcall/mem.protect")
int protect_demo(struct hu_ctx_mem_protect* ctx) {
  struct denial_log log;

  if (ctx->rip >= (__u64)hu_guard_begin && ctx->rip < (__u64)hu_guard_end) {
    hu_count(&protect_demo_counts, 0);
    return HU_PROTECT_ALLOW;
  }
  hu_count(&protect_demo_counts, 1);
  /* A failed read leaves log zeroed: the count restarts, the rip is right. */
  hu_read_gva(&log, sizeof(log), (__u64)hu_protect_log);
  log.denied++;
  log.last_rip = ctx->rip;
  if (hu_write_gva((__u64)hu_protect_log, &log, sizeof(log)) < 0) hu_count(&protect_demo_counts, 2);

  /* Past the 16-byte region: both refused, the read's buffer zeroed. */
  if (hu_write_gva((__u64)hu_protect_log + sizeof(log), &log, 8) == -HU_EFAULT)
    hu_count(&protect_demo_counts, 3);
  log.denied = ~0ULL;
  if (hu_read_gva(&log.denied, 8, (__u64)hu_protect_log + sizeof(log)) == -HU_EFAULT &&
      log.denied == 0)
    hu_count(&protect_demo_counts, 4);
  if (hu_write_gva((__u64)hu_protect_log, &log, 0) == 0) hu_count(&protect_demo_counts, 5);
  return HU_PROTECT_DENY;
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";
