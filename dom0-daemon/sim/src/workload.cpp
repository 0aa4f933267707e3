// What the guests do on their own while they run: allocate and free pages
// (keeping the kernel's free-page bitmap), take and drop spinlocks (lock
// depth and preempt_count in per-CPU data), shoot down TLBs, make
// hypercalls, fault, idle, and now and then write to protected kernel data.
#include <fmt/format.h>

#include "model.hpp"
#include "page_tables.hpp"

namespace hu::daemon::sim {

using namespace layout;

namespace {
// Xen hypercall numbers a Linux PV guest makes most.
constexpr uint64_t kHypercalls[] = {29 /* sched_op */, 32 /* event_channel_op */,
                                    12 /* memory_op */, 24 /* vcpu_op */, 20 /* grant_table_op */};
}  // namespace

void Model::Acquire(Guest& g, Vcpu& v) {
  // spin_lock(): preempt_disable() then take the lock.
  g.SetPreemptCount(v.id, g.PreemptCount(v.id) + 1);
  g.SetSpinDepth(v.id, g.SpinDepth(v.id) + 1);
  v.lock_release_ns = now_ns + (1 + Rand(8)) * uint64_t{opt.tick_us} * 1000;
  v.rip = kText + kRawSpinLockOff + 0x10;
  ++counters.lock_acquires;
}

void Model::ReleaseLock(Guest& g, Vcpu& v) {
  const uint32_t depth = g.SpinDepth(v.id);
  if (depth == 0) return;
  g.SetSpinDepth(v.id, depth - 1);
  const uint32_t pc = g.PreemptCount(v.id);
  g.SetPreemptCount(v.id, pc ? pc - 1 : 0);
  v.rip = kText + kRawSpinUnlockOff + 0x8;
  v.lock_release_ns = now_ns + (1 + Rand(4)) * uint64_t{opt.tick_us} * 1000;
}

void Model::Touch(Guest& g, uint64_t gfn) {
  auto& st = g.frame_state()[gfn];
  if (st == FrameState::kResident) return;
  if (st == FrameState::kSwapped) ++counters.swap_ins;
  --nonresident;
  st = FrameState::kResident;  // a discarded frame comes back as a zero page
}

void Model::AllocPage(Guest& g, Vcpu& v) {
  const uint64_t frames = g.frames();
  const uint64_t start = Rand(frames);
  for (uint64_t i = 0; i < frames; ++i) {
    const uint64_t gfn = (start + i) % frames;
    if (!g.IsFree(gfn)) continue;
    g.SetFree(gfn, false);
    Touch(g, gfn);
    g.mem().Put<uint64_t>(gfn << kPageShift, 0xa11c0000'00000000ull | gfn);
    ++counters.page_allocs;
    v.rip = kText + 0x9000 + Rand(0x100);
    return;
  }
}

void Model::FreePage(Guest& g, Vcpu& v) {
  const uint64_t frames = g.frames();
  const uint64_t start = Rand(frames);
  for (uint64_t i = 0; i < frames; ++i) {
    const uint64_t gfn = (start + i) % frames;
    if (g.IsFree(gfn) || g.Pinned(gfn)) continue;
    Touch(g, gfn);  // free_pages() touches struct page and often the page
    g.SetFree(gfn, true);
    ++counters.page_frees;
    v.rip = kText + 0xa000 + Rand(0x100);
    return;
  }
}

uint32_t Model::TlbShootdown(Guest& g, uint32_t src, uint64_t va, uint64_t nr_pages) {
  ++counters.tlb_shootdowns;
  g.vcpus()[src].rip = kText + kFlushTlbMultiOff + 0x20;
  const uint32_t flags = va == HU_TLB_FLUSH_ALL ? HU_TLB_F_GLOBAL : 0;
  uint32_t deferred = 0;
  for (Vcpu& t : g.vcpus()) {
    if (t.id == src) continue;
    if (t.running) {  // a running target takes the IPI; no decision to make
      ++counters.tlb_ipis;
      continue;
    }
    if (FireTlbFlush(g, src, t.id, va, nr_pages, flags).value_or(false)) {
      ++t.pending_flushes;
      ++counters.tlb_deferred;
      ++deferred;
    } else {
      ++counters.tlb_ipis;
      Wake(g, t.id);  // the IPI wakes an idle target
    }
  }
  return deferred;
}

bool Model::GuestWrite(Guest& g, uint32_t vcpu, uint64_t gva, uint64_t rip, uint64_t value,
                       uint32_t size) {
  Vcpu& v = g.vcpus()[vcpu];
  v.rip = rip;
  auto t = WalkPageTables(g.mem(), v.cr3, gva);
  if (!t.ok()) return false;
  const uint64_t ro = Guest::ImageGpa(kRoAfterInit);
  if (t->gpa >= ro && t->gpa < ro + kRoAfterInitSize) {
    ++counters.protect_writes;
    // DENY drops the write and the instruction completes (abi.h): no
    // fault, which in kernel code would bring the guest down.
    if (FireProtect(g, vcpu, t->gpa, gva, rip, value, size).value_or(false)) {
      ++counters.protect_denied;
      return false;
    }
  }
  return g.mem().Write(t->gpa, &value, size);
}

void Model::Step(Guest& g, Vcpu& v) {
  if (g.SpinDepth(v.id) > 0 && now_ns >= v.lock_release_ns) ReleaseLock(g, v);

  const uint64_t r = Rand(1000);
  if (r < 120) {
    AllocPage(g, v);
  } else if (r < 240) {
    FreePage(g, v);
  } else if (r < 300) {
    if (g.SpinDepth(v.id) < 2) Acquire(g, v);
  } else if (r < 360) {
    ++counters.hypercalls;
    const uint64_t code = kHypercalls[Rand(std::size(kHypercalls))];
    const uint64_t args[6] = {
        Rand(4), kDirectMap + (Rand(g.frames()) << kPageShift), Rand(16), 0, 0, 0};
    v.rip = kText + kHypercallPageOff + code * 32;
    FireTraceExit(g, v.id, HU_EXIT_HYPERCALL, code, args);
  } else if (r < 390) {
    ++counters.traps;
    const uint64_t cr2 = 0x400000 + Rand(0x10000);
    const uint64_t args[6] = {4 /* user read, not present */, cr2, 0, 0, 0, 0};
    v.rip = 0x400000 + Rand(0x1000);
    FireTraceExit(g, v.id, HU_EXIT_TRAP, 14 /* #PF */, args);
    v.rip = kText + kExcPageFaultOff;
  } else if (r < 420) {
    const bool all = Rand(4) == 0;
    TlbShootdown(g, v.id, all ? HU_TLB_FLUSH_ALL : kDirectMap + (Rand(g.frames()) << kPageShift),
                 all ? 0 : 1 + Rand(4));
  } else if (r < 425) {
    // Jump-label patching goes through text_poke; anything else writing
    // ro_after_init data is an attack (a rootkit module, say).
    const bool legit = Rand(2) == 0;
    const uint64_t rip = legit ? kText + kTextPokeOff + 0x40 : kModuleRip;
    GuestWrite(g, v.id, kRoAfterInit + 8 * Rand(kRoAfterInitSize / 8), rip, rng(), 8);
  } else if (r < 470) {
    if (g.SpinDepth(v.id) == 0) {
      // HLT in the idle loop: a VM exit (reason 12) before the vCPU blocks.
      ++counters.vmexits;
      const uint64_t args[6] = {};
      v.rip = kText + kDefaultIdleOff + 0x10;
      FireTraceExit(g, v.id, HU_EXIT_VMEXIT, 12, args);
      GoIdle(g, v.id, (2 + Rand(20)) * uint64_t{opt.tick_us} * 1000);
    }
  } else {
    // Ordinary work: touch one of its pages, sometimes switch process.
    const uint64_t gfn = Rand(g.frames());
    if (!g.IsFree(gfn) && !g.Pinned(gfn)) Touch(g, gfn);
    if (Rand(50) == 0) {
      v.process = static_cast<uint32_t>(Rand(g.process_cr3().size()));
      v.cr3 = g.process_cr3()[v.process];
      g.SetCurrentTask(v.id, g.TaskAddress(v.process));
    }
    v.rip = kText + 0x10000 + Rand(0x1000);
  }
}

}  // namespace hu::daemon::sim
