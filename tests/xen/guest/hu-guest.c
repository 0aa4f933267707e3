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
 *     With --memory-op they are memory_op calls with an unknown command
 *     (0x3f) instead, which policies/trace.bpf.c copies to the trace ring
 *     with both arguments; the kernel itself uses xen_version(0) to poll
 *     for events, so xen_version counts are never exact for a policy that
 *     does not look at the sub-op.
 *     Then touches `touch` fresh pages, so at least that many page faults
 *     are bounced to the guest kernel (trace.exit's trap hook).
 *  4. Reports data/hu/done and keeps the bitmap page alive.
 *
 * It also times hypercalls, for the cost of an exit with and without a
 * trace.exit program (tests/xen/README.md): before dom0's go (no program
 * yet) 2000 xen_version calls with another unknown sub-op, and then the
 * tagged calls themselves (dom0 has installed its program by then; not
 * timed with --batch, whose acks would count), as data/hu/exit_ns_none and
 * data/hu/exit_ns_prog, nanoseconds per call from the guest's clock: the
 * fastest block of 100 calls, since on a loaded machine under TCG the
 * average mostly measures the other tenants.
 *
 * With --batch N the calls go in batches of N: after each, the guest
 * publishes data/hu/sent (calls made so far) and waits until dom0 writes
 * the same number to data/hu/ack. dom0 acks once it has seen the batch's
 * trace records, so Xen's per-domain trace ring (64 KiB, about 1100 of
 * trace.bpf.c's records) never overflows however fast the calls come.
 *
 * With --rounds R, after reporting done it waits for dom0 to write go=2,
 * makes `calls` more calls (their indices continuing where the last round
 * stopped), reports done=2*calls, and so on up to round R. Its xenstore
 * paths are relative to its own domain, so the rounds follow the guest
 * through save/restore and migration, where its domain id changes.
 *
 * With --kallsyms FILE (before the four numbers) it also writes FILE, a
 * kallsyms table with one symbol, page_free_bitmap, for policies/reclaim.bpf.c:
 * that program reads bit (gfn & 7) of byte gfn / 8 of the bitmap by guest-
 * virtual address. The page holds bytes first / 8 onwards of such a bitmap
 * (FIRST must be a multiple of 8), so the symbol is the page's kernel
 * direct-map address minus first / 8. A reclaim scan reads it through vCPU
 * 0's page tables, whatever process runs there, and the direct map is in
 * every one of them. The direct map's base comes from /proc/kcore (the
 * kernel's own answer); without kcore, 0xffff888000000000, which a 64-bit PV
 * kernel keeps since it never runs the KASLR decompressor. A wrong address
 * cannot pass: dom0 compares the scan with the xenstore copy.
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
#include <time.h>
#include <unistd.h>

#include "guest_xs.h"
#include "kcore.h"

#define TAG_SUBOP 0x7ead
#define UNTAGGED_SUBOP 0x7eae
#define TIMED_CALLS 2000
#define HYPERVISOR_xen_version 17
#define HYPERVISOR_memory_op 12
/* A memory_op command Xen does not have (no extent bits: below 64). */
#define TAG_MEMORY_OP 0x3f
#define KPF_BUDDY 10
#define PV_PAGE_OFFSET 0xffff888000000000ULL

/* Waits, polling every poll_us for at most tries polls, until dom0 has
 * written a number of at least want to data/hu/key. */
static void wait_at_least(const char* key, unsigned long want, useconds_t poll_us, int tries) {
  char what[64];

  for (; tries >= 0; tries--) {
    char* v = get(key);
    unsigned long n = v ? strtoul(v, NULL, 10) : 0;

    free(v);
    if (n >= want) return;
    usleep(poll_us);
  }
  errno = ETIMEDOUT;
  snprintf(what, sizeof(what), "waiting for data/hu/%s", key);
  die(what);
}

/* Publishes how many calls were made and waits for dom0 to ack them. */
static void wait_ack(unsigned long sent) {
  char v[32];

  snprintf(v, sizeof(v), "%lu", sent);
  put("sent", v);
  wait_at_least("ack", sent, 10000, 60000);
}

static uint64_t pread_u64(int fd, uint64_t index, const char* what) {
  uint64_t v;

  if (pread(fd, &v, sizeof(v), index * sizeof(v)) != sizeof(v)) die(what);
  return v;
}

