// The sim backend runs programs through the JIT by default and through the
// interpreter with policy jit=off, and the two are indistinguishable: the
// five shipped policies, on two hosts started from the same seed, give the
// same decisions, counters, map contents and trace records either way.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "hyperupcall/daemon/sim_backend.hpp"
#include "policy_image.hpp"

namespace hu::daemon::sim {
namespace {

struct Host {
  explicit Host(const std::string& tag)
      : dir((std::filesystem::temp_directory_path() /
             ("sim-engine-" + std::to_string(getpid()) + "-" + tag))
                .string()),
        sim([&] {
          SimOptions o;
          o.kallsyms_dir = dir;
          return o;
        }()) {}
  ~Host() { std::filesystem::remove_all(dir); }

  void Load(const std::string& name, uint64_t id, uint32_t domid, JitMode jit) {
    auto img =
        simtest::LoadPolicyImage(name, dir + "/" + std::to_string(domid) + "/kallsyms", id, domid);
    ASSERT_TRUE(img.ok()) << name << ": " << img.error().message;
    img->jit = jit;
    auto st = sim.Install(*img);
    ASSERT_TRUE(st.ok()) << name << ": " << st.error().message;
  }

  std::string dir;
  SimBackend sim;
};

const char* const kPolicies[] = {"reclaim", "tlb", "preempt", "trace", "protect"};

TEST(SimEngine, JitByDefaultAndTheInterpreterAgree) {
  Host jit("jit"), interp("interp");
  uint64_t id = 0;
  for (const char* name : kPolicies) {
    ++id;
    uint32_t domid = id % 2 + 1;
    jit.Load(name, id, domid, JitMode::kAuto);
    interp.Load(name, id, domid, JitMode::kOff);
  }
  jit.sim.RunTicks(3000);
  interp.sim.RunTicks(3000);

  const SimCounters a = jit.sim.Counters(), b = interp.sim.Counters();
  EXPECT_EQ(a.grace_granted, b.grace_granted);
  EXPECT_EQ(a.tlb_deferred, b.tlb_deferred);
  EXPECT_EQ(a.tlb_ipis, b.tlb_ipis);
  EXPECT_EQ(a.reclaim_discarded, b.reclaim_discarded);
  EXPECT_EQ(a.reclaim_swapped, b.reclaim_swapped);
  EXPECT_EQ(a.protect_denied, b.protect_denied);
  EXPECT_EQ(a.lost_pages, 0u);
  EXPECT_GT(a.reclaim_asked + a.tlb_deferred + a.grace_granted, 0u);

  uint64_t runs = 0;
  for (uint64_t p = 1; p <= id; ++p) {
    const uint32_t domid = p % 2 + 1;
    auto sa = jit.sim.Stats(domid, p), sb = interp.sim.Stats(domid, p);
    ASSERT_TRUE(sa.ok() && sb.ok());
    EXPECT_EQ(sa->runs, sb->runs) << kPolicies[p - 1];
    EXPECT_EQ(sa->errors, sb->errors) << kPolicies[p - 1];
    EXPECT_EQ(sa->budget_aborts, sb->budget_aborts) << kPolicies[p - 1];
    EXPECT_EQ(sa->last_result, sb->last_result) << kPolicies[p - 1];
    EXPECT_EQ(sa->jit_runs, sa->runs) << kPolicies[p - 1];
    EXPECT_EQ(sb->jit_runs, 0u) << kPolicies[p - 1];
    runs += sa->runs;
    auto ma = jit.sim.MapDump(domid, p, 0), mb = interp.sim.MapDump(domid, p, 0);
    ASSERT_TRUE(ma.ok() && mb.ok());
    ASSERT_EQ(ma->size(), mb->size()) << kPolicies[p - 1];
    for (size_t i = 0; i < ma->size(); ++i) {
      EXPECT_EQ((*ma)[i].key, (*mb)[i].key) << kPolicies[p - 1];
      EXPECT_EQ((*ma)[i].value, (*mb)[i].value) << kPolicies[p - 1];
    }
  }
  EXPECT_GT(runs, 100u);
  auto ta = jit.sim.DrainTrace(), tb = interp.sim.DrainTrace();
  ASSERT_EQ(ta.size(), tb.size());
  EXPECT_FALSE(ta.empty());
  for (size_t i = 0; i < ta.size(); ++i) EXPECT_EQ(ta[i].data, tb[i].data);
}

}  // namespace
}  // namespace hu::daemon::sim
