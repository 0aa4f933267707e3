/* SPDX-License-Identifier: MIT */
/*
 * The hyperupcall hook ABI: the one contract between guest policies, the
 * dom0 daemon, the verifier, the interpreter and the Xen hypervisor.
 *
 * Rules that keep it stable:
 *  - ids are never reused or renumbered; new hooks and helpers get new ids;
 *  - context structs only grow at the end, every field is naturally aligned,
 *    and the whole struct is a multiple of 8 bytes, so the verifier can check
 *    a context access against (offset, size) alone;
 *  - contexts are read-only to programs; guest memory is reachable only
 *    through the helpers below, inside the regions the guest registered.
 *
 * Freestanding C (compiled into Xen): no libc, only fixed-width types.
 */
#ifndef HYPERUPCALL_ABI_H
#define HYPERUPCALL_ABI_H

#ifdef __XEN__
#include <xen/types.h>
#else
#include <stdint.h>
#endif

#define HU_ABI_VERSION 1

/* ---------------------------------------------------------------------
 * Hooks
 * ------------------------------------------------------------------- */
enum hu_hook_id {
	HU_HOOK_NONE = 0,
	HU_HOOK_MEM_RECLAIM = 1, /* "mem.reclaim" */
	HU_HOOK_TLB_FLUSH = 2, /* "tlb.flush" */
	HU_HOOK_SCHED_PREEMPT = 3, /* "sched.preempt" */
	HU_HOOK_TRACE_EXIT = 4, /* "trace.exit" */
	HU_HOOK_MEM_PROTECT = 5, /* "mem.protect" */
	HU_HOOK_MAX = 6 /* one past the last id */
};

/*
 * mem.reclaim: the host is about to reclaim (balloon, page out, share) one
 * guest frame, or a reclaim scan domctl walks a frame range and asks once
 * per frame.
 * Returns HU_RECLAIM_FREE if the guest does not use the frame (its contents
 * may be discarded instead of written to swap), HU_RECLAIM_KEEP otherwise.
 */
struct hu_ctx_mem_reclaim {
	uint64_t gfn; /* guest frame number asked about */
	uint64_t gpa; /* gfn << 12, for convenience */
	uint64_t guest_frames; /* frames the guest owns in total */
	uint32_t domid; /* the guest's domain id */
	uint32_t reason; /* enum hu_reclaim_reason */
};
enum hu_reclaim_reason {
	HU_RECLAIM_SCAN = 0, /* reclaim scan domctl / sim scan */
	HU_RECLAIM_PRESSURE = 1, /* host memory pressure, frame chosen */
	HU_RECLAIM_BALLOON = 2 /* balloon target lowered */
};
#define HU_RECLAIM_KEEP 0
#define HU_RECLAIM_FREE 1

/*
 * tlb.flush: a vCPU asked to shoot down the TLB of another vCPU of the same
 * guest that is not running. Fires once per such target.
 * Returns HU_TLB_DEFER to have the flush done at the target's next entry and
 * acknowledged at once on its behalf, HU_TLB_DELIVER to deliver it now.
 *
 * On Xen the hook fires where an HVM/PVH guest's IPI reaches a vCPU that is
 * not running (an event-channel IPI, HU_TLB_F_EVTCHN, or a fixed APIC IPI,
 * HU_TLB_F_APIC): Xen cannot tell a shootdown from any other IPI, nor the
 * range, so va is HU_TLB_FLUSH_ALL and the program recognises a shootdown
 * from the guest's own bookkeeping. A DEFER is only honoured if the program
 * acknowledged it there (write_gva), every helper succeeded, and the run
 * completed; the IPI itself is still delivered, so the target finds the
 * work done when it next runs.
 */
struct hu_ctx_tlb_flush {
	uint32_t src_vcpu; /* vCPU asking for the flush */
	uint32_t dst_vcpu; /* target vCPU, not running */
	uint64_t va; /* first virtual address, or HU_TLB_FLUSH_ALL */
	uint64_t nr_pages; /* pages from va; 0 with HU_TLB_FLUSH_ALL */
	uint64_t dst_cr3; /* target's page table root, as last seen */
	uint32_t flags; /* HU_TLB_F_* */
	uint32_t dst_descheduled_us; /* time since the target last ran */
	uint32_t ipi; /* event channel port, or APIC vector (HU_TLB_F_*) */
	uint32_t dst_state; /* enum hu_vcpu_runstate of the target */
};
#define HU_TLB_FLUSH_ALL (~(uint64_t)0)
#define HU_TLB_F_GLOBAL 0x1 /* global pages included */
#define HU_TLB_F_EVTCHN 0x2 /* an event-channel IPI (Xen PVH/HVM Linux) */
#define HU_TLB_F_APIC 0x4 /* a fixed-delivery APIC IPI */
#define HU_TLB_DELIVER 0
#define HU_TLB_DEFER 1