struct direct_map_req {
  uint64_t gpa;
  uint64_t va;
};

static int ram_segment_holding(int fd, const struct kcore_seg* seg, void* arg) {
  struct direct_map_req* r = arg;

  (void)fd;
  if (seg->vaddr >= KCORE_KERNEL_TEXT_BASE || seg->paddr == (uint64_t)-1) return 0;
  if (r->gpa < seg->paddr || r->gpa - seg->paddr >= seg->memsz) return 0;
  r->va = seg->vaddr + (r->gpa - seg->paddr);
  return 1;
}

/*
 * The kernel virtual address of guest-physical address gpa in the direct
 * map, from the RAM segment of /proc/kcore holding it; *how says where the
 * answer came from.
 */
static uint64_t direct_map_address(uint64_t gpa, const char** how) {
  struct direct_map_req r = {gpa, 0};

  switch (kcore_each(ram_segment_holding, &r)) {
    case 1:
      *how = "/proc/kcore";
      return r.va;
    case -1:
      *how = "assumed PV PAGE_OFFSET (no or unreadable /proc/kcore)";
      return PV_PAGE_OFFSET + gpa;
    default:
      *how = "assumed PV PAGE_OFFSET (no kcore RAM segment holds the page)";
      return PV_PAGE_OFFSET + gpa;
  }
}

