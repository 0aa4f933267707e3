// Verification time: a generated 4096-instruction program (the paper's size
// cap; its slowest verification took 67 ms, we aim for under 10 ms) and, when
// the policies are built, every program of every policy object.
#include <benchmark/benchmark.h>

#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "generated_program.hpp"
#include "hyperupcall/asm.hpp"
#include "hyperupcall/verifier.hpp"
#ifdef HU_HAVE_LOADER
#include "hyperupcall/guest/loader.hpp"
#endif

namespace {

using hu::verifier::Options;
using hu::verifier::Report;

void VerifyLoop(benchmark::State& state, const std::vector<hu_insn>& prog, const Options& opts) {
  Report last;
  for (auto _ : state) {
    last = hu::verifier::Verify(prog, opts);
    benchmark::DoNotOptimize(last.accepted);
  }
  if (!last.accepted) state.SkipWithError(last.error.c_str());
  state.counters["insns"] = static_cast<double>(prog.size());
  state.counters["processed"] = static_cast<double>(last.insns_processed);
  state.counters["states"] = static_cast<double>(last.states);
  state.counters["pruned"] = static_cast<double>(last.pruned);
}

void Generated(benchmark::State& state, bool prune) {
  auto prog =
      hu::Assemble(hu::verifier::bench::GeneratedProgramText(static_cast<int>(state.range(0))));
  if (!prog.ok()) {
    state.SkipWithError(prog.error().message.c_str());
    return;
  }
  Options opts;
  opts.hook = HU_HOOK_MEM_RECLAIM;
  opts.maps = {{HU_MAP_ARRAY, 4, 16, 4}};
  opts.prune = prune;
  VerifyLoop(state, *prog, opts);
}
void BM_Generated(benchmark::State& state) { Generated(state, true); }
BENCHMARK(BM_Generated)->Arg(4096)->Arg(1024)->Unit(benchmark::kMillisecond);
// The same without pruning against explored states, to measure what it costs
// or saves.
void BM_GeneratedUnpruned(benchmark::State& state) { Generated(state, false); }
BENCHMARK(BM_GeneratedUnpruned)->Arg(4096)->Unit(benchmark::kMillisecond);

// Where pruning pays: a 256-iteration loop that may enter a 100-diamond
// handler on every iteration. Arg: pruning on (1) or off (0).
void BM_LoopWithHandler(benchmark::State& state) {
  auto prog = hu::Assemble(hu::verifier::bench::LoopWithHandlerText(256, 100));
  if (!prog.ok()) {
    state.SkipWithError(prog.error().message.c_str());
    return;
  }
  Options opts;
  opts.hook = HU_HOOK_MEM_RECLAIM;
  opts.prune = state.range(0) != 0;
  VerifyLoop(state, *prog, opts);
}
BENCHMARK(BM_LoopWithHandler)->Arg(1)->Arg(0)->Unit(benchmark::kMillisecond);

#ifdef HU_HAVE_LOADER
// Any kernel symbol resolves to a fixed address: only the constant's
// presence matters to the verifier.
class AnySymbol : public hu::guest::SymbolResolver {
 public:
  hu::Result<uint64_t> Resolve(std::string_view) override { return 0xffffffff81000000ull; }
  std::string Source() const override { return "benchmark"; }
};

void RegisterPolicies() {
  std::filesystem::path dir = HU_POLICY_DIR;
  if (!std::filesystem::is_directory(dir)) {
    std::fprintf(stderr, "no policy objects in %s: build target hu_policies first\n", dir.c_str());
    return;
  }
  std::vector<std::filesystem::path> objs;
  for (const auto& e : std::filesystem::directory_iterator(dir))
    if (e.path().string().ends_with(".bpf.o")) objs.push_back(e.path());
  std::sort(objs.begin(), objs.end());
  for (const auto& path : objs) {
    auto obj = hu::guest::BpfObject::FromFile(path.string());
    if (!obj.ok()) {
      std::fprintf(stderr, "%s: %s\n", path.c_str(), obj.error().message.c_str());
      continue;
    }
    for (const auto& info : obj->programs()) {
      AnySymbol syms;
      auto prog = obj->Link(info.name, &syms);
      if (!prog.ok()) {
        std::fprintf(stderr, "%s: %s\n", info.name.c_str(), prog.error().message.c_str());
        continue;
      }
      Options opts;
      opts.hook = info.hook;
      for (const auto& m : prog->maps) opts.maps.push_back(m.def);
      std::string name = "BM_Policy/" + path.stem().stem().string() + "/" + info.name;
      benchmark::RegisterBenchmark(name.c_str(), [insns = prog->insns, opts](benchmark::State& st) {
        VerifyLoop(st, insns, opts);
      })->Unit(benchmark::kMicrosecond);
    }
  }
}
#endif

}  // namespace

int main(int argc, char** argv) {
#ifdef HU_HAVE_LOADER
  RegisterPolicies();
#endif
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
