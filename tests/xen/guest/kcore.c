/* SPDX-License-Identifier: MIT */
#include "kcore.h"

#include <elf.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

int kcore_each(int (*fn)(int fd, const struct kcore_seg* seg, void* arg), void* arg) {
  Elf64_Ehdr eh;
  Elf64_Phdr ph;
  int fd, i, rc = 0;

  fd = open("/proc/kcore", O_RDONLY);
  if (fd < 0) return -1;
  if (pread(fd, &eh, sizeof(eh), 0) != sizeof(eh) || memcmp(eh.e_ident, ELFMAG, SELFMAG) ||
      eh.e_phentsize != sizeof(ph)) {
    close(fd);
    return -1;
  }
  for (i = 0; i < eh.e_phnum && !rc; i++) {
    struct kcore_seg seg;

    if (pread(fd, &ph, sizeof(ph), eh.e_phoff + (uint64_t)i * sizeof(ph)) != sizeof(ph)) {
      rc = -1;
      break;
    }
    if (ph.p_type != PT_LOAD) continue;
    seg.vaddr = ph.p_vaddr;
    seg.paddr = ph.p_paddr;
    seg.memsz = ph.p_memsz;
    seg.offset = ph.p_offset;
    rc = fn(fd, &seg, arg);
  }
  close(fd);
  return rc;
}

struct read_req {
  uint64_t va;
  uint64_t* out;
};

static int read_in_segment(int fd, const struct kcore_seg* seg, void* arg) {
  struct read_req* r = arg;

  if (r->va < seg->vaddr || r->va - seg->vaddr + sizeof(uint64_t) > seg->memsz) return 0;
  return pread(fd, r->out, sizeof(uint64_t), seg->offset + (r->va - seg->vaddr)) == sizeof(uint64_t)
             ? 1
             : -1;
}

int kcore_read_u64(uint64_t va, uint64_t* out) {
  struct read_req r = {va, out};

  return kcore_each(read_in_segment, &r) == 1 ? 0 : -1;
}
