// The host model itself: page tables laid out like a Linux guest's, kallsyms
// export, the scheduler, the guests' own activity and its bookkeeping.
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "hyperupcall/daemon/sim_backend.hpp"

namespace hu::daemon::sim {
namespace {

constexpr uint64_t kDirectMap = 0xffff888000000000ull;
constexpr uint64_t kText = 0xffffffff81000000ull;

SimOptions SmallOptions() {
  SimOptions o;
  o.guests = {{1, "alpha", "", 4, 64}, {2, "beta", "", 2, 32}};
  o.pcpus = 2;
  return o;
}

TEST(SimModel, DomainsAreTheConfiguredGuests) {
  SimBackend sim(SmallOptions());
  auto d = sim.Domains();
  ASSERT_EQ(d.size(), 2u);
  EXPECT_EQ(d[0].domid, 1u);
  EXPECT_EQ(d[0].name, "alpha");
  EXPECT_EQ(d[0].vcpus, 4u);
  EXPECT_EQ(d[0].memory_kib, 64u * 1024);
  EXPECT_EQ(d[1].name, "beta");
  EXPECT_NE(d[0].uuid, d[1].uuid);
  EXPECT_EQ(sim.Name(), "sim");
}

TEST(SimModel, BadOptionsAreRefusedWithTheReason) {
  SimOptions o = SmallOptions();
  o.guests[1].domid = 1;
  try {
    SimBackend sim(o);
    FAIL() << "duplicate domid accepted";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("domid 1 used twice"), std::string::npos) << e.what();
  }
  o = SmallOptions();
  o.guests[0].memory_mib = 8;
  EXPECT_THROW(SimBackend{o}, std::invalid_argument);
  auto r = TryMakeSimBackend(o);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message, "sim options: guest 1: memory_mib 8 not in 32..1024");
  o = SmallOptions();
  o.kallsyms_dir = "/proc/no-such-dir";
  r = TryMakeSimBackend(o);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("/proc/no-such-dir/1"), std::string::npos) << r.error().message;
  EXPECT_TRUE(TryMakeSimBackend(SmallOptions()).ok());
}

TEST(SimModel, DirectMapTranslatesEveryFrameWith2MPages) {
  SimBackend sim(SmallOptions());
  for (uint64_t gpa : {0ull, 0x1234ull, 0x200000ull, 0x3ffffffull}) {
    auto t = sim.Translate(1, 0, kDirectMap + gpa);
    ASSERT_TRUE(t.ok()) << t.error().message;
    EXPECT_EQ(*t, gpa);
  }
  // Past the end of RAM nothing is mapped.
  auto t = sim.Translate(1, 0, kDirectMap + (64ull << 20));
  ASSERT_FALSE(t.ok());
  EXPECT_NE(t.error().message.find("not present"), std::string::npos) << t.error().message;
}

TEST(SimModel, KernelImageIsMappedAt16MiB) {
  SimBackend sim(SmallOptions());
  auto t = sim.Translate(1, 0, kText + 0x6040);
  ASSERT_TRUE(t.ok()) << t.error().message;
  EXPECT_EQ(*t, 0x1006040u);
  // The same bytes through the kernel mapping and the direct map.
  auto a = sim.ReadGuestVirtual(1, 0, kText, 16);
  auto b = sim.ReadGuestVirtual(1, 0, kDirectMap + 0x1000000, 16);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(*a, *b);
  EXPECT_EQ((*a)[0], 0xcc);
}

TEST(SimModel, NonCanonicalAddressIsAnError) {
  SimBackend sim(SmallOptions());
  auto t = sim.Translate(1, 0, 0x0000900000000000ull);
  ASSERT_FALSE(t.ok());
  EXPECT_NE(t.error().message.find("not canonical"), std::string::npos);
}

TEST(SimModel, ProcessPageTablesShareTheKernelHalfAndOwnTheirUserPages) {
  SimBackend sim(SmallOptions());
  auto vcpus = sim.Vcpus(1);
  ASSERT_TRUE(vcpus.ok());
  const uint64_t cr3_a = (*vcpus)[0].cr3, cr3_b = (*vcpus)[1].cr3;
  ASSERT_NE(cr3_a, cr3_b);
  // Kernel addresses resolve the same in both.
  EXPECT_EQ(*sim.Translate(1, cr3_a, kText), *sim.Translate(1, cr3_b, kText));
  // User page 0x400000 differs, and holds a marker of its process.
  auto ua = sim.Translate(1, cr3_a, 0x400000), ub = sim.Translate(1, cr3_b, 0x400000);
  ASSERT_TRUE(ua.ok() && ub.ok());
  EXPECT_NE(*ua, *ub);
  auto bytes = sim.ReadGuestVirtual(1, cr3_b, 0x400000, 8);
  ASSERT_TRUE(bytes.ok());
  uint64_t marker;
  std::memcpy(&marker, bytes->data(), 8);
  EXPECT_EQ(marker, 0x5553455200000000ull | (1u << 8));
  // The kernel's own tables do not map user space.
  EXPECT_FALSE(sim.Translate(1, 0, 0x400000).ok());
}

