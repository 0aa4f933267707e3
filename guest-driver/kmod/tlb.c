// SPDX-License-Identifier: GPL-2.0
/*
 * The TLB shootdown hand-off.
 *
 * A Linux guest shoots down remote TLBs with native_flush_tlb_multi(): it
 * queues flush_tlb_func() on every target CPU and waits until each has run
 * it. On Xen PVH the IPI is an event channel; a target vCPU that Xen has
 * preempted runs it only when it is scheduled again, and the sender spins
 * until then. The host's tlb.flush program can answer for a target that is
 * not running -- Xen then flushes that vCPU's TLB before it runs again --
 * but only if it can tell, from guest memory, what is asked and how to say
 * "done". Linux's own call-function queue cannot be acknowledged from
 * outside (its entries would be reused while still queued), so this module
 * sends shootdowns through its own per-pair slots:
 *
 *  - it redirects native_flush_tlb_multi() here (ftrace), except for
 *    flushes that free page tables: those must switch lazy CPUs away from
 *    the mm, which only the target can do, so they keep Linux's path;
 *  - for each target that is not lazy it publishes the request in
 *    hu_tlb_slots[src][dst] (seq odd, request, seq even) and sends a
 *    call-function IPI with its own async csd (or, if that csd is still
 *    queued, a bare IPI, so that the host sees an IPI for every request);
 *  - the target's handler performs every published, unacknowledged
 *    request with Linux's flush_tlb_func() and acknowledges it;
 *  - the sender waits for ack == seq on every target, yielding once, as
 *    Xen's own IPI code does, if a target is preempted.
 *
 * The host's program sets ack = seq on the target's behalf; the target's
 * handler then finds nothing to do. Slots are indexed by Xen vCPU id.
 */
#include <linux/cpumask.h>
#include <linux/ftrace.h>
#include <linux/kernel.h>
#include <linux/module.h>
#include <linux/smp.h>

#include <asm/paravirt.h>
#include <asm/smp.h>
#include <asm/xen/hypercall.h>
#include <xen/interface/sched.h>
#include <xen/xen-ops.h>

#include "hu_guest.h"

struct hu_tlb_slot hu_tlb_slots[HU_TLB_NR][HU_TLB_NR];

/* [sender CPU][target CPU]: the sender's own csd for that target. */
static call_single_data_t hu_csd[HU_TLB_NR][HU_TLB_NR];

static void (*flush_tlb_func_p)(void *info);
static void (*native_multi_p)(const struct cpumask *cpumask, const void *info);

/* Counters under /sys/module/hu_guest/parameters/tlb_*. */
static int get_stat(char *buf, const struct kernel_param *kp)
{
	return scnprintf(buf, PAGE_SIZE, "%ld\n",
			 atomic_long_read((atomic_long_t *)kp->arg));
}

static const struct kernel_param_ops stat_ops = { .get = get_stat };

