/* SPDX-License-Identifier: GPL-2.0 */
/*
 * hu_guest: what a Linux guest on Xen must cooperate with for the
 * tlb.flush and sched.preempt hyperupcalls. The layout below is the
 * contract with policies/tlb.bpf.c; see guest-driver/kmod/README.md.
 */
#ifndef HU_GUEST_H
#define HU_GUEST_H

#include <linux/types.h>

/* vCPUs the shootdown hand-off covers: slots are [src][dst], 64 x 64. */
#define HU_TLB_NR 64

/*
 * One shootdown request from vCPU src to vCPU dst (Xen vCPU ids), 64 bytes.
 * The sender writes seq odd, the request, then seq even (seq = 2k: request
 * k published). Whoever performs it -- dst in its IPI handler, or the
 * host's tlb.flush program on dst's behalf once the host has made sure dst
 * cannot use an old translation -- sets ack = seq. The sender waits for
 * ack == seq.
 */
struct hu_tlb_slot {
	u64 seq;
	u64 ack;
	u8 info[48] __aligned(8);	/* a struct flush_tlb_info */
} __aligned(64);

extern struct hu_tlb_slot hu_tlb_slots[HU_TLB_NR][HU_TLB_NR];

/*
 * struct flush_tlb_info is hidden from modules (asm/tlbflush.h), so one
 * file (tlbinfo.c) is built as kernel code and handles it for the rest.
 */
size_t hu_info_size(void);
bool hu_info_frees_tables(const void *info);
/* Lazy: running a kernel thread on a borrowed mm; Linux skips it. */
bool hu_cpu_is_lazy(int cpu);

int hu_tlb_init(void);
void hu_tlb_exit(void);
int hu_syms_init(void);
void hu_syms_exit(void);
/* Resolves a kernel symbol the kernel does not export. */
unsigned long hu_lookup(const char *name);

#endif