static uint64_t now_ns(void) {
  struct timespec ts;

  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

#define TIMED_BLOCK 100

/* The fastest block of TIMED_BLOCK calls so far, in ns per call. */
struct timing {
  uint64_t block_start, best;
  unsigned long in_block;
};

static void timing_start(struct timing* t) {
  t->block_start = now_ns();
  t->best = UINT64_MAX;
  t->in_block = 0;
}

static void timing_call_done(struct timing* t) {
  if (++t->in_block < TIMED_BLOCK) return;
  uint64_t now = now_ns(), per_call = (now - t->block_start) / TIMED_BLOCK;

  if (per_call < t->best) t->best = per_call;
  t->block_start = now;
  t->in_block = 0;
}

/* Publishes the fastest block's ns per call under data/hu/key. */
static void put_timing(const char* key, const struct timing* t) {
  char v[32];

  snprintf(v, sizeof(v), "%" PRIu64, t->best == UINT64_MAX ? 0 : t->best);
  put(key, v);
  printf("hu-guest: %s=%s\n", key, v);
}

/* Writes path atomically (a reader waiting for it never sees half a file). */
static void write_kallsyms(const char* path, uint64_t addr) {
  char tmp[256];
  FILE* f;

  snprintf(tmp, sizeof(tmp), "%s.tmp", path);
  f = fopen(tmp, "w");
  if (!f) die(tmp);
  fprintf(f, "%016" PRIx64 " D page_free_bitmap\n", addr);
  if (fclose(f) || rename(tmp, path)) die(path);
}

/* Tagged calls with indices [from, from + n), batched as --batch asks,
 * timed into t when it is not NULL. */
static void make_calls(int priv, int memory_op, unsigned long batch, unsigned long from,
                       unsigned long n, struct timing* t) {
  unsigned long i;

  for (i = from; i < from + n; i++) {
    struct privcmd_hypercall h = {
        .op = memory_op ? HYPERVISOR_memory_op : HYPERVISOR_xen_version,
        .arg = {memory_op ? TAG_MEMORY_OP : TAG_SUBOP, i},
    };

    /* Xen refuses the sub-op; the hook runs before it does. */
    if (ioctl(priv, IOCTL_PRIVCMD_HYPERCALL, &h) >= 0)
      printf("hu-guest: note: tagged hypercall %lu succeeded\n", i);
    if (t) timing_call_done(t);
    if (batch && (i + 1) % batch == 0 && i + 1 < from + n) wait_ack(i + 1);
  }
}

static void put_number(const char* key, unsigned long n) {
  char v[32];

  snprintf(v, sizeof(v), "%lu", n);
  put(key, v);
}

int main(int argc, char** argv) {
  const char* kallsyms = NULL;
  unsigned long rounds = 1, round;
  int memory_op = 0;
  unsigned long batch = 0;
  unsigned long first, count, calls, touch, i;
  const char* domid;
  char* hex;
  uint8_t* page;
  struct timing t_calls;
  uint64_t pfn;
  int kpf, pm, priv;

  while (argc > 1 && !strncmp(argv[1], "--", 2)) {
    if (argc > 2 && !strcmp(argv[1], "--kallsyms")) {
      kallsyms = argv[2];
      argv++;
      argc--;
    } else if (!strcmp(argv[1], "--memory-op")) {
      memory_op = 1;
    } else if (argc > 2 && !strcmp(argv[1], "--rounds")) {
      rounds = strtoul(argv[2], NULL, 0);
      argv++;
      argc--;
    } else if (argc > 2 && !strcmp(argv[1], "--batch")) {
      batch = strtoul(argv[2], NULL, 0);
      argv++;
      argc--;
    } else {
      break;
    }
    argv++;
    argc--;
  }
  if (argc != 5) {
    fprintf(
        stderr,
        "usage: hu-guest [--kallsyms FILE] [--memory-op] [--batch N] [--rounds R] FIRST_PFN COUNT "
        "CALLS "
        "TOUCH\n");
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
  if (kallsyms && first % 8) {
    fprintf(stderr, "hu-guest: with --kallsyms, FIRST_PFN must be a multiple of 8\n");
    return 2;
  }

  domid = xs_base("data/hu");

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

    snprintf(v, sizeof(v), "%#" PRIx64, pfn << 12);
    put("bitmap_gpa", v);
    snprintf(v, sizeof(v), "%lu", first);
    put("first", v);
    snprintf(v, sizeof(v), "%lu", count);
    put("count", v);
    put("bitmap", hex);
    if (kallsyms) {
      const char* how;
      uint64_t va = direct_map_address(pfn << 12, &how);

      write_kallsyms(kallsyms, va - first / 8);
      snprintf(v, sizeof(v), "%#" PRIx64, va);
      put("bitmap_gva", v);
      printf("hu-guest: bitmap page at %#" PRIx64 " (%s); page_free_bitmap=%#" PRIx64 " in %s\n",
             va, how, va - first / 8, kallsyms);
    }
    put("go", "0");
    put("sent", "0");
    put("ack", "0");
  }

  priv = open("/dev/xen/privcmd", O_RDWR);
  if (priv < 0) die("/dev/xen/privcmd");
  {
    struct privcmd_hypercall h = {.op = HYPERVISOR_xen_version, .arg = {UNTAGGED_SUBOP}};
    struct timing t;

    timing_start(&t);
    for (i = 0; i < TIMED_CALLS; i++) {
      ioctl(priv, IOCTL_PRIVCMD_HYPERCALL, &h);
      timing_call_done(&t);
    }
    put_timing("exit_ns_none", &t);
  }

  {
    unsigned long nfree = 0;

    for (i = 0; i < count; i++) nfree += (page[i / 8] >> (i % 8)) & 1;
    put("ready", "1");
    printf("hu-guest: ready dom=%s bitmap_gpa=%#" PRIx64 " first=%#lx count=%lu free=%lu\n", domid,
           pfn << 12, first, count, nfree);
    fflush(stdout);
  }

  wait_at_least("go", 1, 100000, 3000);

  timing_start(&t_calls);
  make_calls(priv, memory_op, batch, 0, calls, &t_calls);
  if (!batch) put_timing("exit_ns_prog", &t_calls);

  if (touch) {
    volatile uint8_t* fresh =
        mmap(NULL, touch * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

    if (fresh == MAP_FAILED) die("mmap fresh pages");
    for (i = 0; i < touch; i++) fresh[i * 4096] = 1;
  }

  put_number("done", calls);
  printf("hu-guest: done calls=%lu touched=%lu\n", calls, touch);
  fflush(stdout);

  /* Later rounds may come after a save/restore or a migration: wait long. */
  for (round = 2; round <= rounds; round++) {
    wait_at_least("go", round, 100000, 36000);
    make_calls(priv, memory_op, batch, (round - 1) * calls, calls, NULL);
    put_number("done", round * calls);
    printf("hu-guest: round %lu done calls=%lu\n", round, round * calls);
    fflush(stdout);
  }

  for (;;) pause();
}