#define HU_STAT(name, desc)                                        \
	static atomic_long_t stat_##name;                          \
	module_param_cb(tlb_##name, &stat_ops, &stat_##name, 0444); \
	MODULE_PARM_DESC(tlb_##name, desc)

HU_STAT(flushes, "remote shootdowns sent through the hand-off");
HU_STAT(targets, "target vCPUs asked, all shootdowns");
HU_STAT(handled, "requests a target performed itself (the rest: acknowledged by the host)");
HU_STAT(yields, "senders that yielded to a preempted target");
HU_STAT(native, "shootdowns left to Linux (page tables freed)");

static bool acked(const struct hu_tlb_slot *s)
{
	return READ_ONCE(s->ack) == READ_ONCE(s->seq);
}

/* Raises the ack to seq, never lowering it (the host may be ahead). */
static void ack_up_to(struct hu_tlb_slot *s, u64 seq)
{
	u64 old = READ_ONCE(s->ack);

	while (old < seq) {
		u64 cur = cmpxchg(&s->ack, old, seq);

		if (cur == old)
			break;
		old = cur;
	}
}

/* A target's IPI handler: every request published for this vCPU. */
static void hu_tlb_ipi(void *unused)
{
	u32 dst = xen_vcpu_nr(smp_processor_id());
	unsigned int src;

	if (dst >= HU_TLB_NR)
		return;
	for (src = 0; src < HU_TLB_NR; src++) {
		struct hu_tlb_slot *s = &hu_tlb_slots[src][dst];
		u8 info[sizeof(s->info)] __aligned(8);
		u64 seq;

		for (;;) {
			seq = smp_load_acquire(&s->seq);
			/* Done (by us or the host), or still being written:
			 * the sender's IPI follows its write. */
			if (seq == READ_ONCE(s->ack) || (seq & 1))
				break;
			memcpy(info, s->info, sizeof(info));
			smp_rmb();
			if (READ_ONCE(s->seq) != seq)
				continue;
			flush_tlb_func_p(info);
			ack_up_to(s, seq);
			atomic_long_inc(&stat_handled);
			break;
		}
	}
}

static void publish(struct hu_tlb_slot *s, const void *info)
{
	u64 seq = READ_ONCE(s->seq) + 1;

	WRITE_ONCE(s->seq, seq);
	smp_wmb();
	memcpy(s->info, info, hu_info_size());
	smp_store_release(&s->seq, seq + 1);
}

static void hu_flush_tlb_multi(const struct cpumask *cpumask, const void *info)
{
	int me = smp_processor_id(), cpu;
	u32 src = xen_vcpu_nr(me);
	DECLARE_BITMAP(pending, HU_TLB_NR);
	bool yielded = false;

	if (hu_info_frees_tables(info) || src >= HU_TLB_NR || me >= HU_TLB_NR ||
	    irqs_disabled()) {
		atomic_long_inc(&stat_native);
		native_multi_p(cpumask, info);
		return;
	}

	bitmap_zero(pending, HU_TLB_NR);
	for_each_cpu(cpu, cpumask) {
		u32 dst = xen_vcpu_nr(cpu);

		if (hu_cpu_is_lazy(cpu))
			continue;
		if (cpu == me) {
			unsigned long flags;

			local_irq_save(flags);
			flush_tlb_func_p((void *)info);
			local_irq_restore(flags);
			continue;
		}
		if (cpu >= HU_TLB_NR || dst >= HU_TLB_NR) {
			/* Outside the slots: Linux's way, for this one. */
			smp_call_function_single(cpu, flush_tlb_func_p,
						 (void *)info, 1);
			continue;
		}
		publish(&hu_tlb_slots[src][dst], info);
		if (smp_call_function_single_async(cpu, &hu_csd[me][cpu]))
			smp_ops.send_call_func_single_ipi(cpu);
		__set_bit(cpu, pending);
		atomic_long_inc(&stat_targets);
	}
	atomic_long_inc(&stat_flushes);

	while (!bitmap_empty(pending, HU_TLB_NR)) {
		for_each_set_bit(cpu, pending, HU_TLB_NR)
			if (acked(&hu_tlb_slots[src][xen_vcpu_nr(cpu)]))
				__clear_bit(cpu, pending);
		if (bitmap_empty(pending, HU_TLB_NR))
			break;
		/* As xen_smp_send_call_function_ipi(): let a preempted target run. */
		if (!yielded) {
			for_each_set_bit(cpu, pending, HU_TLB_NR) {
				if (vcpu_is_preempted(cpu)) {
					HYPERVISOR_sched_op(SCHEDOP_yield, NULL);
					atomic_long_inc(&stat_yields);
					yielded = true;
					break;
				}
			}
		}
		cpu_relax();
	}
}

static void notrace hu_ftrace(unsigned long ip, unsigned long parent_ip,
			      struct ftrace_ops *op, struct ftrace_regs *fregs)
{
	struct pt_regs *regs = ftrace_get_regs(fregs);

	/* Our own fallback calls Linux's function: let it through. */
	if (regs && !within_module(parent_ip, THIS_MODULE))
		regs->ip = (unsigned long)hu_flush_tlb_multi;
}

static struct ftrace_ops hu_ftrace_ops = {
	.func = hu_ftrace,
	.flags = FTRACE_OPS_FL_SAVE_REGS | FTRACE_OPS_FL_RECURSION |
		 FTRACE_OPS_FL_IPMODIFY,
};

int hu_tlb_init(void)
{
	unsigned int i, j;
	int rc;

	if (hu_info_size() > sizeof(hu_tlb_slots[0][0].info)) {
		pr_err("hu_guest: struct flush_tlb_info is %zu bytes, slots hold %zu\n",
		       hu_info_size(), sizeof(hu_tlb_slots[0][0].info));
		return -EINVAL;
	}
	flush_tlb_func_p = (void *)hu_lookup("flush_tlb_func");
	native_multi_p = (void *)hu_lookup("native_flush_tlb_multi");
	if (!flush_tlb_func_p || !native_multi_p) {
		pr_err("hu_guest: flush_tlb_func or native_flush_tlb_multi not found\n");
		return -ENOENT;
	}
	for (i = 0; i < HU_TLB_NR; i++)
		for (j = 0; j < HU_TLB_NR; j++)
			INIT_CSD(&hu_csd[i][j], hu_tlb_ipi, NULL);

	rc = ftrace_set_filter_ip(&hu_ftrace_ops, (unsigned long)native_multi_p,
				  0, 0);
	if (rc) {
		pr_err("hu_guest: cannot trace native_flush_tlb_multi: %d\n", rc);
		return rc;
	}
	rc = register_ftrace_function(&hu_ftrace_ops);
	if (rc) {
		ftrace_set_filter_ip(&hu_ftrace_ops, (unsigned long)native_multi_p,
				     1, 0);
		pr_err("hu_guest: cannot redirect native_flush_tlb_multi: %d\n", rc);
		return rc;
	}
	pr_info("hu_guest: TLB shootdowns go through hu_tlb_slots (%px, %zu bytes)\n",
		hu_tlb_slots, sizeof(hu_tlb_slots));
	return 0;
}

void hu_tlb_exit(void)
{
	unregister_ftrace_function(&hu_ftrace_ops);
	ftrace_set_filter_ip(&hu_ftrace_ops, (unsigned long)native_multi_p, 1, 0);
	/* Handlers queued before the unregistration may still run. */
	synchronize_rcu();
	on_each_cpu(hu_tlb_ipi, NULL, 1);
}
