// Verification time: a generated 4096-instruction program (the paper's size
// cap; its slowest verification took 67 ms, we aim for under 10 ms) and, when
// the policies are built, every program of every policy object and the
// loop programs of tests/verifier/loops.
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
  // Time per instruction processed: the cost of one abstract step, to set
  // loops (many steps per instruction) beside straight-line code.
  state.counters["per_processed"] = benchmark::Counter(
      static_cast<double>(last.insns_processed),
      benchmark::Counter::kIsIterationInvariantRate | benchmark::Counter::kInvert);
}

// Assembles `text` and times its verification for mem.reclaim.
void VerifyText(benchmark::State& state, const std::string& text,
                std::vector<hu_map_def> maps = {}) {
  auto prog = hu::Assemble(text);
  if (!prog.ok()) {
    state.SkipWithError(prog.error().message.c_str());
    return;
  }
  Options opts;
  opts.hook = HU_HOOK_MEM_RECLAIM;
  opts.maps = std::move(maps);
  VerifyLoop(state, *prog, opts);
}

void BM_Generated(benchmark::State& state) {
  VerifyText(state, hu::verifier::bench::GeneratedProgramText(static_cast<int>(state.range(0))),
             {{HU_MAP_ARRAY, 4, 16, 4}});
}
BENCHMARK(BM_Generated)->Arg(4096)->Arg(1024)->Unit(benchmark::kMillisecond);

// A 256-iteration loop that may enter a 100-diamond handler on every
// iteration: the handler's states from all iterations are joined.
void BM_LoopWithHandler(benchmark::State& state) {
  VerifyText(state, hu::verifier::bench::LoopWithHandlerText(256, 100));
}
BENCHMARK(BM_LoopWithHandler)->Unit(benchmark::kMillisecond);

// An ordinary counted loop of 64 to 8192 iterations: with no pruning and no
// widening the verifier's work is linear in the iterations.
void BM_CountedLoop(benchmark::State& state) {
  VerifyText(state, hu::verifier::bench::CountedLoopText(static_cast<int>(state.range(0))));
}
BENCHMARK(BM_CountedLoop)->Arg(64)->Arg(512)->Arg(4096)->Arg(8192)->Unit(benchmark::kMillisecond);

#ifdef HU_HAVE_LOADER
// Any kernel symbol resolves to a fixed address: only the constant's
// presence matters to the verifier.
class AnySymbol : public hu::guest::SymbolResolver {
 public:
  hu::Result<uint64_t> Resolve(std::string_view) override { return 0xffffffff81000000ull; }
  std::string Source() const override { return "benchmark"; }
};

// Every program of every object in `dir`, as BM_<kind>/<object>/<program>.
void RegisterObjects(const std::filesystem::path& dir, const std::string& kind,
                     benchmark::TimeUnit unit) {
  if (!std::filesystem::is_directory(dir)) {
    std::fprintf(stderr, "no objects in %s: build targets hu_policies, hu_verifier_loops\n",
                 dir.c_str());
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
      std::string name = "BM_" + kind + "/" + path.stem().stem().string() + "/" + info.name;
      benchmark::RegisterBenchmark(name.c_str(), [insns = prog->insns, opts](benchmark::State& st) {
        VerifyLoop(st, insns, opts);
      })->Unit(unit);
    }
  }
}
#endif

}  // namespace

int main(int argc, char** argv) {
#ifdef HU_HAVE_LOADER
  RegisterObjects(HU_POLICY_DIR, "Policy", benchmark::kMicrosecond);
  // tests/verifier/loops: 64 vCPUs through read_gva, an 8192-step bitmap
  // scan, nested loops.
  RegisterObjects(HU_LOOP_DIR, "Loop", benchmark::kMillisecond);
#endif
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
