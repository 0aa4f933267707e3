// Real programs pass: every program of every policy object under
// policies/ (built by clang into HU_POLICY_DIR) is accepted for its hook,
// and so is the generated 4096-instruction program the benchmark times.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "generated_program.hpp"
#include "hyperupcall/asm.hpp"
#include "hyperupcall/guest/loader.hpp"
#include "hyperupcall/verifier.hpp"

namespace hu::verifier {
namespace {

// The address of a kernel symbol is just a constant to the verifier.
class AnySymbol : public guest::SymbolResolver {
 public:
  Result<uint64_t> Resolve(std::string_view) override { return 0xffffffff81000000ull; }
  std::string Source() const override { return "test"; }
};

// Verifies every program of every object in `dir`; returns how many.
int VerifyAll(const std::filesystem::path& dir) {
  int programs = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    if (!e.path().string().ends_with(".bpf.o")) continue;
    auto obj = guest::BpfObject::FromFile(e.path().string());
    EXPECT_TRUE(obj.ok()) << obj.error().message;
    if (!obj.ok()) continue;
    for (const auto& info : obj->programs()) {
      SCOPED_TRACE(e.path().filename().string() + ": " + info.name);
      AnySymbol syms;
      auto prog = obj->Link(info.name, &syms);
      EXPECT_TRUE(prog.ok()) << prog.error().message;
      if (!prog.ok()) continue;
      Options opts;
      opts.hook = info.hook;
      for (const auto& m : prog->maps) opts.maps.push_back(m.def);
      Report r = Verify(prog->insns, opts);
      std::printf("%-14s %-22s %-14s %4zu insns  %s  %7llu processed  %.3f ms\n",
                  e.path().filename().c_str(), info.name.c_str(), HookName(info.hook),
                  prog->insns.size(), r.accepted ? "accepted" : "REJECTED",
                  static_cast<unsigned long long>(r.insns_processed), r.elapsed_ms);
      EXPECT_TRUE(r.accepted) << r.error;
      programs++;
    }
  }
  return programs;
}

TEST(Policies, EveryPolicyProgramIsAccepted) {
  std::filesystem::path dir = HU_POLICY_DIR;
  ASSERT_TRUE(std::filesystem::is_directory(dir)) << dir << ": build target hu_policies";
  EXPECT_GE(VerifyAll(dir), 5);
}

// tests/verifier/loops: a loop over 64 vCPUs through read_gva, an 8192-step
// bitmap scan, nested loops; clang -O2 output, verified with the default
// budget.
TEST(Loops, LoopsLinuxAcceptsAreAccepted) {
  std::filesystem::path dir = HU_LOOP_DIR;
  ASSERT_TRUE(std::filesystem::is_directory(dir)) << dir << ": build target hu_verifier_loops";
  EXPECT_EQ(VerifyAll(dir), 3);
}

TEST(Generated, FourThousandNinetySixInstructionsAccepted) {
  auto prog = Assemble(bench::GeneratedProgramText(4096));
  ASSERT_TRUE(prog.ok()) << prog.error().message;
  ASSERT_EQ(prog->size(), 4096u);
  Options opts;
  opts.hook = HU_HOOK_MEM_RECLAIM;
  opts.maps = {{HU_MAP_ARRAY, 4, 16, 4}};
  Report r = Verify(*prog, opts);
  EXPECT_TRUE(r.accepted) << r.error;
}

}  // namespace
}  // namespace hu::verifier
