// SPDX-License-Identifier: GPL-2.0
/*
 * hu_guest: the guest kernel's side of the tlb.flush and sched.preempt
 * hyperupcalls on Xen (README.md in this folder).
 */
#include <linux/module.h>

#include "hu_guest.h"

static int __init hu_guest_init(void)
{
	int rc = hu_syms_init();

	if (rc)
		return rc;
	rc = hu_tlb_init();
	if (rc)
		hu_syms_exit();
	return rc;
}

static void __exit hu_guest_exit(void)
{
	hu_tlb_exit();
	hu_syms_exit();
}

module_init(hu_guest_init);
module_exit(hu_guest_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("hyperupcall guest cooperation: TLB shootdown hand-off, policy symbols");