/* A vCPU's scheduling state, with Xen's numbering. */
enum hu_vcpu_runstate {
	HU_RUNSTATE_RUNNING = 0,
	HU_RUNSTATE_RUNNABLE = 1, /* preempted: waiting for a pCPU */
	HU_RUNSTATE_BLOCKED = 2, /* halted or waiting for an event */
	HU_RUNSTATE_OFFLINE = 3
};

/*
 * sched.preempt: the scheduler is about to take the pCPU away from a vCPU.
 * Returns a grace period in microseconds (0 = preempt now). The host caps it
 * at the operator's limit, and grants it at most once per slice.
 * On Xen (credit2, credit1) the program runs on the victim's own pCPU under
 * the scheduler's lock: guest memory is what its regions pinned at install,
 * and Xen also bounds grace by a per-vCPU budget and a hard cap's budget,
 * and never grants to a vCPU that yields.
 */
struct hu_ctx_sched_preempt {
	uint32_t vcpu; /* vCPU about to be preempted */
	uint32_t pcpu; /* pCPU it runs on */
	uint64_t ran_ns; /* time it has run in this slice */
	uint64_t rip; /* guest instruction pointer */
	uint64_t rsp; /* guest stack pointer */
	uint64_t gs_base; /* guest GS base: per-CPU area in Linux */
	uint64_t cr3; /* guest page table root */
	uint32_t cpl; /* current privilege level (0 = kernel) */
	uint32_t reason; /* enum hu_preempt_reason */
	uint64_t kernel_gs_base; /* the other GS base (swapgs): Linux's
				  * per-CPU area while in user mode */
	uint64_t rflags; /* guest RFLAGS: IF (0x200) clear = interrupts off */
	uint32_t competitor_domid; /* domain of the vCPU that would run */
	uint32_t reserved; /* zero */
};
enum hu_preempt_reason {
	HU_PREEMPT_SLICE_END = 0, /* time slice used up */
	HU_PREEMPT_WAKEUP = 1 /* a higher-priority vCPU woke */
};

/*
 * trace.exit: a guest vCPU left guest context: a hypercall, a trap or
 * exception, or (HVM) a VM exit. Return value ignored; the program reports
 * through maps and the trace ring.
 */
struct hu_ctx_trace_exit {
	uint32_t vcpu;
	uint32_t kind; /* enum hu_exit_kind */
	uint64_t code; /* hypercall number, vector, or exit reason */
	uint64_t args[6]; /* hypercall arguments; error code and cr2 (trap);
			   * VM exit: the vendor's exit information (SVM
			   * exitinfo1/2; VMX qualification, EPT gpa), or
			   * at a hypercall exit the hypercall number and
			   * its five arguments */
	uint64_t rip; /* guest instruction pointer at exit */
	uint64_t time_ns; /* host time of the exit */
};
enum hu_exit_kind {
	HU_EXIT_HYPERCALL = 0,
	HU_EXIT_TRAP = 1,
	HU_EXIT_VMEXIT = 2
};

/*
 * mem.protect: a write hit a guest frame the guest registered as protected
 * (a region with HU_REGION_PROTECT). The host write-protects those frames
 * when the program is installed and runs it before anything lifts the
 * protection. Returns HU_PROTECT_ALLOW to let this one write through (the
 * frame stays protected), HU_PROTECT_DENY to drop it: the writing
 * instruction completes without changing memory, no fault is injected (a
 * fault in kernel code would bring the guest down; the program can record
 * the attempt in a map, the trace ring or, with write_gva, guest memory).
 * A run that fails counts as DENY.
 */
struct hu_ctx_mem_protect {
	uint64_t gpa; /* guest-physical address written */
	uint64_t gva; /* guest-virtual address, if known, else 0 */
	uint64_t rip; /* writer's instruction pointer */
	uint64_t value; /* value being written, zero-extended (first 8
			 * bytes of a wider write; 0 for a read-modify-write,
			 * whose result the host knows only after it) */
	uint32_t vcpu; /* writing vCPU */
	uint32_t size; /* bytes written: 1, 2, 4 or 8 */
};
#define HU_PROTECT_ALLOW 0
#define HU_PROTECT_DENY 1

