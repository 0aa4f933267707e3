/* SPDX-License-Identifier: MIT */
/*
 * hu-shootdown: TLB shootdown latency as the initiating thread sees it, for
 * the tlb.flush benchmark (tests/xen/README.md).
 *
 *   hu-shootdown SECONDS
 *
 * One thread per online CPU but the first keeps reading a shared page, so
 * the process's address space is live (not lazy) on every CPU; the main
 * thread, on CPU 0, flips the page between read-only and read-write with
 * mprotect() for SECONDS. Each flip changes a PTE, so the kernel shoots
 * the TLB of every other CPU down and waits for all of them: the time one
 * mprotect() takes is that wait, plus the local work. When a target vCPU
 * is preempted by the hypervisor, it is the wait for that vCPU to run.
 * Prints one line:
 *   hu-shootdown: cpus=N flips=F p50_us=.. p90_us=.. p99_us=.. max_us=.. mean_us=..
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

static volatile int stop;
static volatile uint64_t* page;

static uint64_t now_ns(void) {
  struct timespec ts;

  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void pin(int cpu) {
  cpu_set_t set;

  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  if (sched_setaffinity(0, sizeof(set), &set)) perror("hu-shootdown: sched_setaffinity");
}

static void* reader(void* arg) {
  uint64_t sum = 0;

  pin((int)(intptr_t)arg);
  while (!stop) sum += page[0];
  return (void*)(uintptr_t)sum;
}

static int cmp(const void* a, const void* b) {
  uint64_t x = *(const uint64_t*)a, y = *(const uint64_t*)b;

  return x < y ? -1 : x > y;
}

int main(int argc, char** argv) {
  long cpus = sysconf(_SC_NPROCESSORS_ONLN);
  double seconds = argc > 1 ? atof(argv[1]) : 10;
  size_t cap = 1 << 20, n = 0;
  uint64_t* lat = malloc(cap * sizeof(*lat));
  pthread_t* t = calloc(cpus, sizeof(*t));
  uint64_t end, total = 0;

  page = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (!lat || !t || page == MAP_FAILED) {
    perror("hu-shootdown");
    return 1;
  }
  page[0] = 1;
  pin(0);
  for (long c = 1; c < cpus; c++) pthread_create(&t[c], NULL, reader, (void*)(intptr_t)c);
  usleep(200000); /* every reader on its CPU */

  end = now_ns() + (uint64_t)(seconds * 1e9);
  for (int flip = 0; n < cap; flip ^= 1) {
    uint64_t t0 = now_ns(), t1;

    if (mprotect((void*)page, 4096, flip ? PROT_READ | PROT_WRITE : PROT_READ)) {
      perror("hu-shootdown: mprotect");
      return 1;
    }
    t1 = now_ns();
    lat[n++] = t1 - t0;
    total += t1 - t0;
    if (t1 >= end) break;
  }
  stop = 1;
  for (long c = 1; c < cpus; c++) pthread_join(t[c], NULL);

  qsort(lat, n, sizeof(*lat), cmp);
  printf(
      "hu-shootdown: cpus=%ld flips=%zu p50_us=%llu p90_us=%llu p99_us=%llu max_us=%llu "
      "mean_us=%llu\n",
      cpus, n, (unsigned long long)lat[n / 2] / 1000, (unsigned long long)lat[n * 9 / 10] / 1000,
      (unsigned long long)lat[n * 99 / 100] / 1000, (unsigned long long)lat[n - 1] / 1000,
      (unsigned long long)(total / n) / 1000);
  return 0;
}
