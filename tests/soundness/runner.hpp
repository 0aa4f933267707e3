// Holds a verified program to the verifier's promises by running it in the
// sim backend's real interpreter and helpers three times: with the stack
// filled with two different patterns (the third run repeats the first
// pattern), and with the stack, the context and every map at different
// host addresses each time. An accepted program that faults, runs out of
// budget, returns an r0 outside the range the verifier computed, or whose
// r0, maps, trace records or guest writes differ between the runs (it read
// stale bytes, or an address) is a failure.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "generator.hpp"
#include "hyperupcall/verifier.hpp"

namespace hu::soundness {

struct Outcome {
  enum class Kind { kRejected, kPassed, kFailed } kind = Kind::kRejected;
  std::string why;  // kFailed: what went wrong; kRejected: the verifier's message
};

class Runner {
 public:
  Runner();
  ~Runner();
  // The maps and guest regions programs may use (addresses of this guest).
  const Environment& environment() const;
  // Verifies `g` and, if it is accepted, runs it.
  Outcome Check(const Generated& g, uint64_t seed);

  // Counters over every Check, for reports.
  struct Stats {
    uint64_t programs = 0, accepted = 0, runs = 0, insns_run = 0;
    uint64_t helper_calls = 0;  // accepted programs that call a helper
    uint64_t local_calls = 0;   // accepted programs with bpf-to-bpf calls
    uint64_t loops = 0;         // accepted programs with a back edge
    uint64_t trace_records = 0, map_entries = 0;
  };
  const Stats& stats() const { return stats_; }

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  Stats stats_;
};

}  // namespace hu::soundness