TEST(SimModel, KallsymsFileIsWrittenPerDomainAndMatchesTheModel) {
  const auto dir =
      std::filesystem::temp_directory_path() / ("sim-ksyms-" + std::to_string(getpid()));
  SimOptions o = SmallOptions();
  o.kallsyms_dir = dir.string();
  SimBackend sim(o);
  for (uint32_t domid : {1u, 2u}) {
    std::ifstream in(dir / std::to_string(domid) / "kallsyms");
    ASSERT_TRUE(in) << "no kallsyms for domain " << domid;
    std::stringstream ss;
    ss << in.rdbuf();
    EXPECT_EQ(ss.str(), sim.Kallsyms(domid));
  }
  const std::string text = sim.Kallsyms(1);
  EXPECT_NE(text.find("ffffffff81000000 T _text\n"), std::string::npos);
  EXPECT_NE(text.find(" D page_free_bitmap\n"), std::string::npos);
  EXPECT_NE(text.find("0000000000000080 D cpu_tlbstate_shared\n"), std::string::npos);
  // __per_cpu_offset[cpu] is each vCPU's gs_base, as in Linux.
  auto pco = sim.Symbol(1, "__per_cpu_offset");
  ASSERT_TRUE(pco.ok());
  auto vcpus = sim.Vcpus(1);
  for (const VcpuView& v : *vcpus) {
    auto bytes = sim.ReadGuestVirtual(1, 0, *pco + 8 * v.vcpu, 8);
    ASSERT_TRUE(bytes.ok());
    uint64_t base;
    std::memcpy(&base, bytes->data(), 8);
    EXPECT_EQ(base, v.gs_base);
  }
  std::filesystem::remove_all(dir);
}

TEST(SimModel, FreeBitmapInGuestMemoryIsTheAllocatorsState) {
  SimBackend sim(SmallOptions());
  auto free = sim.GuestFreeFrames(1);
  ASSERT_TRUE(free.ok());
  auto bitmap_va = sim.Symbol(1, "page_free_bitmap");
  auto bytes = sim.ReadGuestVirtual(1, 0, *bitmap_va, free->size() / 8);
  ASSERT_TRUE(bytes.ok());
  uint64_t nfree = 0;
  for (uint64_t gfn = 0; gfn < free->size(); ++gfn) {
    EXPECT_EQ((*free)[gfn], (((*bytes)[gfn / 8] >> (gfn % 8)) & 1) != 0) << gfn;
    nfree += (*free)[gfn];
  }
  // Kernel frames are never free; a booted guest uses some of the rest.
  EXPECT_FALSE((*free)[0x1000]);
  EXPECT_GT(nfree, free->size() / 4);
  EXPECT_LT(nfree, free->size());
}

TEST(SimModel, TicksScheduleAllocateAndReclaim) {
  SimBackend sim(SmallOptions());
  sim.RunTicks(3000);
  const SimCounters c = sim.Counters();
  EXPECT_EQ(c.ticks, 3000u);
  EXPECT_EQ(c.now_ns, 3000u * 100 * 1000);
  EXPECT_GT(c.context_switches, 6u);  // 6 vCPUs on 2 pCPUs
  EXPECT_GT(c.preemptions, 0u);
  EXPECT_GT(c.page_allocs, 0u);
  EXPECT_GT(c.page_frees, 0u);
  EXPECT_GT(c.lock_acquires, 0u);
  EXPECT_GT(c.tlb_shootdowns, 0u);
  EXPECT_GT(c.hypercalls, 0u);
  EXPECT_GT(c.traps, 0u);
  EXPECT_GT(c.vmexits, 0u);
  // Guests start fully resident, above the 85% pressure line.
  EXPECT_GT(c.reclaim_asked, 0u);
  // Without a mem.reclaim program every reclaimed frame is swapped.
  EXPECT_EQ(c.reclaim_discarded, 0u);
  EXPECT_EQ(c.reclaim_swapped, c.reclaim_asked);
  EXPECT_EQ(c.grace_granted, 0u);
}

