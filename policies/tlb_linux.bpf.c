/* SPDX-License-Identifier: MIT */
/*
 * tlb.flush for a Linux guest on Xen (HVM/PVH), with the guest's hu_guest
 * kernel module loaded (guest-driver/kmod). The module sends every TLB
 * shootdown through hu_tlb_slots[src][dst] (64 x 64 slots of 64 bytes:
 * seq, ack, the request) and the sender waits until ack == seq. Xen runs
 * this program when the IPI reaches a target vCPU that is not running; if
 * the sender has a shootdown outstanding for that target, the program
 * acknowledges it on the target's behalf and returns DEFER, and Xen makes
 * sure the target's TLB is flushed before it runs again. Anything else --
 * an IPI that is not a shootdown, a request still being written, a slot it
 * cannot read or write -- is DELIVER: the target does it itself.
 */
#include "hu_helpers.h"

extern const char hu_tlb_slots[] __ksym; /* struct hu_tlb_slot [64][64] */

#define HU_TLB_NR 64
#define HU_TLB_SLOT 64 /* bytes: u64 seq, u64 ack, the request */

/* Per sender vCPU: [0] delivered (a shootdown the target will do),
 * [1] deferred and acknowledged, [2] not a shootdown. */
struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __type(key, __u32);
  __type(value, __u64);
  __uint(max_entries, 3);
} tlb_decisions SEC(".maps");

static __always_inline int count(__u32 what, int verdict) {
  hu_count(&tlb_decisions, what);
  return verdict;
}

SEC("hyperupcall/tlb.flush")
int tlb(struct hu_ctx_tlb_flush* ctx) {
  __u64 slot[2]; /* seq, ack */
  __u64 addr;

  if (ctx->src_vcpu >= HU_TLB_NR || ctx->dst_vcpu >= HU_TLB_NR) return count(2, HU_TLB_DELIVER);
  addr = (__u64)hu_tlb_slots + ((__u64)ctx->src_vcpu * HU_TLB_NR + ctx->dst_vcpu) * HU_TLB_SLOT;
  if (hu_read_gva(slot, sizeof(slot), addr) < 0) return count(0, HU_TLB_DELIVER);
  if (slot[0] & 1) return count(0, HU_TLB_DELIVER);        /* being written */
  if (slot[0] == slot[1]) return count(2, HU_TLB_DELIVER); /* nothing outstanding */
  if (hu_write_gva(addr + 8, &slot[0], sizeof(slot[0])) < 0) return count(0, HU_TLB_DELIVER);
  return count(1, HU_TLB_DEFER);
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";
