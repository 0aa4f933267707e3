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
  // Shapes that must be accepted now and then, or the harness never runs
  // them (each found by text only it writes).
  struct Shape {
    const char* name;
    const char* marker;
    int accepted = 0;
  };
  Shape shapes[] = {
      {"a bound shared by copies", "add %r1, -256\n"},
      {"a NULL check with 0 on the left", "%r1, %r6, L"},
      {"nine nested loops", "[%r10-464]"},
      {"vcpu_state into the caller's frame", "mov %r2, %r1\nmov %r1, "},
  };
  for (int i = 0; i < kPrograms; i++) {
    Generated g = gen.Make(8 + i % 40);
    Outcome o = runner.Check(g, 1000 + i);
    ASSERT_NE(o.kind, Outcome::Kind::kFailed)
        << "program " << i << " (hook " << verifier::HookName(g.hook) << "): " << o.why << "\n"
        << g.text;
    if (o.kind == Outcome::Kind::kPassed)
      for (Shape& sh : shapes)
        if (g.text.find(sh.marker) != std::string::npos) sh.accepted++;
  }
  for (const Shape& sh : shapes) {
    std::printf("soundness: %d accepted programs with %s\n", sh.accepted, sh.name);
    EXPECT_GT(sh.accepted, 0) << sh.name;
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
