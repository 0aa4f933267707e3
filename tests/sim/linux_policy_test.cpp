// The Linux-guest policies for Xen (policies/tlb_linux.bpf.c,
// preempt_linux.bpf.c): loaded with the guest driver's loader against a
// kallsyms table shaped like a Debian guest's with hu_guest.ko, accepted by
// the verifier, then run by the interpreter against a model of the guest
// memory they read (hu_tlb_slots, per-CPU preempt counts), with helpers
// that behave as Xen's: reads and writes only inside the registered
// regions. Their decisions follow guest-driver/kmod/README.md's contract.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <vector>

#include "hyperupcall/interp.h"
#include "hyperupcall/verifier.hpp"
#include "policy_image.hpp"

namespace hu::simtest {
namespace {

constexpr uint64_t kSlots = 0xffffffffc0a01000;    // hu_tlb_slots [hu_guest]
constexpr uint64_t kPreemptOff = 0x2a00c;          // __preempt_count (per-CPU offset)
constexpr uint64_t kPercpu0 = 0xffff88803fc00000;  // CPU 0's per-CPU area
constexpr uint64_t kUnit = 0x40000;                // per-CPU unit size
constexpr uint64_t kSpinPv = 0xffffffff81a3c4d0, kSpinPvEnd = 0xffffffff81a3c7f0;
constexpr uint64_t kSpinNative = 0xffffffff81a3c100, kSpinNativeEnd = 0xffffffff81a3c4d0;
constexpr uint32_t kNr = 64, kSlotBytes = 64;

// Guest memory as the helpers see it: the bytes of each registered region.
struct Guest {
  std::map<uint64_t, std::vector<uint8_t>> mem;  // region start -> bytes
  std::vector<hu_region> regions;
  std::vector<uint8_t> map_values;
  int writes = 0;

  uint8_t* At(uint64_t addr, uint64_t len, bool write) {
    for (const auto& r : regions) {
      if (addr < r.start || len > r.len || addr - r.start > r.len - len) continue;
      if (write && !(r.flags & HU_REGION_WRITE)) return nullptr;
      auto& bytes = mem[r.start];
      bytes.resize(r.len);
      return bytes.data() + (addr - r.start);
    }
    return nullptr;
  }
  template <typename T>
  void Put(uint64_t addr, T v) {
    std::memcpy(At(addr, sizeof(v), false), &v, sizeof(v));
  }
  template <typename T>
  T Get(uint64_t addr) {
    T v;
    std::memcpy(&v, At(addr, sizeof(v), false), sizeof(v));
    return v;
  }
};

Guest* GuestOf(hu_run* run) { return static_cast<Guest*>(run->env); }

uint64_t Err(int e) { return static_cast<uint64_t>(-static_cast<int64_t>(e)); }

uint64_t MapLookup(hu_run* run, uint64_t, uint64_t key, uint64_t, uint64_t, uint64_t) {
  uint32_t k;
  std::memcpy(&k, reinterpret_cast<void*>(key), sizeof(k));
  auto& v = GuestOf(run)->map_values;
  return k * 8 + 8 <= v.size() ? reinterpret_cast<uint64_t>(v.data() + k * 8) : 0;
}

uint64_t ReadGva(hu_run* run, uint64_t dst, uint64_t size, uint64_t gva, uint64_t, uint64_t) {
  if (hu_interp_check(run, dst, size, 1) != HU_RUN_OK) return Err(HU_EFAULT);
  uint8_t* p = GuestOf(run)->At(gva, size, false);
  if (!p) {
    std::memset(reinterpret_cast<void*>(dst), 0, size);
    return Err(HU_EPERM);
  }
  std::memcpy(reinterpret_cast<void*>(dst), p, size);
  return 0;
}

uint64_t WriteGva(hu_run* run, uint64_t gva, uint64_t src, uint64_t size, uint64_t, uint64_t) {
  if (hu_interp_check(run, src, size, 0) != HU_RUN_OK) return Err(HU_EFAULT);
  uint8_t* p = GuestOf(run)->At(gva, size, true);
  if (!p) return Err(HU_EPERM);
  std::memcpy(p, reinterpret_cast<void*>(src), size);
  GuestOf(run)->writes++;
  return 0;
}

class LinuxPolicies : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("linux-policy-" + std::to_string(getpid()));
    std::filesystem::create_directories(dir_);
    std::ofstream k(dir_ / "kallsyms");
    k << std::hex << kPreemptOff << " D __preempt_count\n"
      << kSpinNative << " T native_queued_spin_lock_slowpath\n"
      << kSpinPv << " T __pv_queued_spin_lock_slowpath\n"
      << kSlots << " b hu_tlb_slots\t[hu_guest]\n"
      << kPercpu0 + kPreemptOff << " d hu_percpu_preempt_count\t[hu_guest]\n"
      << 3 * kUnit + 4 << " a hu_percpu_span\t[hu_guest]\n"
      << kSpinPv << " t hu_spin_pv\t[hu_guest]\n"
      << kSpinPvEnd << " t hu_spin_pv_end\t[hu_guest]\n"
      << kSpinNative << " t hu_spin_native\t[hu_guest]\n"
      << kSpinNativeEnd << " t hu_spin_native_end\t[hu_guest]\n";
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  // Loads and verifies the policy; its regions become guest_'s.
  void Load(const std::string& name) {
    auto img = LoadPolicyImage(name, (dir_ / "kallsyms").string(), 1, 1);
    ASSERT_TRUE(img.ok()) << img.error().message;
    hu::verifier::Options opts;
    opts.hook = img->hook;
    for (const auto& m : img->maps) opts.maps.push_back(m.def);
    const auto report = hu::verifier::Verify(img->insns, opts);
    ASSERT_TRUE(report.accepted) << report.error;
    img_ = *img;
    // As a backend does: map references become handles (here the index,
    // which our one map ignores).
    for (auto& insn : img_.insns) {
      if (insn.code == (HU_CLS_LD | HU_MODE_IMM | HU_SIZE_DW) && insn.src == HU_PSEUDO_MAP_IDX)
        insn.src = HU_PSEUDO_NONE;
    }
    guest_.regions = img_.regions;
    guest_.map_values.assign(8 * 8, 0);
  }

