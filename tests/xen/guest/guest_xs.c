/* SPDX-License-Identifier: MIT */
#include "guest_xs.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xenstore.h>

const char* guest_name = "hu-guest";

static struct xs_handle* xs;
static char base[96];

void die(const char* what) {
  printf("%s: FAIL %s: %s\n", guest_name, what, strerror(errno));
  fflush(stdout);
  exit(1);
}

const char* xs_base(const char* dir) {
  unsigned int len;
  char* domid;

  xs = xs_open(0);
  if (!xs) die("xs_open");
  domid = xs_read(xs, XBT_NULL, "domid", &len);
  if (!domid) die("read domid");
  /* Relative: xenstore resolves it in whatever domain the guest is now
   * (it keeps working after the guest is saved, restored or migrated). */
  snprintf(base, sizeof(base), "%s", dir);
  return domid;
}

void put(const char* key, const char* val) {
  char path[160];

  snprintf(path, sizeof(path), "%s/%s", base, key);
  if (!xs_write(xs, XBT_NULL, path, val, strlen(val))) die(path);
}

char* get(const char* key) {
  char path[160];
  unsigned int len;

  snprintf(path, sizeof(path), "%s/%s", base, key);
  return xs_read(xs, XBT_NULL, path, &len);
}
