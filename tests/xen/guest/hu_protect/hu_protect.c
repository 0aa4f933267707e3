// SPDX-License-Identifier: GPL-2.0
/*
 * hu_protect: the guest kernel's half of the mem.protect demo in the Xen
 * stage (tests/xen/README.md).
 *
 * The module owns two pages of kernel data and a log:
 *  - the guarded page, which the guest asks Xen to write-protect through a
 *    mem.protect program; its only legitimate writer is guarded_write(),
 *    whose single store lies between the global labels hu_guard_begin and
 *    hu_guard_end (the program allows a write whose rip is in that range);
 *  - a plain page, never protected, for the cost comparison;
 *  - hu_protect_log, a writable region of the program: when it denies a
 *    write it counts it in word 0 and records the writer's rip in word 1,
 *    with write_gva.
 *
 * /proc/hu_protect: reading it prints the addresses the program needs and
 * the current state; writing one command to it acts:
 *    expected V   guarded_write(guarded, V)  (the allowed writer)
 *    stray V      stray_write(guarded, V)    (any other code)
 *    bench N      N writes by guarded_write() to the plain page, then N to
 *                 the guarded page; TSC cycles per write of each
 * and its result is the "last" line of the next read.
 */
#include <asm/msr.h>
#include <linux/init.h>
#include <linux/io.h>
#include <linux/kernel.h>
#include <linux/module.h>
#include <linux/proc_fs.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/uaccess.h>

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("hyperupcall mem.protect demo: one guarded page of kernel data");

static u64 *guarded, *plain;
/* Written by Xen (the program's write_gva), found through kallsyms. */
u64 hu_protect_log[2] __aligned(16);
static char last[160] = "none";
static DEFINE_MUTEX(lock);

extern const char hu_guard_begin[], hu_guard_end[];

/* The expected writer: one store, between hu_guard_begin and hu_guard_end. */
static noinline void guarded_write(u64* p, u64 v) {
  asm volatile(
      ".globl hu_guard_begin\n"
      "hu_guard_begin:\n\t"
      "movq %1, %0\n"
      ".globl hu_guard_end\n"
      "hu_guard_end:\n"
      : "=m"(*p)
      : "r"(v)
      : "memory");
}

/* Any other writer: the same kind of store from elsewhere. */
static noinline void stray_write(u64* p, u64 v) { WRITE_ONCE(*p, v); }

static u64 cycles_per_write(u64* p, unsigned long n) {
  unsigned long i;
  u64 t0, t1;

  t0 = rdtsc_ordered();
  for (i = 0; i < n; i++) guarded_write(p, i);
  t1 = rdtsc_ordered();

  return (t1 - t0) / n;
}

static int show(struct seq_file* m, void* v) {
  mutex_lock(&lock);
  seq_printf(m, "gpa 0x%llx\n", (u64)virt_to_phys(guarded));
  seq_printf(m, "gva 0x%lx\n", (unsigned long)guarded);
  seq_printf(m, "log_gva 0x%lx\n", (unsigned long)hu_protect_log);
  seq_printf(m, "guard_begin 0x%lx\n", (unsigned long)hu_guard_begin);
  seq_printf(m, "guard_end 0x%lx\n", (unsigned long)hu_guard_end);
  seq_printf(m, "value 0x%llx\n", READ_ONCE(guarded[0]));
  seq_printf(m, "denied_logged %llu last_denied_rip 0x%llx\n", READ_ONCE(hu_protect_log[0]),
             READ_ONCE(hu_protect_log[1]));
  seq_printf(m, "last %s\n", last);
  mutex_unlock(&lock);
  return 0;
}

static int open_proc(struct inode* inode, struct file* file) {
  return single_open(file, show, NULL);
}

static ssize_t write_proc(struct file* file, const char __user* ubuf, size_t len, loff_t* off) {
  char buf[64], *cmd, *val;
  u64 arg;

  if (len >= sizeof(buf)) return -EINVAL;
  if (copy_from_user(buf, ubuf, len)) return -EFAULT;
  buf[len] = 0;
  val = strim(buf);
  cmd = strsep(&val, " ");
  /* The value: decimal or 0x-hex. */
  if (!val || kstrtoull(strim(val), 0, &arg)) return -EINVAL;

  mutex_lock(&lock);
  if (!strcmp(cmd, "expected") || !strcmp(cmd, "stray")) {
    u64 before = READ_ONCE(guarded[0]), after;

    if (cmd[0] == 'e')
      guarded_write(guarded, arg);
    else
      stray_write(guarded, arg);
    after = READ_ONCE(guarded[0]);
    snprintf(last, sizeof(last), "%s write of 0x%llx: before 0x%llx after 0x%llx (%s)", cmd, arg,
             before, after, after == arg ? "went through" : "dropped");
  } else if (!strcmp(cmd, "bench") && arg > 0 && arg <= 1000000) {
    u64 p = cycles_per_write(plain, arg);
    u64 g = cycles_per_write(guarded, arg);

    snprintf(last, sizeof(last), "bench writes=%llu plain_cycles=%llu protected_cycles=%llu", arg,
             p, g);
  } else {
    mutex_unlock(&lock);
    return -EINVAL;
  }
  pr_info("hu_protect: %s\n", last);
  mutex_unlock(&lock);

  return len;
}

static const struct proc_ops ops = {
    .proc_open = open_proc,
    .proc_read = seq_read,
    .proc_lseek = seq_lseek,
    .proc_release = single_release,
    .proc_write = write_proc,
};

static int __init hu_protect_init(void) {
  guarded = (u64*)get_zeroed_page(GFP_KERNEL);
  plain = (u64*)get_zeroed_page(GFP_KERNEL);
  if (!guarded || !plain || !proc_create("hu_protect", 0600, NULL, &ops)) {
    free_page((unsigned long)guarded);
    free_page((unsigned long)plain);
    return -ENOMEM;
  }
  return 0;
}

static void __exit hu_protect_exit(void) {
  remove_proc_entry("hu_protect", NULL);
  free_page((unsigned long)guarded);
  free_page((unsigned long)plain);
}

module_init(hu_protect_init);
module_exit(hu_protect_exit);
