/* SPDX-License-Identifier: MIT */
/*
 * XEN_DOMCTL_hyperupcall as added by xen-patches/0002: the op number and
 * the layout of its argument inside struct xen_domctl's union. Debian's
 * libxenctrl does not know the op, so dom0 issues the domctl itself
 * through libxencall; this header is the one copy of the layout on the
 * dom0 side. Makefile.xen checks it against the patched Xen source
 * (dom0-daemon/xen/check_layout.c), so the two cannot drift silently.
 *
 * Guest handles are 64-bit addresses of hypercall-safe buffers
 * (xencall_alloc_buffer).
 */
#ifndef HU_XEN_DOMCTL_ABI_H
#define HU_XEN_DOMCTL_ABI_H

#include <stdint.h>

#define HU_XEN_DOMCTL_INTERFACE_VERSION 0x00000015 /* Xen 4.17 */
#define HU_XEN_DOMCTL_hyperupcall 87
#define HU_XEN_HYPERVISOR_domctl 36

#define HU_XEN_OP_install 0
#define HU_XEN_OP_uninstall 1
#define HU_XEN_OP_list 2
#define HU_XEN_OP_stats 3
#define HU_XEN_OP_map_read 4
#define HU_XEN_OP_map_update 5
#define HU_XEN_OP_reclaim_scan 6
#define HU_XEN_OP_trace_read 7
#define HU_XEN_OP_reclaim 8
/* xen-patches/0030: save, restore and migration. */
#define HU_XEN_OP_save 32
#define HU_XEN_OP_load 33
#define HU_XEN_OP_annotate 34

#define HU_XEN_RECLAIM_MAX (1u << 16)

/* install.jit: run the program as x86-64 code (interpreted if Xen cannot
 * translate it); PLAIN: without constant blinding (measurements only). */
#define HU_XEN_JIT (1u << 0)
#define HU_XEN_JIT_PLAIN (1u << 1)
/* prog_info.flags: which engine runs the program. */
#define HU_XEN_PROG_JIT (1u << 0)
#define HU_XEN_PROG_JIT_PLAIN (1u << 1)

struct hu_xen_map_def {
  uint32_t type;
  uint32_t key_size;
  uint32_t value_size;
  uint32_t max_entries;
};

struct hu_xen_region {
  uint64_t start;
  uint64_t len;
  uint32_t flags;
  uint32_t pad;
};

struct hu_xen_prog_info {
  uint64_t id;
  uint32_t hook;
  uint32_t ninsns;
  uint32_t nmaps;
  uint32_t nregions;
  uint32_t flags;     /* HU_XEN_PROG_* */
  uint32_t jit_bytes; /* size of the program's x86-64 code, 0 without */
};

struct hu_xen_trace_hdr {
  uint64_t id;
  uint64_t time_ns;
  uint32_t len;
  uint32_t pad;
};

#define HU_XEN_ANNOTATION_MAX 256

/*
 * The blob of save and load (public/domctl.h, struct xen_hyperupcall_state):
 * this header, then per program a hu_xen_state_prog, its instructions,
 * map definitions, regions and annotation (padded to 8), and per map a
 * hu_xen_state_map with its entries (padded to 8). state_blob.hpp reads and
 * writes it.
 */
#define HU_XEN_STATE_MAGIC 0x54534855u /* "HUST" */
#define HU_XEN_STATE_VERSION 1
#define HU_XEN_STATE_MAX (32u << 20)

struct hu_xen_state {
  uint32_t magic;
  uint32_t version;
  uint32_t size;
  uint32_t nprogs;
  uint32_t flags;
  uint32_t pad;
};

struct hu_xen_state_prog {
  uint32_t size;
  uint32_t hook;
  uint64_t id;
  uint64_t budget;
  uint32_t ninsns;
  uint32_t nmaps;
  uint32_t nregions;
  uint32_t annotation_len;
  uint64_t runs;
  uint64_t insns;
  uint64_t run_ns;
  uint64_t budget_aborts;
  uint64_t errors;
  uint64_t last_result;
  uint32_t last_err;
  uint32_t last_err_pc;
  uint32_t max_grace_us; /* sched.preempt's cap as installed, else 0 */
  uint32_t jit;          /* HU_XEN_JIT* asked for at install (the code never travels) */
};

struct hu_xen_state_map {
  uint32_t nentries;
  uint32_t key_size;
  uint32_t value_size; /* of one entry: all per-vCPU copies */
  uint32_t pad;
};

struct hu_xen_domctl_hyperupcall {
  uint32_t op;
  uint32_t pad;
  uint64_t id;
  union {
    struct {
      uint32_t hook;
      uint32_t ninsns;
      uint32_t nmaps;
      uint32_t nregions;
      uint64_t budget;
      uint64_t insns;
      uint64_t maps;
      uint64_t regions;
      uint32_t max_grace_us; /* sched.preempt only: operator cap, 0: Xen's */
      uint32_t jit;          /* HU_XEN_JIT* */
      uint64_t jit_seed;     /* mixed into Xen's blinding key */
    } install;
    struct {
      uint32_t max;
      uint32_t nr;
      uint64_t progs;
    } list;
    struct {
      uint64_t runs;
      uint64_t insns;
      uint64_t run_ns;
      uint64_t budget_aborts;
      uint64_t errors;
      uint64_t last_result;
      uint32_t last_err;
      uint32_t last_err_pc;
      uint64_t cycles;      /* TSC cycles in runs, all pCPUs */
      uint64_t nested;      /* firings skipped: the pCPU was running one */
      uint64_t acted;       /* tlb.flush deferrals, sched.preempt grants */
      uint64_t acted_units; /* sched.preempt: microseconds granted */
      uint64_t overridden;  /* verdicts Xen did not follow */
      uint64_t jit_runs;    /* runs as x86-64 code */
    } stats;
    struct {
      uint32_t map;
      uint32_t flags;
      uint32_t cursor;
      uint32_t key_size;
      uint32_t value_size;
      uint32_t pad;
      uint64_t key;
      uint64_t value;
    } map;
    struct {
      uint64_t first_gfn;
      uint64_t nr_frames; /* IN, OUT: scanned (fewer past Xen's work limit) */
      uint64_t bitmap;
      uint64_t nr_free;
      uint64_t nr_errors;
    } reclaim;
    struct {
      uint32_t size;
      uint32_t used;
      uint32_t nr;
      uint32_t lost;
      uint64_t buf;
    } trace;
    struct {
      uint64_t first_gfn;
      uint64_t nr_frames; /* IN, OUT: walked (0: first_gfn past the domain's memory) */
      uint64_t max_reclaim;
      uint64_t nr_reclaimed;
      uint64_t nr_kept;
      uint64_t nr_busy;
      uint64_t nr_errors;
    } reclaim_frames;
    struct {
      uint32_t size;   /* IN: bytes in buf; OUT: bytes of the blob */
      uint32_t nprogs; /* OUT */
      uint64_t buf;
      uint64_t jit_seed; /* load: mixed into the JIT's blinding key */
    } state;
    struct {
      uint32_t len;
      uint32_t pad;
      uint64_t buf;
    } annotate;
  } u;
};

/* struct xen_domctl: header, then the union (128 bytes of padding). */
struct hu_xen_domctl {
  uint32_t cmd;
  uint32_t interface_version;
  uint16_t domain;
  uint16_t pad[3];
  union {
    struct hu_xen_domctl_hyperupcall hyperupcall;
    uint8_t pad[128];
  } u;
};

#endif /* HU_XEN_DOMCTL_ABI_H */
