/* SPDX-License-Identifier: MIT */
/*
 * Helper declarations for hyperupcall policies, in the style of libbpf's
 * bpf_helpers.h: SEC() places programs and maps, helpers are pointers to
 * their ABI id (clang turns a call through them into `call <id>`), maps are
 * declared BTF-style in SEC(".maps"), kernel symbols as
 * `extern const char sym[] __ksym;` (the guest tool fills in their address
 * from kallsyms).
 *
 * Build: clang -O2 -target bpf -g -ffreestanding -c policy.c
 * (-ffreestanding so <stdint.h> comes from clang, not the host's libc.)
 */
#ifndef HU_HELPERS_H
#define HU_HELPERS_H

#include "../../engine/include/hyperupcall/abi.h"

typedef uint8_t __u8;
typedef uint16_t __u16;
typedef uint32_t __u32;
typedef uint64_t __u64;
typedef int32_t __s32;
typedef int64_t __s64;

#define SEC(name)                                                                           \
  _Pragma("GCC diagnostic push") _Pragma("GCC diagnostic ignored \"-Wignored-attributes\"") \
      __attribute__((section(name), used)) _Pragma("GCC diagnostic pop")

#define __always_inline inline __attribute__((always_inline))
#define __noinline __attribute__((noinline))
#define __weak __attribute__((weak))
#define __ksym __attribute__((section(".ksyms")))

/* BTF-defined maps, exactly as libbpf spells them. */
#define __uint(name, val) int(*name)[val]
#define __type(name, val) typeof(val)* name

/* Map types: Linux's numbers, which are the ABI's. */
#define BPF_MAP_TYPE_HASH HU_MAP_HASH
#define BPF_MAP_TYPE_ARRAY HU_MAP_ARRAY
#define BPF_MAP_TYPE_PERCPU_ARRAY HU_MAP_PERVCPU_ARRAY

#define BPF_ANY HU_ANY
#define BPF_NOEXIST HU_NOEXIST
#define BPF_EXIST HU_EXIST

/* Helpers (abi.h documents each). Errors are negative errno values. */
static void* (*hu_map_lookup_elem)(void* map, const void* key) = (void*)HU_HELPER_MAP_LOOKUP;
static long (*hu_map_update_elem)(void* map, const void* key, const void* value,
                                  __u64 flags) = (void*)HU_HELPER_MAP_UPDATE;
static long (*hu_map_delete_elem)(void* map, const void* key) = (void*)HU_HELPER_MAP_DELETE;
static long (*hu_read_gva)(void* dst, __u32 size, __u64 gva) = (void*)HU_HELPER_READ_GVA;
static long (*hu_read_gpa)(void* dst, __u32 size, __u64 gpa) = (void*)HU_HELPER_READ_GPA;
static long (*hu_write_gva)(__u64 gva, const void* src, __u32 size) = (void*)HU_HELPER_WRITE_GVA;
static long (*hu_trace_output)(const void* data, __u32 size) = (void*)HU_HELPER_TRACE_OUTPUT;
static __u64 (*hu_ktime_ns)(void) = (void*)HU_HELPER_KTIME_NS;
static long (*hu_vcpu_state)(__u32 vcpu, struct hu_vcpu_state* dst,
                             __u32 size) = (void*)HU_HELPER_VCPU_STATE;

/* Reads a guest-virtual object into dst: 0, or -HU_EFAULT with dst zeroed. */
#define HU_READ_GVA(dst, gva) hu_read_gva(&(dst), sizeof(dst), (__u64)(gva))

/* Adds one to slot `key` of a __u32 -> __u64 array map of counters. */
static inline __attribute__((always_inline)) void hu_count(void* map, __u32 key) {
  __u64* n = hu_map_lookup_elem(map, &key);

  if (n) __sync_fetch_and_add(n, 1);
}

#endif /* HU_HELPERS_H */