  uint64_t Run(const void* ctx, size_t ctx_size) {
    static const hu_helper_fn helpers[HU_HELPER_MAX] = {nullptr, MapLookup, nullptr,  nullptr,
                                                        ReadGva, nullptr,   WriteGva, nullptr,
                                                        nullptr, nullptr};
    std::vector<uint8_t> stack(HU_STACK_FRAME * HU_MAX_CALL_DEPTH);
    const hu_mem_region mem[] = {
        {reinterpret_cast<uint64_t>(ctx), ctx_size, 0, 0},
        {reinterpret_cast<uint64_t>(guest_.map_values.data()), guest_.map_values.size(), 1, 0}};
    hu_run run{};
    run.insns = img_.insns.data();
    run.ninsns = static_cast<uint32_t>(img_.insns.size());
    run.nhelpers = HU_HELPER_MAX;
    run.helpers = helpers;
    run.env = &guest_;
    run.regions = mem;
    run.nregions = 2;
    run.stack_size = static_cast<uint32_t>(stack.size());
    run.stack = stack.data();
    run.budget = 100000;
    EXPECT_EQ(hu_interp_run(&run, reinterpret_cast<uint64_t>(ctx), 0, 0), HU_RUN_OK)
        << "err_pc " << run.err_pc;
    return run.r0;
  }
  // The policies' maps keep counts per decision; ours is one flat array.
  uint64_t Count(uint32_t what) {
    return reinterpret_cast<uint64_t*>(guest_.map_values.data())[what];
  }

