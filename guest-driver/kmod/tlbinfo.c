// SPDX-License-Identifier: GPL-2.0
/*
 * struct flush_tlb_info, which asm/tlbflush.h hides from modules: this one
 * file is compiled as if it were kernel code so that the rest of the module
 * can treat the request as opaque bytes of the running kernel's layout.
 */
#undef MODULE
#include <linux/mm.h>
#include <asm/tlbflush.h>

#include "hu_guest.h"

size_t hu_info_size(void)
{
	return sizeof(struct flush_tlb_info);
}

bool hu_info_frees_tables(const void *info)
{
	return ((const struct flush_tlb_info *)info)->freed_tables;
}

bool hu_cpu_is_lazy(int cpu)
{
	return per_cpu(cpu_tlbstate_shared.is_lazy, cpu);
}
