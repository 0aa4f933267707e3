/* SPDX-License-Identifier: MIT */
/*
 * /proc/kcore's PT_LOAD segments, for the guest helpers of the Xen
 * end-to-end tests: the kernel's own answer to where a guest-physical page
 * sits in its direct map, and to what a kernel variable holds.
 */
#ifndef HU_KCORE_H
#define HU_KCORE_H

#include <stdint.h>

/* Kernel text and modules start here; RAM segments of kcore lie below. */
#define KCORE_KERNEL_TEXT_BASE 0xffffffff80000000ULL

struct kcore_seg {
  uint64_t vaddr;
  uint64_t paddr; /* (uint64_t)-1 when the segment has none */
  uint64_t memsz;
  uint64_t offset; /* in /proc/kcore */
};

/*
 * Calls fn for each PT_LOAD segment until it returns nonzero and returns
 * that value; 0 when none did, -1 when /proc/kcore cannot be read. fd is
 * the open /proc/kcore, for fn to read from.
 */
int kcore_each(int (*fn)(int fd, const struct kcore_seg* seg, void* arg), void* arg);

/* The 8 bytes at kernel virtual address va (kernel image data); 0 on success. */
int kcore_read_u64(uint64_t va, uint64_t* out);

#endif /* HU_KCORE_H */
