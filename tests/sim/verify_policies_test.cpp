// The verifier accepts every shipped policy, as loaded by the guest tool.
#include <gtest/gtest.h>

#include <filesystem>

#include "hyperupcall/daemon/sim_backend.hpp"
#include "hyperupcall/verifier.hpp"
#include "policy_image.hpp"

namespace hu::daemon::sim {
namespace {

TEST(SimPolicyVerifier, EveryPolicyIsAccepted) {
  const auto dir =
      std::filesystem::temp_directory_path() / ("sim-verify-" + std::to_string(getpid()));
  SimOptions o;
  o.kallsyms_dir = dir.string();
  SimBackend sim(o);
  for (const char* name : {"reclaim", "tlb", "preempt", "trace", "protect"}) {
    auto img = simtest::LoadPolicyImage(name, (dir / "1" / "kallsyms").string(), 1, 1);
    ASSERT_TRUE(img.ok()) << name << ": " << img.error().message;
    hu::verifier::Options opts;
    opts.hook = img->hook;
    for (const MapSpec& m : img->maps) opts.maps.push_back(m.def);
    const auto report = hu::verifier::Verify(img->insns, opts);
    EXPECT_TRUE(report.accepted) << name << ": " << report.error;
  }
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace hu::daemon::sim
