/* Just enough of libbpf's bpf_helpers.h conventions for the loader tests:
 * SEC names, BTF-style map attributes, __ksym externs and two helpers by
 * their hyperupcall ids (abi.h). */
#ifndef HU_TEST_BPF_H
#define HU_TEST_BPF_H

typedef unsigned int u32;
typedef unsigned long long u64;

#define SEC(name) __attribute__((section(name), used))
#define __uint(name, val) int(*name)[val]
#define __type(name, val) typeof(val)* name
#define __ksym __attribute__((section(".ksyms")))
#define __kconfig __attribute__((section(".kconfig")))
#define __weak __attribute__((weak))
#define __noinline __attribute__((noinline))

static void* (*hu_map_lookup_elem)(void* map, const void* key) = (void*)1;
static long (*hu_map_update_elem)(void* map, const void* key, const void* value,
                                  u64 flags) = (void*)2;

#endif
