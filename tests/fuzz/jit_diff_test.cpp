// The differential fuzzer in the fast tier: random programs from
// progen.hpp, seeded so a failure can be replayed, for a bounded time
// (HU_JIT_DIFF_SECONDS, default 20) or HU_JIT_DIFF_PROGRAMS programs. Every
// program the verifier accepts must run identically in the interpreter and
// the JIT (jit_diff.hpp); a mismatch prints the seed and the program.
#include "jit_diff.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <random>
#include <string>

#include "hyperupcall/disasm.hpp"
#include "progen.hpp"

namespace hu::fuzz {
namespace {

uint64_t EnvOr(const char* name, uint64_t dflt) {
  const char* v = std::getenv(name);
  return v && *v ? std::strtoull(v, nullptr, 10) : dflt;
}

TEST(JitDifferential, VerifiedProgramsRunAlikeInBothEngines) {
  const auto seconds = std::chrono::seconds(EnvOr("HU_JIT_DIFF_SECONDS", 20));
  const uint64_t limit = EnvOr("HU_JIT_DIFF_PROGRAMS", UINT64_MAX);
  const uint64_t first_seed = EnvOr("HU_JIT_DIFF_SEED", 1);
  const auto deadline = std::chrono::steady_clock::now() + seconds;
  uint64_t generated = 0, verified = 0, compared = 0, counted = 0, looped = 0, failures = 0;
  for (uint64_t seed = first_seed; generated < limit && std::chrono::steady_clock::now() < deadline;
       ++seed) {
    std::mt19937_64 rng(seed);
    auto prog = GenerateProgram([&](uint64_t n) { return rng() % n; });
    ++generated;
    auto out = RunDifferential(prog, seed);
    verified += out.verified;
    compared += out.compared;
    counted += out.compared && out.counted;
    looped += out.compared && out.looped;
    if (!out.mismatch.empty() && failures++ < 5) {
      ADD_FAILURE() << "seed " << seed << ": " << out.mismatch << "\n"
                    << hu::DisassembleProgram(prog);
    }
  }
  std::printf(
      "jit differential: %llu programs, %llu verified, %llu compared (%llu with a counted loop, "
      "%llu of them with one not unrolled), %llu mismatches\n",
      static_cast<unsigned long long>(generated), static_cast<unsigned long long>(verified),
      static_cast<unsigned long long>(compared), static_cast<unsigned long long>(counted),
      static_cast<unsigned long long>(looped), static_cast<unsigned long long>(failures));
  EXPECT_EQ(failures, 0u);
  // The generator must keep producing programs the verifier takes, or
  // this test would compare nothing.
  EXPECT_GT(compared * 4, generated) << "fewer than a quarter of the programs were compared";
  EXPECT_GT(counted * 20, compared)
      << "fewer than one in twenty compared programs had a counted loop";
  // Both forms of a counted loop: unrolled, and kept as a loop.
  EXPECT_GT(looped * 20, counted)
      << "fewer than one in twenty programs with a counted loop kept one as a loop";
  EXPECT_GT((counted - looped) * 10, counted)
      << "fewer than one in ten programs with a counted loop had all unrolled";
}

}  // namespace
}  // namespace hu::fuzz
