/* SPDX-License-Identifier: MIT */
/*
 * hu-memcheck: the guest half of the reclaim checks in the Xen stage
 * (tests/xen/README.md, "mem.reclaim that reclaims").
 *
 *   hu-memcheck regions
 *     Prints the --region arguments policies/reclaim_buddy.bpf.c needs: the
 *     kernel variable vmemmap_base (8 bytes) and the struct page array for
 *     every frame of the guest's RAM, at the address vmemmap_base holds (read
 *     from /proc/kcore: the kernel's own answer, KASLR included).
 *
 *   hu-memcheck keep MIB
 *     Fills MIB MiB of locked memory with a pattern that differs per page
 *     and per run, so a page that comes back zeroed or swapped cannot pass,
 *     then follows dom0's commands in xenstore (data/hu/mem/cmd, answers in
 *     data/hu/mem/result, each command numbered by data/hu/mem/seq):
 *       verify      every kept page still holds its pattern
 *       alloc N     allocate N MiB more, write and read back each page (a
 *                   reclaimed frame comes back zeroed on its first touch)
 *       free        drop what "alloc" allocated
 *     It never exits, so the kept pages stay in use.
 *
 *   hu-memcheck domctl-probe
 *     Issues XEN_DOMCTL_hyperupcall (list) on its own domain, as a guest
 *     must never be allowed to, and prints the errno Xen answered (EACCES
 *     under FLASK, EPERM under the dummy policy, ENOSYS without our patches).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "guest_xs.h"
#include "kcore.h"

#define PAGE 4096UL
#define MIB (1024UL * 1024)
#define STRUCT_PAGE_SIZE 64 /* Linux 6.1 x86_64 */
#define HYPERVISOR_domctl 36
#define XEN_DOMCTL_hyperupcall 87
#define XEN_DOMCTL_INTERFACE_VERSION 0x15
#define HU_OP_list 2

/* The address of a symbol in /proc/kallsyms (as root: not hidden). */
static uint64_t ksym(const char* name) {
  char line[256], sym[128], type;
  uint64_t addr;
  FILE* f = fopen("/proc/kallsyms", "r");

  if (!f) die("/proc/kallsyms");
  while (fgets(line, sizeof(line), f)) {
    if (sscanf(line, "%" SCNx64 " %c %127s", &addr, &type, sym) == 3 && !strcmp(sym, name)) {
      fclose(f);
      return addr;
    }
  }
  fclose(f);
  errno = ENOENT;
  die(name);
  return 0;
}

/* One past the last frame of System RAM in /proc/iomem. */
static uint64_t ram_frames(void) {
  char line[256];
  uint64_t start, end, top = 0;
  FILE* f = fopen("/proc/iomem", "r");

  if (!f) die("/proc/iomem");
  while (fgets(line, sizeof(line), f)) {
    if (line[0] != ' ' && strstr(line, ": System RAM") &&
        sscanf(line, "%" SCNx64 "-%" SCNx64, &start, &end) == 2 && end + 1 > top)
      top = end + 1;
  }
  fclose(f);
  return top / PAGE;
}

static int regions(void) {
  uint64_t var = ksym("vmemmap_base"), vmemmap;

  if (kcore_read_u64(var, &vmemmap)) die("reading vmemmap_base through /proc/kcore");
  printf("--region 0x%" PRIx64 ":8 --region 0x%" PRIx64 ":0x%" PRIx64 "\n", var, vmemmap,
         ram_frames() * STRUCT_PAGE_SIZE);
  return 0;
}

static int domctl_probe(void) {
  struct {
    uint32_t cmd, interface_version;
    uint16_t domain, pad[3];
    uint8_t u[128];
  } * d;
  const char* domid = xs_base("data/hu");
  int priv, rc;

  d = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_LOCKED, -1, 0);
  if (d == MAP_FAILED) die("mmap");
  memset(d, 0, sizeof(*d));
  d->cmd = XEN_DOMCTL_hyperupcall;
  d->interface_version = XEN_DOMCTL_INTERFACE_VERSION;
  d->domain = (uint16_t)atoi(domid);
  d->u[0] = HU_OP_list; /* op; the rest (a list of 0 entries) stays 0 */
  priv = open("/dev/xen/privcmd", O_RDWR);
  if (priv < 0) die("/dev/xen/privcmd");
  {
    struct privcmd_hypercall h = {.op = HYPERVISOR_domctl, .arg = {(uintptr_t)d}};

    rc = ioctl(priv, IOCTL_PRIVCMD_HYPERCALL, &h);
  }
  if (rc >= 0)
    printf("hu-memcheck: domctl-probe dom=%s answered 0 (a guest managed its programs!)\n", domid);
  else
    printf("hu-memcheck: domctl-probe dom=%s errno=%d (%s)\n", domid, errno, strerror(errno));
  return 0;
}

static void putf(const char* key, const char* fmt, ...) __attribute__((format(printf, 2, 3)));
static void putf(const char* key, const char* fmt, ...) {
  char val[256];
  va_list ap;

  va_start(ap, fmt);
  vsnprintf(val, sizeof(val), fmt, ap);
  va_end(ap);
  put(key, val);
}

