/* SPDX-License-Identifier: MIT */
/*
 * The only "libc" header the interpreter may see in the freestanding test:
 * fixed-width types from the compiler's own predefined macros, as Xen's
 * xen/types.h provides them. Anything else the interpreter included would
 * fail to compile under -nostdinc.
 */
#ifndef HU_TEST_STDINT_H
#define HU_TEST_STDINT_H
typedef __INT8_TYPE__ int8_t;
typedef __INT16_TYPE__ int16_t;
typedef __INT32_TYPE__ int32_t;
typedef __INT64_TYPE__ int64_t;
typedef __UINT8_TYPE__ uint8_t;
typedef __UINT16_TYPE__ uint16_t;
typedef __UINT32_TYPE__ uint32_t;
typedef __UINT64_TYPE__ uint64_t;
typedef __UINTPTR_TYPE__ uintptr_t;
#endif
