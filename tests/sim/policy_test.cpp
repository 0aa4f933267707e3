// The five policies, compiled from C by the normal build and loaded with
// the guest driver's loader against a sim guest's kallsyms, give the
// decisions the model's ground truth calls for, at each hook's natural place.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <thread>

#include "hyperupcall/daemon/sim_backend.hpp"
#include "policy_image.hpp"

namespace hu::daemon::sim {
namespace {

class SimPolicies : public ::testing::Test {
 protected:
  SimPolicies() : dir_(TempDir()), sim_(Options(dir_)) {}
  ~SimPolicies() override { std::filesystem::remove_all(dir_); }

  static std::string TempDir() {
    static int n = 0;
    return (std::filesystem::temp_directory_path() /
            ("sim-policy-" + std::to_string(getpid()) + "-" + std::to_string(++n)))
        .string();
  }
  static SimOptions Options(const std::string& dir) {
    SimOptions o;
    o.kallsyms_dir = dir;
    return o;  // the default host: two 4-vCPU, 64 MiB guests on 2 pCPUs
  }

  // Loads policy `name` as program `id` on `domid`.
  void Load(const std::string& name, uint64_t id, uint32_t domid = 1, uint32_t max_grace_us = 0) {
    auto img =
        simtest::LoadPolicyImage(name, dir_ + "/" + std::to_string(domid) + "/kallsyms", id, domid);
    ASSERT_TRUE(img.ok()) << name << ": " << img.error().message;
    img->max_grace_us = max_grace_us;
    auto st = sim_.Install(*img);
    ASSERT_TRUE(st.ok()) << name << ": " << st.error().message;
  }

  uint64_t MapValue(uint32_t domid, uint64_t id, const std::vector<uint8_t>& key) {
    auto dump = sim_.MapDump(domid, id, 0);
    EXPECT_TRUE(dump.ok());
    if (!dump.ok()) return 0;
    for (const MapEntry& e : *dump)
      if (e.key == key) {
        uint64_t v = 0;
        std::memcpy(&v, e.value.data(), std::min<size_t>(8, e.value.size()));
        return v;
      }
    return 0;
  }
  static std::vector<uint8_t> U32Key(uint32_t k, int32_t vcpu = -1) {
    std::vector<uint8_t> key(4);
    std::memcpy(key.data(), &k, 4);
    if (vcpu >= 0) {
      key.resize(8);
      std::memcpy(key.data() + 4, &vcpu, 4);
    }
    return key;
  }

  std::string dir_;
  SimBackend sim_;
};

TEST_F(SimPolicies, ReclaimScanFindsExactlyTheGuestsFreeFrames) {
  Load("reclaim", 1);
  sim_.RunTicks(300);  // let the guest allocate and free for a while
  auto free = sim_.GuestFreeFrames(1);
  ASSERT_TRUE(free.ok());
  std::vector<uint64_t> want;
  for (uint64_t gfn = 0; gfn < free->size(); ++gfn)
    if ((*free)[gfn]) want.push_back(gfn);
  auto got = sim_.ReclaimScan(1, 0, free->size());
  ASSERT_TRUE(got.ok()) << got.error().message;
  EXPECT_EQ(*got, want);
  EXPECT_GT(want.size(), 1000u);
  // A sub-range asks only about its own frames.
  auto part = sim_.ReclaimScan(1, 0x2000, 64);
  ASSERT_TRUE(part.ok());
  for (uint64_t gfn : *part) EXPECT_TRUE((*free)[gfn] && gfn >= 0x2000 && gfn < 0x2040);
  // Its decision counts agree: [KEEP], [FREE].
  const auto stats = sim_.Stats(1, 1);
  EXPECT_EQ(stats->errors, 0u);
  EXPECT_EQ(MapValue(1, 1, U32Key(HU_RECLAIM_FREE)) + MapValue(1, 1, U32Key(HU_RECLAIM_KEEP)),
            stats->runs);
}

TEST_F(SimPolicies, OperatorReclaimTakesOnlyFreeFramesUpToTheLimit) {
  Load("reclaim", 1);
  sim_.RunTicks(300);
  auto free = sim_.GuestFreeFrames(1);
  ASSERT_TRUE(free.ok());
  const uint64_t nfree = static_cast<uint64_t>(std::count(free->begin(), free->end(), true));
  ASSERT_GT(nfree, 600u);

  // The host's own reclaim under pressure asks the program too: deltas.
  const uint64_t free0 = MapValue(1, 1, U32Key(HU_RECLAIM_FREE));
  const uint64_t keep0 = MapValue(1, 1, U32Key(HU_RECLAIM_KEEP));
  const uint64_t discarded0 = sim_.Counters().reclaim_discarded;
  auto r = sim_.Reclaim(1, 512);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->reclaimed, 512u);
  EXPECT_EQ(r->errors, 0u);
  EXPECT_EQ(MapValue(1, 1, U32Key(HU_RECLAIM_FREE)) - free0, r->reclaimed);
  EXPECT_EQ(MapValue(1, 1, U32Key(HU_RECLAIM_KEEP)) - keep0, r->kept);
  EXPECT_EQ(sim_.Counters().lost_pages, 0u);  // only frames the guest had free
  EXPECT_EQ(sim_.Counters().reclaim_discarded - discarded0, 512u);