  std::filesystem::path dir_;
  daemon::ProgramImage img_;
  Guest guest_;
};

uint64_t SlotAddr(uint32_t src, uint32_t dst) {
  return kSlots + (static_cast<uint64_t>(src) * kNr + dst) * kSlotBytes;
}

TEST_F(LinuxPolicies, TlbDefersAndAcknowledgesAnOutstandingShootdown) {
  Load("tlb_linux");
  ASSERT_EQ(guest_.regions.size(), 1u);
  EXPECT_EQ(guest_.regions[0].start, kSlots);
  EXPECT_TRUE(guest_.regions[0].flags & HU_REGION_WRITE);
  guest_.Put<uint64_t>(SlotAddr(1, 3), 8);      // seq: request 4 published
  guest_.Put<uint64_t>(SlotAddr(1, 3) + 8, 6);  // ack: request 3 done
  hu_ctx_tlb_flush ctx{};
  ctx.src_vcpu = 1;
  ctx.dst_vcpu = 3;
  ctx.flags = HU_TLB_F_EVTCHN;
  EXPECT_EQ(Run(&ctx, sizeof(ctx)), uint64_t{HU_TLB_DEFER});
  EXPECT_EQ(guest_.Get<uint64_t>(SlotAddr(1, 3) + 8), 8u);  // acknowledged on dst's behalf
  EXPECT_EQ(guest_.writes, 1);
  // The same IPI again: nothing outstanding any more, so it is not a shootdown.
  EXPECT_EQ(Run(&ctx, sizeof(ctx)), uint64_t{HU_TLB_DELIVER});
  EXPECT_EQ(guest_.writes, 1);
  EXPECT_EQ(Count(1), 1u);
  EXPECT_EQ(Count(2), 1u);
}

TEST_F(LinuxPolicies, TlbDeliversWhatItCannotAnswerFor) {
  Load("tlb_linux");
  hu_ctx_tlb_flush ctx{};
  ctx.src_vcpu = 2;
  ctx.dst_vcpu = 0;
  guest_.Put<uint64_t>(SlotAddr(2, 0), 5);  // seq odd: the request is being written
  EXPECT_EQ(Run(&ctx, sizeof(ctx)), uint64_t{HU_TLB_DELIVER});
  ctx.src_vcpu = kNr;  // outside the slots: no read at all
  EXPECT_EQ(Run(&ctx, sizeof(ctx)), uint64_t{HU_TLB_DELIVER});
  ctx.src_vcpu = 0;
  ctx.dst_vcpu = kNr + 7;
  EXPECT_EQ(Run(&ctx, sizeof(ctx)), uint64_t{HU_TLB_DELIVER});
  EXPECT_EQ(guest_.writes, 0);
  // A read the host refuses (no region): DELIVER, nothing written.
  guest_.regions.clear();
  ctx.dst_vcpu = 1;
  EXPECT_EQ(Run(&ctx, sizeof(ctx)), uint64_t{HU_TLB_DELIVER});
  EXPECT_EQ(guest_.writes, 0);
}

TEST_F(LinuxPolicies, PreemptAsksGraceOnlyInAKernelCriticalSection) {
  Load("preempt_linux");
  ASSERT_EQ(guest_.regions.size(), 1u);
  EXPECT_EQ(guest_.regions[0].start, kPercpu0 + kPreemptOff);
  EXPECT_FALSE(guest_.regions[0].flags & HU_REGION_WRITE);
  const uint64_t cpu2 = kPercpu0 + 2 * kUnit;  // vCPU 2's GS base in kernel mode
  hu_ctx_sched_preempt ctx{};
  ctx.vcpu = 2;
  ctx.cpl = 0;
  ctx.gs_base = cpu2;
  ctx.rip = 0xffffffff81234567;
  ctx.rflags = 0x202;

  guest_.Put<uint32_t>(cpu2 + kPreemptOff, 0x80000001u);  // one spinlock held, no resched
  EXPECT_EQ(Run(&ctx, sizeof(ctx)), 200u);
  guest_.Put<uint32_t>(cpu2 + kPreemptOff, 0x80000000u);  // nothing held
  EXPECT_EQ(Run(&ctx, sizeof(ctx)), 0u);
  ctx.rflags = 0x2;  // interrupts off (spin_lock_irqsave's section)
  EXPECT_EQ(Run(&ctx, sizeof(ctx)), 200u);
  ctx.rflags = 0x202;
  guest_.Put<uint32_t>(cpu2 + kPreemptOff, 1);
  ctx.rip = kSpinPv + 0x40;  // waiting in the paravirtual slow path: not a holder
  EXPECT_EQ(Run(&ctx, sizeof(ctx)), 0u);
  ctx.rip = kSpinNative;
  EXPECT_EQ(Run(&ctx, sizeof(ctx)), 0u);
  ctx.rip = kSpinPvEnd;  // just past it
  EXPECT_EQ(Run(&ctx, sizeof(ctx)), 200u);
  ctx.cpl = 3;  // user mode holds no kernel lock
  EXPECT_EQ(Run(&ctx, sizeof(ctx)), 0u);
  ctx.cpl = 0;
  ctx.gs_base = 0xffff888100000000;  // outside the registered per-CPU areas
  EXPECT_EQ(Run(&ctx, sizeof(ctx)), 0u);
  EXPECT_EQ(Count(0), 3u);  // grace asked
  EXPECT_EQ(Count(2), 2u);  // waiters
  EXPECT_EQ(Count(4), 1u);  // unreadable
}

}  // namespace
}  // namespace hu::simtest