/* ---------------------------------------------------------------------
 * Helpers: called with `call imm`, arguments in r1..r5, result in r0.
 * Errors are negative errno values.
 *
 * A helper that writes into the program's buffer (read_gva, read_gpa,
 * vcpu_state) writes all `size` bytes on every path once the buffer itself
 * is valid: zeros when it fails, as Linux's probe_read does. The verifier
 * counts the buffer as written, so stale bytes (of an earlier run, or a
 * host address) must never be left there.
 *
 * The guest-memory helpers (read_gva, read_gpa, write_gva) answer the same
 * on every backend: size 0 is 0 (nothing read or written); -HU_EPERM is
 * write_gva from a hook that may not write guest memory; every other
 * failure is -HU_EFAULT: the program's buffer, a range not inside one
 * region registered with the permission, a page not there (not mapped,
 * not writable for write_gva, not pinned by the host). write_gva writes
 * all size bytes or none.
 * ------------------------------------------------------------------- */
enum hu_helper_id {
	/* void *map_lookup_elem(map, const void *key): value or NULL */
	HU_HELPER_MAP_LOOKUP = 1,
	/* long map_update_elem(map, const void *key, const void *value, u64 flags) */
	HU_HELPER_MAP_UPDATE = 2,
	/* long map_delete_elem(map, const void *key) */
	HU_HELPER_MAP_DELETE = 3,
	/* long read_gva(void *dst, u32 size, u64 gva): copy from guest-virtual
	 * memory through the vCPU's page tables; only inside a registered region */
	HU_HELPER_READ_GVA = 4,
	/* long read_gpa(void *dst, u32 size, u64 gpa): copy from
	 * guest-physical memory; only inside a registered region */
	HU_HELPER_READ_GPA = 5,
	/* long write_gva(u64 gva, const void *src, u32 size): only hooks that
	 * allow it, only inside a region registered writable */
	HU_HELPER_WRITE_GVA = 6,
	/* long trace_output(const void *data, u32 size): append a record to the
	 * domain's trace ring (size <= HU_TRACE_MAX_RECORD) */
	HU_HELPER_TRACE_OUTPUT = 7,
	/* u64 ktime_ns(void): monotonic host time */
	HU_HELPER_KTIME_NS = 8,
	/* long vcpu_state(u32 vcpu, struct hu_vcpu_state *dst, u32 size):
	 * the first size bytes of the struct, size 1..sizeof(the struct) */
	HU_HELPER_VCPU_STATE = 9,
	HU_HELPER_MAX = 10 /* one past the last id */
};

#define HU_EPERM 1
#define HU_ENOENT 2
#define HU_E2BIG 7
#define HU_EFAULT 14
#define HU_EEXIST 17
#define HU_EINVAL 22
#define HU_ENOSPC 28

/* map_update_elem flags, as in Linux. */
#define HU_ANY 0
#define HU_NOEXIST 1
#define HU_EXIST 2

#define HU_TRACE_MAX_RECORD 256 /* bytes per trace_output record */

/* What vcpu_state fills in. */
struct hu_vcpu_state {
	uint64_t rip;
	uint64_t rsp;
	uint64_t rflags;
	uint64_t cr3;
	uint64_t gs_base; /* per-CPU area of a Linux guest */
	uint64_t kernel_gs_base;
	uint32_t vcpu;
	uint32_t running; /* 1 if on a pCPU now */
	uint32_t cpl;
	uint32_t pad;
};

/* ---------------------------------------------------------------------
 * Maps, declared by the program, created by the host.
 * Type numbers match Linux's, so libbpf-style declarations work as they are.
 * ------------------------------------------------------------------- */
enum hu_map_type {
	HU_MAP_HASH = 1,
	HU_MAP_ARRAY = 2,
	HU_MAP_PERVCPU_ARRAY = 6 /* one copy per vCPU; the running vCPU's */
};
#define HU_MAP_MAX_KEY 64
#define HU_MAP_MAX_VALUE 4096
#define HU_MAP_MAX_ENTRIES 65536
#define HU_MAX_MAPS 16 /* per program */

struct hu_map_def {
	uint32_t type; /* enum hu_map_type */
	uint32_t key_size;
	uint32_t value_size;
	uint32_t max_entries;
};

/* ---------------------------------------------------------------------
 * Guest memory regions registered with a program.
 * ------------------------------------------------------------------- */
#define HU_REGION_READ 0x1
#define HU_REGION_WRITE 0x2
#define HU_REGION_GPA 0x4 /* start is guest-physical, not virtual */
/* mem.protect only, with HU_REGION_GPA, page-aligned: frames the host
 * write-protects while the program is installed. Alone it gives the
 * program no access; add HU_REGION_READ to let it read them. */
#define HU_REGION_PROTECT 0x8
#define HU_MAX_REGIONS 16 /* per program */
#define HU_REGION_RAM_PERCENT 2 /* all regions <= 2% of guest RAM */

struct hu_region {
	uint64_t start;
	uint64_t len;
	uint32_t flags; /* HU_REGION_* */
	uint32_t pad;
};

#define HU_MAX_INSNS_DEFAULT 4096 /* program size cap (the paper's) */

#endif /* HYPERUPCALL_ABI_H */