/* The word every 8 bytes of page i holds: its index and the run's seed. */
static uint64_t pattern(uint64_t seed, uint64_t page, uint64_t word) {
  uint64_t x = seed ^ (page * 0x9e3779b97f4a7c15ULL) ^ (word * 0xbf58476d1ce4e5b9ULL);

  return x ^ (x >> 31) ^ 1; /* never 0: a zeroed page fails */
}

static void fill(uint64_t* mem, uint64_t pages, uint64_t seed) {
  for (uint64_t p = 0; p < pages; p++)
    for (uint64_t w = 0; w < PAGE / 8; w++) mem[p * (PAGE / 8) + w] = pattern(seed, p, w);
}

/* Pages whose content is not the pattern any more. */
static uint64_t damaged(const uint64_t* mem, uint64_t pages, uint64_t seed) {
  uint64_t bad = 0;

  for (uint64_t p = 0; p < pages; p++)
    for (uint64_t w = 0; w < PAGE / 8; w++)
      if (mem[p * (PAGE / 8) + w] != pattern(seed, p, w)) {
        bad++;
        break;
      }
  return bad;
}

/* MemAvailable of /proc/meminfo in KiB (0 if unreadable): printed with an
 * allocation, so that a guest that ran short shows it. */
static uint64_t available_kib(void) {
  char line[128];
  uint64_t kib = 0;
  FILE* f = fopen("/proc/meminfo", "r");

  if (!f) return 0;
  while (fgets(line, sizeof(line), f))
    if (sscanf(line, "MemAvailable: %" SCNu64, &kib) == 1) break;
  fclose(f);
  return kib;
}

static __attribute__((noreturn)) void keep(unsigned long mib) {
  uint64_t pages = mib * MIB / PAGE, seed = (uint64_t)time(NULL) * 2654435761u, done = 0;
  uint64_t* mem;
  uint64_t* extra = NULL;
  uint64_t extra_pages = 0;

  xs_base("data/hu/mem");

  mem = mmap(NULL, pages * PAGE, PROT_READ | PROT_WRITE,
             MAP_PRIVATE | MAP_ANONYMOUS | MAP_LOCKED | MAP_POPULATE, -1, 0);
  if (mem == MAP_FAILED) die("mmap kept pages");
  fill(mem, pages, seed);
  putf("kept_pages", "%" PRIu64, pages);
  put("seq", "0");
  put("ready", "1");
  printf("hu-memcheck: keeping %" PRIu64 " pages (%lu MiB) with a per-page pattern\n", pages, mib);
  fflush(stdout);

  for (;;) {
    char *seq = get("seq"), *cmd;
    uint64_t n = seq ? strtoull(seq, NULL, 10) : 0, arg = 0;

    free(seq);
    if (n <= done) {
      usleep(100000);
      continue;
    }
    done = n;
    cmd = get("cmd");
    if (!cmd) die("read cmd");
    if (!strcmp(cmd, "verify")) {
      uint64_t bad = damaged(mem, pages, seed);

      putf("result", "%" PRIu64 " verify pages=%" PRIu64 " intact=%" PRIu64 " damaged=%" PRIu64, n,
           pages, pages - bad, bad);
    } else if (sscanf(cmd, "alloc %" SCNu64, &arg) == 1 && arg > 0 && !extra) {
      extra_pages = arg * MIB / PAGE;
      printf("hu-memcheck: alloc %" PRIu64 " MiB, MemAvailable %" PRIu64 " KiB\n", arg,
             available_kib());
      fflush(stdout);
      extra = mmap(NULL, extra_pages * PAGE, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_LOCKED | MAP_POPULATE, -1, 0);
      if (extra == MAP_FAILED) {
        putf("result", "%" PRIu64 " alloc failed: %s", n, strerror(errno));
        extra = NULL;
      } else {
        fill(extra, extra_pages, ~seed);
        putf("result", "%" PRIu64 " alloc pages=%" PRIu64 " intact=%" PRIu64, n, extra_pages,
             extra_pages - damaged(extra, extra_pages, ~seed));
      }
    } else if (!strcmp(cmd, "free") && extra) {
      munmap(extra, extra_pages * PAGE);
      extra = NULL;
      putf("result", "%" PRIu64 " free pages=%" PRIu64, n, extra_pages);
    } else {
      putf("result", "%" PRIu64 " unknown command '%s'", n, cmd);
    }
    {
      char* r = get("result");

      printf("hu-memcheck: %s\n", r ? r : "(no result)");
      fflush(stdout);
      free(r);
    }
    free(cmd);
  }
}

int main(int argc, char** argv) {
  guest_name = "hu-memcheck";
  if (argc == 2 && !strcmp(argv[1], "regions")) return regions();
  if (argc == 2 && !strcmp(argv[1], "domctl-probe")) return domctl_probe();
  if (argc == 3 && !strcmp(argv[1], "keep")) keep(strtoul(argv[2], NULL, 0));
  fprintf(stderr, "usage: hu-memcheck regions | keep MIB | domctl-probe\n");
  return 2;
}
