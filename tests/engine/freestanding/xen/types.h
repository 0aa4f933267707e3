/* SPDX-License-Identifier: MIT */
/*
 * Stand-in for Xen's xen/types.h in the freestanding test built with
 * -D__XEN__: only what the engine headers use from it (Xen's own header
 * provides the same fixed-width names).
 */
#ifndef HU_TEST_XEN_TYPES_H
#define HU_TEST_XEN_TYPES_H
#include "../stdint.h"
#endif
