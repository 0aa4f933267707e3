// Simulated guest memory is allocated on touch: a guest costs the host
// what the model wrote, not its configured RAM, and a frame the host
// reclaims is given back. (What each guest's boot touches is about 1 MiB:
// kernel text, data and page tables.)
#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>

#include "guest_memory.hpp"
#include "hyperupcall/daemon/sim_backend.hpp"

namespace hu::daemon::sim {
namespace {

uint64_t ResidentBytes() {
  std::ifstream in("/proc/self/statm");
  uint64_t size = 0, resident = 0;
  in >> size >> resident;
  return resident * static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
}

TEST(SimMemory, FramesBecomeResidentWhenWrittenAndAreGivenBack) {
  GuestMemory mem(64ull << 20);
  uint64_t v = 0;
  ASSERT_TRUE(mem.Read(5 * kPageSize, &v, sizeof v));
  EXPECT_EQ(v, 0u);
  mem.Put<uint64_t>(5 * kPageSize, 0x1234);
  EXPECT_EQ(mem.Get<uint64_t>(5 * kPageSize), 0x1234u);
  mem.ZeroFrame(5);
  EXPECT_EQ(mem.Get<uint64_t>(5 * kPageSize), 0u);
  EXPECT_FALSE(mem.Read(mem.size() - 4, &v, sizeof v));  // still bounds-checked
}

TEST(SimMemory, TwoHundredGuestsOfSixtyFourMiBCostLittle) {
  SimOptions o;
  o.guests.clear();
  for (uint32_t d = 1; d <= 200; ++d) o.guests.push_back({d, "g" + std::to_string(d), "", 4, 64});
  const uint64_t before = ResidentBytes();
  SimBackend sim(o);
  sim.RunTicks(200);
  const uint64_t grew = ResidentBytes() - before;
  // 200 x 64 MiB is 12.5 GiB of guest RAM; resident is what the model wrote.
  EXPECT_LT(grew, 512ull << 20) << grew / (1 << 20) << " MiB";
  EXPECT_EQ(sim.Domains().size(), 200u);
}

}  // namespace
}  // namespace hu::daemon::sim
