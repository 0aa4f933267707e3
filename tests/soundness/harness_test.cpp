// The soundness harness, bounded for CI: a fixed number of random programs
// (fixed seeds, so a failure reproduces), every accepted one run three
// times by the sim's interpreter and helpers. hu-soundness runs the same
// check for as long as one likes (tests/soundness/README.md).
#include <gtest/gtest.h>

#include <cstdio>

#include "generator.hpp"
#include "runner.hpp"

namespace hu::soundness {
namespace {

TEST(Soundness, AcceptedRandomProgramsKeepTheVerifiersPromises) {
  Runner runner;
  Generator gen(20240611, runner.environment());
  constexpr int kPrograms = 4000;
  for (int i = 0; i < kPrograms; i++) {
    Generated g = gen.Make(8 + i % 40);
    Outcome o = runner.Check(g, 1000 + i);
    ASSERT_NE(o.kind, Outcome::Kind::kFailed)
        << "program " << i << " (hook " << verifier::HookName(g.hook) << "): " << o.why << "\n"
        << g.text;
  }
  const Runner::Stats& s = runner.stats();
  std::printf(
      "soundness: %llu programs, %llu accepted (%llu calling helpers, %llu with local calls, "
      "%llu with loops), %llu runs, %llu trace records, %llu map entries compared\n",
      static_cast<unsigned long long>(s.programs), static_cast<unsigned long long>(s.accepted),
      static_cast<unsigned long long>(s.helper_calls),
      static_cast<unsigned long long>(s.local_calls), static_cast<unsigned long long>(s.loops),
      static_cast<unsigned long long>(s.runs), static_cast<unsigned long long>(s.trace_records),
      static_cast<unsigned long long>(s.map_entries));
  // A harness whose programs were all rejected, or never touched helpers,
  // calls, loops, maps or the trace ring, would pass without testing them.
  EXPECT_GE(s.accepted, s.programs / 10);
  EXPECT_GE(s.helper_calls, s.accepted / 4);
  EXPECT_GE(s.local_calls, 20u);
  EXPECT_GE(s.loops, 50u);
  EXPECT_GT(s.trace_records, 0u);
  EXPECT_GT(s.map_entries, 0u);
}

}  // namespace
}  // namespace hu::soundness
