/* SPDX-License-Identifier: MIT */
/*
 * What the guest helpers of the Xen end-to-end tests share: reporting a
 * fatal error on the console, the guest's xenstore directory for talking to
 * dom0, and raw hypercalls through privcmd.
 */
#ifndef HU_GUEST_XS_H
#define HU_GUEST_XS_H

#include <stdint.h>
#include <sys/ioctl.h>

struct privcmd_hypercall {
  uint64_t op;
  uint64_t arg[5];
};
#define IOCTL_PRIVCMD_HYPERCALL _IOC(_IOC_NONE, 'P', 0, sizeof(struct privcmd_hypercall))

/* Set by main: the "NAME:" every console line starts with. */
extern const char* guest_name;

/* Prints "NAME: FAIL what: errno text" and exits 1. */
void die(const char* what) __attribute__((noreturn));

/*
 * Opens xenstore; the helpers below then work in
 * /local/domain/<domid>/<dir>. Returns the domid (text, never freed).
 */
const char* xs_base(const char* dir);
void put(const char* key, const char* val);
/* The node's value (malloc'd), or NULL when it does not exist. */
char* get(const char* key);

#endif /* HU_GUEST_XS_H */
