/* SPDX-License-Identifier: MIT */
/*
 * Compiled by Makefile.xen against the patched Xen source: fails to build
 * when domctl_abi.h and the patch's public/domctl.h disagree.
 */
#define __XEN_TOOLS__ 1
// Xen's public headers expect the fixed-width types already declared.
// clang-format off
#include <stddef.h>
#include <stdint.h>
#include <public/domctl.h>
// clang-format on

#include "domctl_abi.h"

#define SAME(a, b, f) _Static_assert(offsetof(struct a, f) == offsetof(struct b, f), #f)

_Static_assert(XEN_DOMCTL_hyperupcall == HU_XEN_DOMCTL_hyperupcall, "op");
_Static_assert(XEN_DOMCTL_INTERFACE_VERSION == HU_XEN_DOMCTL_INTERFACE_VERSION,
               "interface version");
_Static_assert(__HYPERVISOR_domctl == HU_XEN_HYPERVISOR_domctl, "hypercall");
_Static_assert(XEN_DOMCTL_HYPERUPCALL_trace_read == HU_XEN_OP_trace_read, "ops");
_Static_assert(XEN_DOMCTL_HYPERUPCALL_reclaim == HU_XEN_OP_reclaim, "reclaim op");
_Static_assert(XEN_DOMCTL_HYPERUPCALL_RECLAIM_MAX == HU_XEN_RECLAIM_MAX, "max");
_Static_assert(XEN_DOMCTL_HYPERUPCALL_JIT == HU_XEN_JIT, "jit");
_Static_assert(XEN_DOMCTL_HYPERUPCALL_JIT_PLAIN == HU_XEN_JIT_PLAIN, "jit plain");
_Static_assert(XEN_HYPERUPCALL_PROG_JIT == HU_XEN_PROG_JIT, "prog jit");
_Static_assert(XEN_HYPERUPCALL_PROG_JIT_PLAIN == HU_XEN_PROG_JIT_PLAIN, "prog jit plain");
_Static_assert(sizeof(struct xen_hyperupcall_prog_info) == sizeof(struct hu_xen_prog_info),
               "prog_info size");
_Static_assert(sizeof(struct xen_domctl) == sizeof(struct hu_xen_domctl), "domctl size");
_Static_assert(sizeof(struct xen_domctl_hyperupcall) == sizeof(struct hu_xen_domctl_hyperupcall),
               "op size");
SAME(xen_domctl, hu_xen_domctl, u);
SAME(xen_domctl, hu_xen_domctl, domain);
SAME(xen_domctl_hyperupcall, hu_xen_domctl_hyperupcall, id);
SAME(xen_domctl_hyperupcall, hu_xen_domctl_hyperupcall, u.install.budget);
SAME(xen_domctl_hyperupcall, hu_xen_domctl_hyperupcall, u.install.regions);
SAME(xen_domctl_hyperupcall, hu_xen_domctl_hyperupcall, u.install.max_grace_us);
SAME(xen_domctl_hyperupcall, hu_xen_domctl_hyperupcall, u.install.jit);
SAME(xen_domctl_hyperupcall, hu_xen_domctl_hyperupcall, u.install.jit_seed);
SAME(xen_domctl_hyperupcall, hu_xen_domctl_hyperupcall, u.list.progs);
SAME(xen_domctl_hyperupcall, hu_xen_domctl_hyperupcall, u.stats.last_err_pc);
SAME(xen_domctl_hyperupcall, hu_xen_domctl_hyperupcall, u.stats.cycles);
SAME(xen_domctl_hyperupcall, hu_xen_domctl_hyperupcall, u.stats.overridden);
SAME(xen_domctl_hyperupcall, hu_xen_domctl_hyperupcall, u.stats.jit_runs);
SAME(xen_domctl_hyperupcall, hu_xen_domctl_hyperupcall, u.map.key);
SAME(xen_domctl_hyperupcall, hu_xen_domctl_hyperupcall, u.map.value);
SAME(xen_domctl_hyperupcall, hu_xen_domctl_hyperupcall, u.reclaim.nr_errors);
SAME(xen_domctl_hyperupcall, hu_xen_domctl_hyperupcall, u.trace.buf);
SAME(xen_domctl_hyperupcall, hu_xen_domctl_hyperupcall, u.reclaim_frames.max_reclaim);
SAME(xen_domctl_hyperupcall, hu_xen_domctl_hyperupcall, u.reclaim_frames.nr_errors);
SAME(xen_hyperupcall_region, hu_xen_region, flags);
SAME(xen_hyperupcall_prog_info, hu_xen_prog_info, nregions);
SAME(xen_hyperupcall_prog_info, hu_xen_prog_info, flags);
SAME(xen_hyperupcall_prog_info, hu_xen_prog_info, jit_bytes);
SAME(xen_hyperupcall_trace_hdr, hu_xen_trace_hdr, len);

/* Save, restore and migration (xen-patches/0030). */
_Static_assert(XEN_DOMCTL_HYPERUPCALL_save == HU_XEN_OP_save, "save");
_Static_assert(XEN_DOMCTL_HYPERUPCALL_load == HU_XEN_OP_load, "load");
_Static_assert(XEN_DOMCTL_HYPERUPCALL_annotate == HU_XEN_OP_annotate, "annotate");
_Static_assert(XEN_HYPERUPCALL_ANNOTATION_MAX == HU_XEN_ANNOTATION_MAX, "annotation");
_Static_assert(XEN_HYPERUPCALL_STATE_MAGIC == HU_XEN_STATE_MAGIC, "magic");
_Static_assert(XEN_HYPERUPCALL_STATE_VERSION == HU_XEN_STATE_VERSION, "version");
_Static_assert(XEN_HYPERUPCALL_STATE_MAX == HU_XEN_STATE_MAX, "state max");
_Static_assert(sizeof(struct xen_hyperupcall_state) == sizeof(struct hu_xen_state), "state");
_Static_assert(sizeof(struct xen_hyperupcall_state_prog) == sizeof(struct hu_xen_state_prog),
               "state prog");
_Static_assert(sizeof(struct xen_hyperupcall_state_map) == sizeof(struct hu_xen_state_map),
               "state map");
SAME(xen_domctl_hyperupcall, hu_xen_domctl_hyperupcall, u.state.nprogs);
SAME(xen_domctl_hyperupcall, hu_xen_domctl_hyperupcall, u.state.buf);
SAME(xen_domctl_hyperupcall, hu_xen_domctl_hyperupcall, u.state.jit_seed);
SAME(xen_domctl_hyperupcall, hu_xen_domctl_hyperupcall, u.annotate.buf);
SAME(xen_hyperupcall_state, hu_xen_state, nprogs);
SAME(xen_hyperupcall_state, hu_xen_state, pad);
SAME(xen_hyperupcall_state_prog, hu_xen_state_prog, annotation_len);
SAME(xen_hyperupcall_state_prog, hu_xen_state_prog, runs);
SAME(xen_hyperupcall_state_prog, hu_xen_state_prog, last_err_pc);
SAME(xen_hyperupcall_state_prog, hu_xen_state_prog, max_grace_us);
SAME(xen_hyperupcall_state_prog, hu_xen_state_prog, jit);
SAME(xen_hyperupcall_state_map, hu_xen_state_map, value_size);

int main(void) { return 0; }
