/* SPDX-License-Identifier: MIT */
/*
 * hu-guest: the guest half of the Xen end-to-end test, run as a PV domU's
 * /init helper.
 *
 *  1. Publishes what the guest knows about a frame range: for each pseudo-
 *     physical frame in [first, first + count), whether the guest kernel
 *     has it in its free lists (KPF_BUDDY in /proc/kpageflags). The bitmap
 *     lives in a locked page whose guest-physical address goes to xenstore
 *     with a copy of the bitmap, so dom0 can both point a mem.reclaim
 *     program at it and check what the scan reports.
 *  2. Waits for dom0 to say its programs are installed (data/hu/go).
 *  3. Makes `calls` hypercalls tagged so that a trace.exit program can
 *     count them exactly: xen_version with an unknown sub-op (0x7ead),
 *     the call's index as the second argument.
 *     Then touches `touch` fresh pages, so at least that many page faults
 *     are bounced to the guest kernel (trace.exit's trap hook).
 *  4. Reports data/hu/done and keeps the bitmap page alive.
 *
 * Every step prints one "hu-guest:" line on the console.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>
#include <xenstore.h>

#define TAG_SUBOP 0x7ead
#define HYPERVISOR_xen_version 17
#define KPF_BUDDY 10

struct privcmd_hypercall {
  uint64_t op;
  uint64_t arg[5];
};
#define IOCTL_PRIVCMD_HYPERCALL _IOC(_IOC_NONE, 'P', 0, sizeof(struct privcmd_hypercall))

static struct xs_handle* xs;
static char base[64];

static void die(const char* what) {
  printf("hu-guest: FAIL %s: %s\n", what, strerror(errno));
  fflush(stdout);
  exit(1);
}

static void put(const char* key, const char* val) {
  char path[128];

  snprintf(path, sizeof(path), "%s/%s", base, key);
  if (!xs_write(xs, XBT_NULL, path, val, strlen(val))) die(path);
}

static char* get(const char* key) {
  char path[128];
  unsigned int len;

  snprintf(path, sizeof(path), "%s/%s", base, key);
  return xs_read(xs, XBT_NULL, path, &len);
}

static uint64_t pread_u64(int fd, uint64_t index, const char* what) {
  uint64_t v;

  if (pread(fd, &v, sizeof(v), index * sizeof(v)) != sizeof(v)) die(what);
  return v;
}

int main(int argc, char** argv) {
  unsigned long first, count, calls, touch, i;
  unsigned int len;
  char *domid, *hex, *go;
  uint8_t* page;
  uint64_t pfn;
  int kpf, pm, priv, tries;

  if (argc != 5) {
    fprintf(stderr, "usage: %s FIRST_PFN COUNT CALLS TOUCH\n", argv[0]);
    return 2;
  }
  first = strtoul(argv[1], NULL, 0);
  count = strtoul(argv[2], NULL, 0);
  calls = strtoul(argv[3], NULL, 0);
  touch = strtoul(argv[4], NULL, 0);
  /* Its hex copy must fit xenstored's default 2048-byte node quota. */
  if (!count || count > 8 * 900) {
    fprintf(stderr, "hu-guest: COUNT must be 1..7200\n");
    return 2;
  }

  xs = xs_open(0);
  if (!xs) die("xs_open");
  domid = xs_read(xs, XBT_NULL, "domid", &len);
  if (!domid) die("read domid");
  snprintf(base, sizeof(base), "/local/domain/%s/data/hu", domid);

  /* The page the mem.reclaim program reads, by guest-physical address. */
  page = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
              MAP_PRIVATE | MAP_ANONYMOUS | MAP_LOCKED | MAP_POPULATE, -1, 0);
  if (page == MAP_FAILED) die("mmap");
  memset(page, 0, 4096);

  kpf = open("/proc/kpageflags", O_RDONLY);
  if (kpf < 0) die("/proc/kpageflags");
  for (i = 0; i < count; i++)
    if (pread_u64(kpf, first + i, "kpageflags") & (1ULL << KPF_BUDDY)) page[i / 8] |= 1u << (i % 8);
  close(kpf);

  pm = open("/proc/self/pagemap", O_RDONLY);
  if (pm < 0) die("/proc/self/pagemap");
  pfn = pread_u64(pm, (uintptr_t)page / 4096, "pagemap");
  close(pm);
  if (!(pfn >> 63) || !(pfn & ((1ULL << 55) - 1))) die("bitmap page not present");
  pfn &= (1ULL << 55) - 1;

  hex = malloc(2 * ((count + 7) / 8) + 1);
  if (!hex) die("malloc");
  for (i = 0; i < (count + 7) / 8; i++) sprintf(hex + 2 * i, "%02x", page[i]);

  {
    char v[32];
    unsigned long nfree = 0;

    for (i = 0; i < count; i++) nfree += (page[i / 8] >> (i % 8)) & 1;
    snprintf(v, sizeof(v), "%#" PRIx64, pfn << 12);
    put("bitmap_gpa", v);
    snprintf(v, sizeof(v), "%lu", first);
    put("first", v);
    snprintf(v, sizeof(v), "%lu", count);
    put("count", v);
    put("bitmap", hex);
    put("go", "0");
    put("ready", "1");
    printf("hu-guest: ready dom=%s bitmap_gpa=%#" PRIx64 " first=%#lx count=%lu free=%lu\n", domid,
           pfn << 12, first, count, nfree);
    fflush(stdout);
  }

  for (tries = 0;; tries++) {
    go = get("go");
    if (go && !strcmp(go, "1")) break;
    free(go);
    if (tries > 3000) {
      errno = ETIMEDOUT;
      die("waiting for data/hu/go");
    }
    usleep(100000);
  }

  priv = open("/dev/xen/privcmd", O_RDWR);
  if (priv < 0) die("/dev/xen/privcmd");
  for (i = 0; i < calls; i++) {
    struct privcmd_hypercall h = {
        .op = HYPERVISOR_xen_version,
        .arg = {TAG_SUBOP, i},
    };

    /* Xen refuses the sub-op; the hook runs before it does. */
    if (ioctl(priv, IOCTL_PRIVCMD_HYPERCALL, &h) >= 0)
      printf("hu-guest: note: tagged hypercall %lu succeeded\n", i);
  }
  close(priv);

  if (touch) {
    volatile uint8_t* fresh =
        mmap(NULL, touch * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

    if (fresh == MAP_FAILED) die("mmap fresh pages");
    for (i = 0; i < touch; i++) fresh[i * 4096] = 1;
  }

  {
    char v[32];

    snprintf(v, sizeof(v), "%lu", calls);
    put("done", v);
  }
  printf("hu-guest: done calls=%lu touched=%lu\n", calls, touch);
  fflush(stdout);

  for (;;) pause();
}