  // Asking for more than is free takes what is free and stops at the end.
  auto rest = sim_.Reclaim(1, 1u << 30);
  ASSERT_TRUE(rest.ok());
  EXPECT_EQ(rest->walked, free->size());
  EXPECT_EQ(sim_.Counters().lost_pages, 0u);
  // The guest goes on allocating: reclaimed frames come back (zeroed).
  sim_.RunTicks(300);
  EXPECT_EQ(sim_.Counters().lost_pages, 0u);
}

TEST_F(SimPolicies, ReclaimUnderPressureDropsOnlyFreeFrames) {
  // Same host, same seed, without the policy: everything goes to swap.
  SimBackend baseline(Options(TempDir()));
  baseline.RunTicks(2000);
  const SimCounters b = baseline.Counters();

  Load("reclaim", 1, 1);
  Load("reclaim", 2, 2);
  sim_.RunTicks(2000);
  const SimCounters c = sim_.Counters();
  EXPECT_EQ(b.reclaim_discarded, 0u);
  EXPECT_GT(c.reclaim_discarded, 0u);
  EXPECT_LT(c.reclaim_swapped, b.reclaim_swapped);
  EXPECT_EQ(c.lost_pages, 0u);  // never dropped a frame the guest was using
  EXPECT_EQ(sim_.Stats(1, 1)->runs + sim_.Stats(2, 2)->runs, c.reclaim_asked);
}

TEST_F(SimPolicies, TlbFlushToALazyTargetIsDeferredOthersDelivered) {
  Load("tlb", 1);
  // vCPUs 0 and 1 run; 2 goes idle (lazy TLB); 3 waits, not lazy.
  ASSERT_TRUE(sim_.SetVcpuState(1, 2, 0, true).ok());
  auto v = *sim_.Vcpus(1);
  ASSERT_TRUE(v[0].running && v[1].running && !v[2].running && !v[3].running);
  ASSERT_TRUE(v[2].lazy_tlb && !v[3].lazy_tlb);

  auto deferred = sim_.TlbShootdown(1, 0, 0xffff888000200000ull, 2);
  ASSERT_TRUE(deferred.ok());
  EXPECT_EQ(*deferred, 1u);
  v = *sim_.Vcpus(1);
  EXPECT_EQ(v[2].pending_flushes, 1u);
  EXPECT_EQ(v[3].pending_flushes, 0u);
  // Two decisions (targets 2 and 3), counted in vCPU 0's copy.
  EXPECT_EQ(MapValue(1, 1, U32Key(HU_TLB_DEFER, 0)), 1u);
  EXPECT_EQ(MapValue(1, 1, U32Key(HU_TLB_DELIVER, 0)), 1u);
  EXPECT_EQ(sim_.Stats(1, 1)->runs, 2u);
  // The deferred flush is done when vCPU 2 next runs.
  ASSERT_TRUE(sim_.SetVcpuState(1, 2, 0, false).ok());
  ASSERT_TRUE(sim_.ScheduleVcpu(1, 2).ok());
  EXPECT_EQ((*sim_.Vcpus(1))[2].pending_flushes, 0u);
}

TEST_F(SimPolicies, PreemptGivesALockHolderOneGracePeriodPerSlice) {
  Load("preempt", 1);
  ASSERT_TRUE(sim_.SetVcpuState(1, 0, 1, false).ok());  // vCPU 0 holds a spinlock
  auto grace = sim_.PreemptNow(1, 0);
  ASSERT_TRUE(grace.ok()) << grace.error().message;
  EXPECT_EQ(*grace, 200u);
  // Once per slice: the second attempt preempts the lock holder.
  EXPECT_EQ(*sim_.PreemptNow(1, 0), 0u);
  EXPECT_FALSE((*sim_.Vcpus(1))[0].running);
  EXPECT_EQ(sim_.Counters().lock_holder_preemptions, 1u);
  // vCPU 1 holds nothing: preempted at once.
  EXPECT_EQ(*sim_.PreemptNow(1, 1), 0u);
  EXPECT_EQ(sim_.Counters().grace_granted, 1u);
  EXPECT_EQ(MapValue(1, 1, U32Key(0, 0)), 1u);  // grace asked for on vCPU 0
}

TEST_F(SimPolicies, PreemptGraceIsCappedByTheOperator) {
  Load("preempt", 1, 2, 50);
  // Domain 2's vCPUs wait behind domain 1's; run one and make it hold a lock.
  ASSERT_TRUE(sim_.ScheduleVcpu(2, 1).ok());
  ASSERT_TRUE(sim_.SetVcpuState(2, 1, 2, false).ok());
  EXPECT_EQ(*sim_.PreemptNow(2, 1), 50u);
  EXPECT_EQ(sim_.Stats(2, 1)->last_result, 200u);  // it asked for more
}

TEST_F(SimPolicies, PreemptCutsLockHolderPreemptions) {
  SimBackend baseline(Options(TempDir()));
  baseline.RunTicks(5000);
  Load("preempt", 1, 1);
  Load("preempt", 2, 2);
  sim_.RunTicks(5000);
  const SimCounters b = baseline.Counters(), c = sim_.Counters();
  EXPECT_GT(b.lock_holder_preemptions, 0u);
  EXPECT_GT(c.grace_granted, 0u);
  EXPECT_LT(c.lock_holder_preemptions, b.lock_holder_preemptions);
}

TEST_F(SimPolicies, TraceCountsExitsAndRecordsFaultsAndMemoryOps) {
  Load("trace", 1);
  const uint64_t args[6] = {3, 0x400123, 0, 0, 0, 0};
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(sim_.GuestExit(1, 0, HU_EXIT_HYPERCALL, 29, args).ok());
  for (int i = 0; i < 2; ++i) ASSERT_TRUE(sim_.GuestExit(1, 1, HU_EXIT_TRAP, 14, args).ok());
  ASSERT_TRUE(sim_.GuestExit(1, 0, HU_EXIT_HYPERCALL, 12, args).ok());

  auto key = [](uint32_t kind, uint64_t code) {
    std::vector<uint8_t> k(16, 0);
    std::memcpy(k.data(), &kind, 4);
    std::memcpy(k.data() + 8, &code, 8);
    return k;
  };
  EXPECT_EQ(MapValue(1, 1, key(HU_EXIT_HYPERCALL, 29)), 3u);
  EXPECT_EQ(MapValue(1, 1, key(HU_EXIT_TRAP, 14)), 2u);
  EXPECT_EQ(MapValue(1, 1, key(HU_EXIT_HYPERCALL, 12)), 1u);
  EXPECT_EQ(sim_.MapDump(1, 1, 0)->size(), 3u);

  auto recs = sim_.DrainTrace();
  ASSERT_EQ(recs.size(), 3u);
  for (const TraceRecord& r : recs) {
    EXPECT_EQ(r.domid, 1u);
    EXPECT_EQ(r.prog_id, 1u);
    ASSERT_EQ(r.data.size(), 48u);  // struct exit_record
    uint32_t vcpu, kind;
    uint64_t code, arg1;
    std::memcpy(&vcpu, r.data.data() + 8, 4);
    std::memcpy(&kind, r.data.data() + 12, 4);
    std::memcpy(&code, r.data.data() + 16, 8);
    std::memcpy(&arg1, r.data.data() + 32, 8);
    EXPECT_TRUE((kind == HU_EXIT_TRAP && code == 14 && vcpu == 1) ||
                (kind == HU_EXIT_HYPERCALL && code == 12 && vcpu == 0));
    EXPECT_EQ(arg1, 0x400123u);
  }
}

TEST_F(SimPolicies, ProtectDeniesWritesToRoAfterInitExceptFromTextPoke) {
  Load("protect", 1);
  const uint64_t table = *sim_.Symbol(1, "sys_call_table");
  const uint64_t poke = *sim_.Symbol(1, "text_poke");
  auto read = [&](uint64_t gva) {
    uint64_t v;
    std::memcpy(&v, sim_.ReadGuestVirtual(1, 0, gva, 8)->data(), 8);
    return v;
  };
  const uint64_t before = read(table + 8);
  // A module overwriting a syscall pointer: denied, memory unchanged.
  auto w = sim_.GuestWrite(1, 0, table + 8, 0xffffffffc0001234ull, 0xdeadbeef, 8);
  ASSERT_TRUE(w.ok());
  EXPECT_FALSE(*w);
  EXPECT_EQ(read(table + 8), before);
  // text_poke patching: allowed.
  w = sim_.GuestWrite(1, 1, table + 16, poke + 0x40, 0x1234, 8);
  ASSERT_TRUE(w.ok());
  EXPECT_TRUE(*w);
  EXPECT_EQ(read(table + 16), 0x1234u);
  // Ordinary data is not protected; the hook does not fire.
  w = sim_.GuestWrite(1, 0, *sim_.Symbol(1, "init_task"), 0xffffffffc0001234ull, 7, 8);
  EXPECT_TRUE(*w);
  EXPECT_EQ(sim_.Stats(1, 1)->runs, 2u);
  EXPECT_EQ(MapValue(1, 1, U32Key(HU_PROTECT_DENY)), 1u);
  EXPECT_EQ(MapValue(1, 1, U32Key(HU_PROTECT_ALLOW)), 1u);
  EXPECT_EQ(sim_.Counters().protect_denied, 1u);
}

TEST_F(SimPolicies, EveryHookFiresFromItsNaturalPlace) {
  const char* names[] = {"reclaim", "tlb", "preempt", "trace", "protect"};
  for (uint32_t domid : {1u, 2u})
    for (uint64_t i = 0; i < 5; ++i) Load(names[i], domid * 10 + i, domid);
  sim_.RunTicks(4000);
  for (uint32_t domid : {1u, 2u})
    for (uint64_t i = 0; i < 5; ++i) {
      auto s = sim_.Stats(domid, domid * 10 + i);
      ASSERT_TRUE(s.ok());
      EXPECT_GT(s->runs, 0u) << names[i] << " never fired on domain " << domid;
      EXPECT_EQ(s->errors, 0u) << names[i];
      EXPECT_EQ(s->budget_aborts, 0u) << names[i];
      // Through the JIT (the default) insns is the budget charged: at
      // least one unit per run, more for each loop iteration.
      EXPECT_GE(s->insns, s->runs) << names[i];
      EXPECT_EQ(s->jit_runs, s->runs) << names[i];
    }
  const SimCounters c = sim_.Counters();
  EXPECT_EQ(c.lost_pages, 0u);
  EXPECT_GT(c.tlb_deferred, 0u);
  EXPECT_GT(c.grace_granted, 0u);
  EXPECT_GT(c.reclaim_discarded, 0u);
  // Every denial the host made is one the protect programs counted.
  EXPECT_EQ(MapValue(1, 14, U32Key(HU_PROTECT_DENY)) + MapValue(2, 24, U32Key(HU_PROTECT_DENY)),
            c.protect_denied);
  EXPECT_FALSE(sim_.DrainTrace().empty());
}

TEST_F(SimPolicies, TheBackgroundThreadFiresHooksWhileTheDaemonReads) {
  const char* names[] = {"reclaim", "tlb", "preempt", "trace", "protect"};
  ASSERT_TRUE(sim_.Start().ok());
  for (uint64_t i = 0; i < 5; ++i) Load(names[i], 1 + i, 1);
  // Wait (bounded by ctest's timeout) until every program has run, reading
  // stats, maps and the trace ring concurrently as the daemon would.
  size_t records = 0;
  for (bool all = false; !all;) {
    all = true;
    for (uint64_t i = 0; i < 5; ++i) all = all && sim_.Stats(1, 1 + i)->runs > 0;
    records += sim_.DrainTrace().size();
    ASSERT_TRUE(sim_.MapDump(1, 4, 0).ok());
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  ASSERT_TRUE(sim_.Uninstall(1, 3).ok());  // while running
  sim_.Stop();
  records += sim_.DrainTrace().size();
  EXPECT_GT(records, 0u);
  for (uint64_t i = 0; i < 5; ++i) {
    if (i != 2) {
      EXPECT_EQ(sim_.Stats(1, 1 + i)->errors, 0u) << names[i];
    }
  }
  EXPECT_EQ(sim_.Counters().lost_pages, 0u);
}

}  // namespace
}  // namespace hu::daemon::sim
