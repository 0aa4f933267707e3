// SPDX-License-Identifier: GPL-2.0
/*
 * Addresses a policy needs that /proc/kallsyms does not list, as a
 * kallsyms-format file, /sys/kernel/hyperupcall/kallsyms, for the guest
 * tool's --kallsyms (concatenated with /proc/kallsyms):
 *
 *   hu_percpu_preempt_count   CPU 0's copy of the per-CPU __preempt_count;
 *                             the copies of CPUs 1.. follow within
 *                             hu_percpu_span bytes (a region from here
 *                             covers every CPU's preempt count)
 *   hu_spin_pv, hu_spin_pv_end         the paravirtual qspinlock slow path
 *   hu_spin_native, hu_spin_native_end  and the native one: a vCPU whose
 *                             rip is inside waits for a lock, it holds none
 *
 * hu_lookup() resolves what the kernel does not export, through the one
 * function kprobes can still find by name.
 */
#include <linux/kallsyms.h>
#include <linux/kobject.h>
#include <linux/kprobes.h>
#include <linux/module.h>
#include <linux/percpu.h>
#include <linux/sysfs.h>

#include <asm/preempt.h>

#include "hu_guest.h"

#define HU_SYMS_MAX 1024

static char syms[HU_SYMS_MAX];
static size_t syms_len;
static struct kobject *hu_kobj;

unsigned long hu_lookup(const char *name)
{
	static unsigned long (*lookup)(const char *name);

	if (!lookup) {
		struct kprobe kp = { .symbol_name = "kallsyms_lookup_name" };

		if (register_kprobe(&kp) < 0)
			return 0;
		lookup = (void *)kp.addr;
		unregister_kprobe(&kp);
	}
	return lookup(name);
}

static void add(const char *name, char type, unsigned long addr)
{
	syms_len += scnprintf(syms + syms_len, sizeof(syms) - syms_len,
			      "%016lx %c %s\t[hu_guest]\n", addr, type, name);
}

/* name and name_end around a function, from its size in kallsyms. */
static void add_function(const char *label, const char *fn)
{
	char buf[KSYM_SYMBOL_LEN], end_label[64];
	unsigned long addr = hu_lookup(fn), size;
	const char *slash;

	if (!addr)
		return;
	sprint_symbol(buf, addr);
	slash = strchr(buf, '/');
	if (!slash || kstrtoul(slash + 1, 16, &size) || !size)
		return;
	add(label, 't', addr);
	snprintf(end_label, sizeof(end_label), "%s_end", label);
	add(end_label, 't', addr + size);
}

static ssize_t kallsyms_show(struct kobject *kobj, struct kobj_attribute *attr,
			     char *buf)
{
	return sysfs_emit(buf, "%s", syms);
}

static struct kobj_attribute kallsyms_attr = __ATTR_RO(kallsyms);

int hu_syms_init(void)
{
	unsigned long first = (unsigned long)per_cpu_ptr(&__preempt_count, 0);
	unsigned long last = first;
	unsigned int cpu;
	int rc;

	for_each_possible_cpu(cpu) {
		unsigned long a = (unsigned long)per_cpu_ptr(&__preempt_count, cpu);

		first = min(first, a);
		last = max(last, a);
	}
	add("hu_percpu_preempt_count", 'd', first);
	add("hu_percpu_span", 'a', last - first + sizeof(int));
	add_function("hu_spin_pv", "__pv_queued_spin_lock_slowpath");
	add_function("hu_spin_native", "native_queued_spin_lock_slowpath");
	pr_info("hu_guest: per-CPU preempt counts in %lu bytes from %lx\n",
		last - first + sizeof(int), first);

	hu_kobj = kobject_create_and_add("hyperupcall", kernel_kobj);
	if (!hu_kobj)
		return -ENOMEM;
	rc = sysfs_create_file(hu_kobj, &kallsyms_attr.attr);
	if (rc)
		kobject_put(hu_kobj);
	return rc;
}

void hu_syms_exit(void)
{
	sysfs_remove_file(hu_kobj, &kallsyms_attr.attr);
	kobject_put(hu_kobj);
}