TEST(SimModel, SameSeedSameHistory) {
  SimBackend a(SmallOptions()), b(SmallOptions());
  a.RunTicks(500);
  b.RunTicks(500);
  EXPECT_EQ(a.Counters().page_allocs, b.Counters().page_allocs);
  EXPECT_EQ(a.Counters().context_switches, b.Counters().context_switches);
  EXPECT_EQ(*a.GuestFreeFrames(1), *b.GuestFreeFrames(1));
}

TEST(SimModel, ThreadKeepsTheModelAliveUntilStop) {
  SimOptions o = SmallOptions();
  o.tick_interval_us = 200;
  SimBackend sim(o);
  std::vector<DomainEvent> events;
  std::mutex mu;
  sim.SetDomainEventSink([&](const DomainEvent& e) {
    std::lock_guard<std::mutex> lock(mu);
    events.push_back(e);
  });
  ASSERT_TRUE(sim.Start().ok());
  EXPECT_FALSE(sim.Start().ok());
  // Wait (bounded by ctest's timeout, not by a threshold) for ticks.
  while (sim.Counters().ticks < 50) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  sim.Stop();
  const uint64_t ticks = sim.Counters().ticks;
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  EXPECT_EQ(sim.Counters().ticks, ticks);  // stopped means stopped
  std::lock_guard<std::mutex> lock(mu);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].kind, DomainEvent::Kind::kStarted);
  EXPECT_EQ(events[1].domain.name, "beta");
}

TEST(SimModel, DomainsComeAndGoWithEvents) {
  const auto dir =
      std::filesystem::temp_directory_path() / ("sim-life-" + std::to_string(getpid()));
  SimOptions o = SmallOptions();
  o.kallsyms_dir = dir.string();
  SimBackend sim(o);
  std::vector<DomainEvent> events;
  sim.SetDomainEventSink([&](const DomainEvent& e) { events.push_back(e); });
  sim.RunTicks(100);

  ASSERT_TRUE(sim.CreateDomain({7, "gamma", "", 2, 32}).ok());
  EXPECT_TRUE(std::filesystem::exists(dir / "7" / "kallsyms"));
  EXPECT_EQ(sim.CreateDomain({7, "again", "", 2, 32}).error().message,
            "sim options: guest domid 7 used twice");
  ProgramImage img;
  img.id = 70;
  img.domid = 7;
  img.hook = HU_HOOK_TRACE_EXIT;
  img.insns = {{HU_CLS_ALU64 | HU_ALU_MOV, 0, 0, 0, 0}, {HU_CLS_JMP | HU_JMP_EXIT, 0, 0, 0, 0}};
  ASSERT_TRUE(sim.Install(img).ok());
  sim.RunTicks(500);
  EXPECT_EQ(sim.Domains().size(), 3u);

  ASSERT_TRUE(sim.DestroyDomain(1).ok());
  ASSERT_TRUE(sim.DestroyDomain(7).ok());
  EXPECT_EQ(sim.DestroyDomain(7).error().code, ErrorCode::kNotFound);
  EXPECT_EQ(sim.Stats(7, 70).error().code, ErrorCode::kNotFound);  // its program went with it
  sim.RunTicks(500);                                               // the rest keeps running
  auto d = sim.Domains();
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0].name, "beta");
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[0].kind, DomainEvent::Kind::kStarted);
  EXPECT_EQ(events[0].domain.name, "gamma");
  EXPECT_EQ(events[1].kind, DomainEvent::Kind::kStopped);
  EXPECT_EQ(events[1].domain.domid, 1u);
  EXPECT_FALSE(events[2].domain.running);
  std::filesystem::remove_all(dir);
}

TEST(SimModel, TestControlsCheckTheirArguments) {
  SimBackend sim(SmallOptions());
  EXPECT_EQ(sim.SetVcpuState(9, 0, 0, false).error().code, ErrorCode::kNotFound);
  EXPECT_EQ(sim.SetVcpuState(2, 2, 0, false).error().code, ErrorCode::kOutOfRange);
  EXPECT_EQ(sim.ReclaimScan(1, 0, 16).error().code, ErrorCode::kFailedPrecondition);
  EXPECT_EQ(sim.ReclaimScan(1, 16380, 16).error().code, ErrorCode::kOutOfRange);
  EXPECT_EQ(sim.Reclaim(1, 16).error().code, ErrorCode::kFailedPrecondition);
  EXPECT_EQ(sim.Reclaim(9, 16).error().code, ErrorCode::kNotFound);
  EXPECT_EQ(sim.Reclaim(1, 0).error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(sim.Stats(1, 77).error().code, ErrorCode::kNotFound);
}

}  // namespace
}  // namespace hu::daemon::sim
