// SPDX-License-Identifier: GPL-2.0
/*
 * hu_lockbench: a kernel spinlock workload for the sched.preempt benchmark
 * (tests/xen/sched/README.md). At load, one thread per online CPU takes
 * one shared spinlock for `seconds`: hold_loops (200) of work inside,
 * think_loops (2000) outside. If Xen preempts a vCPU while it holds the
 * lock, every other vCPU that wants it waits for a whole time slice
 * (lock-holder preemption). Reports, on the console and under
 * /sys/module/hu_lockbench/parameters/: ops (lock acquisitions, all
 * CPUs), spin_us (time spent waiting for the lock), long_waits (waits
 * longer than 1 ms) and max_wait_us.
 */
#include <linux/completion.h>
#include <linux/cpumask.h>
#include <linux/delay.h>
#include <linux/kthread.h>
#include <linux/ktime.h>
#include <linux/module.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/spinlock.h>

static unsigned int seconds = 10, hold_loops = 200, think_loops = 2000;
module_param(seconds, uint, 0444);
module_param(hold_loops, uint, 0444);
module_param(think_loops, uint, 0444);

static unsigned long ops, spin_us, long_waits, max_wait_us;
module_param(ops, ulong, 0444);
module_param(spin_us, ulong, 0444);
module_param(long_waits, ulong, 0444);
module_param(max_wait_us, ulong, 0444);

static DEFINE_SPINLOCK(bench_lock);
static volatile unsigned long shared;
static atomic_t running;
static DECLARE_COMPLETION(all_done);

struct worker {
	unsigned long ops, spin_ns, long_waits, max_wait_ns;
};

static void burn(unsigned int loops)
{
	unsigned int i;

	for (i = 0; i < loops; i++)
		barrier();
}

static int work(void *arg)
{
	struct worker *w = arg;
	u64 end = ktime_get_ns() + (u64)seconds * NSEC_PER_SEC;

	while (ktime_get_ns() < end) {
		u64 t0 = ktime_get_ns(), wait;
		unsigned int i;

		spin_lock(&bench_lock);
		wait = ktime_get_ns() - t0;
		for (i = 0; i < hold_loops; i++)
			shared++;
		spin_unlock(&bench_lock);

		w->ops++;
		w->spin_ns += wait;
		w->max_wait_ns = max_t(u64, w->max_wait_ns, wait);
		if (wait > NSEC_PER_MSEC)
			w->long_waits++;
		burn(think_loops);
		cond_resched();
	}
	if (atomic_dec_and_test(&running))
		complete(&all_done);
	return 0;
}

static int __init hu_lockbench_init(void)
{
	unsigned int n = num_online_cpus(), i = 0, cpu;
	struct worker *w = kcalloc(n, sizeof(*w), GFP_KERNEL);

	if (!w)
		return -ENOMEM;
	atomic_set(&running, n);
	for_each_online_cpu(cpu) {
		struct task_struct *t = kthread_create_on_cpu(work, &w[i], cpu,
							      "hu_lockbench/%u");

		if (IS_ERR(t)) {
			pr_err("hu-lockbench: no thread on CPU %u\n", cpu);
			/* The others still finish; count this one as done. */
			if (atomic_dec_and_test(&running))
				complete(&all_done);
			continue;
		}
		wake_up_process(t);
		i++;
	}
	wait_for_completion(&all_done);
	for (i = 0; i < n; i++) {
		ops += w[i].ops;
		spin_us += w[i].spin_ns / NSEC_PER_USEC;
		long_waits += w[i].long_waits;
		max_wait_us = max(max_wait_us, w[i].max_wait_ns / NSEC_PER_USEC);
	}
	kfree(w);
	pr_info("hu-lockbench: cpus=%u seconds=%u ops=%lu spin_us=%lu long_waits=%lu max_wait_us=%lu\n",
		n, seconds, ops, spin_us, long_waits, max_wait_us);
	return 0;
}

static void __exit hu_lockbench_exit(void)
{
}

module_init(hu_lockbench_init);
module_exit(hu_lockbench_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("hyperupcall e2e: kernel spinlock workload (lock-holder preemption)");
