// The engines' cost on representative programs: the interpreter, the JIT
// (blinded, as it runs by default, and plain) and the same logic compiled
// natively, in one process. Counters: `insns` (eBPF instructions the
// interpreter executes per run), `ns_per_insn`, and `cycles` (TSC cycles
// per run, the least over 25 batches so that preemption on a shared
// machine does not count); the time column is the cost of one run.
// summarize.py turns the JSON output into the README table.
#include <benchmark/benchmark.h>
#include <x86intrin.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <optional>
#include <stdexcept>
#include <vector>

#include "hyperupcall/abi.h"
#include "hyperupcall/asm.hpp"
#include "hyperupcall/interp.h"
#include "hyperupcall/jit.hpp"

namespace {

// ---------------------------------------------------------------------------
// Guest memory for the hook benchmark: a linked list of nodes at scattered
// guest-virtual addresses, read through a read_gva-style helper that
// translates and bounds-checks every access, as the sim backend does.
constexpr uint64_t kGuestBase = 0xffff888000000000ull;
constexpr size_t kGuestSize = 1 << 16;
constexpr int kListNodes = 32;

struct Node {
  uint64_t next;  // guest-virtual address of the next node, 0 at the end
  uint64_t value;
};

struct Guest {
  std::vector<uint8_t> mem = std::vector<uint8_t>(kGuestSize);
  uint64_t head = 0;

  Guest() {
    uint64_t next = 0;
    for (int i = kListNodes - 1; i >= 0; --i) {
      size_t off = (static_cast<size_t>(i) * 7919 * 16) % (kGuestSize - sizeof(Node));
      off &= ~size_t{15};
      Node n{next, static_cast<uint64_t>(i) * 3 + 1};
      std::memcpy(mem.data() + off, &n, sizeof n);
      next = kGuestBase + off;
    }
    head = next;
  }

  // 0 on success, -EFAULT when [gva, gva + size) is not guest memory.
  int64_t Read(void* dst, uint64_t size, uint64_t gva) const {
    if (gva < kGuestBase || size > kGuestSize || gva - kGuestBase > kGuestSize - size) {
      return -HU_EFAULT;
    }
    std::memcpy(dst, mem.data() + (gva - kGuestBase), size);
    return 0;
  }

  // The same for the helper, whose size is not a constant: the sizes
  // programs read (a field, a pointer, a two-word node) as fixed-size
  // copies instead of a call to memcpy and its dispatch on the size, and
  // two words as two words, the way a program reads them back (from one
  // 16-byte store an 8-byte load is forwarded more slowly). The native
  // twin keeps Read, inlined at its one size.
  int64_t ReadAnySize(void* dst, uint64_t size, uint64_t gva) const {
    if (gva < kGuestBase || size > kGuestSize || gva - kGuestBase > kGuestSize - size) {
      return -HU_EFAULT;
    }
    const uint8_t* src = mem.data() + (gva - kGuestBase);
    auto* out = static_cast<uint8_t*>(dst);
    if (size == 16) {
      uint64_t lo, hi;
      std::memcpy(&lo, src, 8);
      std::memcpy(&hi, src + 8, 8);
      asm("" : "+r"(lo), "+r"(hi));  // kept apart: not one vector copy
      std::memcpy(out, &lo, 8);
      std::memcpy(out + 8, &hi, 8);
    } else if (size == 8) {
      std::memcpy(out, src, 8);
    } else if (size == 4) {
      std::memcpy(out, src, 4);
    } else if (size == 2) {
      std::memcpy(out, src, 2);
    } else if (size == 1) {
      *out = *src;
    } else {
      std::memcpy(out, src, size);
    }
    return 0;
  }
};

// ---------------------------------------------------------------------------
// Helpers, by hook-ABI id where one exists.
uint64_t HelperMix(hu_run*, uint64_t a, uint64_t b, uint64_t, uint64_t, uint64_t) {
  return a * 31 + b;
}

uint64_t HelperReadGva(hu_run* run, uint64_t dst, uint64_t size, uint64_t gva, uint64_t, uint64_t) {
  // The buffer is nearly always in the program's stack: hu_interp_check's
  // own first test, here, before the call that also scans the regions.
  const uint64_t stack = reinterpret_cast<uintptr_t>(run->stack);
  const bool in_stack = run->stack != nullptr && dst - stack < run->stack_size &&
                        size <= run->stack_size - (dst - stack);
  if (!in_stack && hu_interp_check(run, dst, size, 1) != HU_RUN_OK) {
    return static_cast<uint64_t>(-HU_EFAULT);
  }
  const auto* guest = static_cast<const Guest*>(run->env);
  return static_cast<uint64_t>(
      guest->ReadAnySize(reinterpret_cast<void*>(static_cast<uintptr_t>(dst)), size, gva));
}

// ---------------------------------------------------------------------------
// The programs.
constexpr const char* kAluLoop = R"(
# xorshift64 r1 times; r0 = sum of the states
  mov %r0, 0
  lddw %r2, 0x2545f4914f6cdd1d
loop:
  mov %r3, %r2
  lsh %r3, 13
  xor %r2, %r3
  mov %r3, %r2
  rsh %r3, 7
  xor %r2, %r3
  mov %r3, %r2
  lsh %r3, 17
  xor %r2, %r3
  add %r0, %r2
  sub %r1, 1
  jne %r1, 0, loop
  exit
)";

constexpr const char* kStackHeavy = R"(
# r2 times: fill 32 stack slots with i * r1, then sum slot ^ i
  mov %r0, 0
outer:
  mov %r3, 0
  mov %r4, %r10
  add %r4, -256
fill:
  mov %r5, %r3
  mul %r5, %r1
  stxdw [%r4+0], %r5
  add %r4, 8
  add %r3, 1
  jlt %r3, 32, fill
  mov %r3, 0
  mov %r4, %r10
  add %r4, -256
sum:
  ldxdw %r5, [%r4+0]
  xor %r5, %r3
  add %r0, %r5
  add %r4, 8
  add %r3, 1
  jlt %r3, 32, sum
  sub %r2, 1
  jne %r2, 0, outer
  exit
)";

constexpr const char* kHelperHeavy = R"(
# r0 = mix(r0, i) for i in 0 .. r1 - 1, mix being helper 1
  mov %r6, 0
  mov %r7, %r1
  mov %r0, 0
loop:
  mov %r1, %r0
  mov %r2, %r6
  call 1
  add %r6, 1
  jlt %r6, %r7, loop
  exit
)";

// The shape of a real hook program: follow a guest kernel list through the
// read_gva helper (id 4 in the hook ABI), bounded, summing a field.
constexpr const char* kListWalk = R"(
  mov %r6, %r1
  mov %r7, 0
  mov %r8, 0
loop:
  jeq %r6, 0, done
  jge %r8, 64, done
  mov %r1, %r10
  add %r1, -16
  mov %r2, 16
  mov %r3, %r6
  call 4
  jne %r0, 0, done
  ldxdw %r6, [%r10-16]
  ldxdw %r1, [%r10-8]
  add %r7, %r1
  add %r8, 1
  ja loop
done:
  mov %r0, %r7
  exit
)";

// Loads through a pointer into a region (a map value or the context): the
// accesses the JIT checks at run time. r1 = array, r2 = elements.
constexpr const char* kRegionSum = R"(
  mov %r0, 0
loop:
  ldxdw %r3, [%r1+0]
  add %r0, %r3
  add %r1, 8
  sub %r2, 1
  jne %r2, 0, loop
  exit
)";

// A hook updating a map value in place: the context is the first
// (read-only) region, r2 points into a writable one (the map value);
// 1000 read-add-write steps, r0 = the sum of the new values.
constexpr const char* kMapUpdate = R"(
  mov %r0, 0
  mov %r4, 1000
loop:
  ldxdw %r3, [%r2+0]
  add %r3, 1
  stxdw [%r2+0], %r3
  add %r0, %r3
  add %r2, 8
  sub %r4, 1
  jne %r4, 0, loop
  exit
)";

// ---------------------------------------------------------------------------
// Native twins. noinline and DoNotOptimize keep the compiler from folding
// the work away; the logic is the same as the eBPF above.
__attribute__((noinline)) uint64_t NativeAluLoop(uint64_t n) {
  uint64_t x = 0x2545f4914f6cdd1dull, sum = 0;
  for (; n != 0; --n) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    sum += x;
  }
  return sum;
}

__attribute__((noinline)) uint64_t NativeStackHeavy(uint64_t k, uint64_t reps) {
  uint64_t sum = 0;
  std::array<uint64_t, 32> slots;
  for (; reps != 0; --reps) {
    for (uint64_t i = 0; i < 32; ++i) slots[i] = i * k;
    benchmark::DoNotOptimize(slots.data());
    for (uint64_t i = 0; i < 32; ++i) sum += slots[i] ^ i;
  }
  return sum;
}

using MixFn = uint64_t (*)(hu_run*, uint64_t, uint64_t, uint64_t, uint64_t, uint64_t);

__attribute__((noinline)) uint64_t NativeHelperHeavy(MixFn mix, uint64_t n) {
  uint64_t r = 0;
  for (uint64_t i = 0; i < n; ++i) r = mix(nullptr, r, i, 0, 0, 0);
  return r;
}

// The same walk as a native program that calls the hook's helper through
// the helper ABI (a hu_run, a buffer in its stack), as a C program built
// against the helpers would: what is left between it and the JIT is the
// JIT's own cost.
__attribute__((noinline)) uint64_t NativeListWalkViaHelper(hu_helper_fn read_gva, hu_run* run,
                                                           uint64_t head) {
  uint64_t sum = 0;
  auto* n = reinterpret_cast<Node*>(run->stack + run->stack_size - sizeof(Node));
  for (int count = 0; head != 0 && count < 64; ++count) {
    if (read_gva(run, reinterpret_cast<uintptr_t>(n), sizeof *n, head, 0, 0) != 0) break;
    head = n->next;
    sum += n->value;
  }
  return sum;
}

__attribute__((noinline)) uint64_t NativeRegionSum(const uint64_t* p, uint64_t n) {
  uint64_t sum = 0;
  for (; n != 0; --n) sum += *p++;
  return sum;
}

__attribute__((noinline)) uint64_t NativeMapUpdate(uint64_t* p, uint64_t n) {
  uint64_t sum = 0;
  for (; n != 0; --n, ++p) sum += ++*p;
  return sum;
}

__attribute__((noinline)) uint64_t NativeListWalk(const Guest& g, uint64_t head) {
  uint64_t sum = 0;
  Node n;
  for (int count = 0; head != 0 && count < 64; ++count) {
    if (g.Read(&n, sizeof n, head) != 0) break;
    head = n.next;
    sum += n.value;
  }
  return sum;
}

// ---------------------------------------------------------------------------
enum class Engine { kInterp, kJit, kJitPlain };

struct Vm {
  std::vector<hu_insn> prog;
  alignas(16) std::array<uint8_t, HU_STACK_FRAME * HU_MAX_CALL_DEPTH> stack{};
  std::array<hu_helper_fn, HU_HELPER_MAX> helpers{};
  std::vector<hu_mem_region> regions;
  hu_run run{};
  std::optional<hu::jit::Image> image;

  Vm(const char* text, Engine engine, void* env = nullptr) {
    auto p = hu::Assemble(text);
    if (!p.ok()) throw std::runtime_error(p.error().message);
    prog = std::move(*p);
    helpers[1] = HelperMix;
    helpers[HU_HELPER_READ_GVA] = HelperReadGva;
    run.insns = prog.data();
    run.ninsns = static_cast<uint32_t>(prog.size());
    run.helpers = helpers.data();
    run.nhelpers = static_cast<uint32_t>(helpers.size());
    run.env = env;
    run.stack = stack.data();
    run.stack_size = static_cast<uint32_t>(stack.size());
    run.budget = 100'000'000;
    if (engine != Engine::kInterp) {
      auto img = hu::jit::Image::Compile(prog, helpers.data(), run.nhelpers,
                                         {.blind = engine == Engine::kJit});
      if (!img.ok()) throw std::runtime_error(img.error().message);
      image.emplace(std::move(*img));
    }
  }

  void AddRegion(const void* p, size_t len) {
    regions.push_back({reinterpret_cast<uintptr_t>(p), len, 0, 0});
    run.regions = regions.data();
    run.nregions = static_cast<uint32_t>(regions.size());
  }

  uint64_t Run(uint64_t r1, uint64_t r2 = 0) {
    int err = image ? image->Run(&run, r1, r2, 0) : hu_interp_run(&run, r1, r2, 0);
    if (err != HU_RUN_OK) throw std::runtime_error(hu_run_strerror(run.err));
    return run.r0;
  }
};

// TSC cycles of one call of f: the least over 25 batches of `batch` calls.
template <class F>
double MinCycles(F f, int batch) {
  uint64_t best = UINT64_MAX;
  for (int b = 0; b < 25; ++b) {
    uint64_t t0 = __rdtsc();
    for (int i = 0; i < batch; ++i) benchmark::DoNotOptimize(f());
    best = std::min<uint64_t>(best, __rdtsc() - t0);
  }
  return static_cast<double>(best) / batch;
}

void Report(benchmark::State& state, uint64_t insns, double cycles) {
  state.counters["insns"] = static_cast<double>(insns);
  // Time per executed instruction, in ns (the 1e-9 scales seconds to ns).
  state.counters["ns_per_insn"] = benchmark::Counter(
      static_cast<double>(insns) * 1e-9,
      benchmark::Counter::kIsIterationInvariantRate | benchmark::Counter::kInvert);
  state.counters["cycles"] = cycles;
}

void Check(bool same) {
  if (!same) throw std::runtime_error("engine and native results differ");
}

// One program on one engine: checks the result against the native twin,
// times it, and reports the interpreter's instruction count.
template <class Setup, class Native>
void RunEngine(benchmark::State& state, const char* text, Engine engine, void* env, Setup setup,
               Native native, uint64_t r1, uint64_t r2, int batch) {
  Vm vm(text, engine, env);
  setup(vm);
  Check(vm.Run(r1, r2) == native());
  for (auto _ : state) benchmark::DoNotOptimize(vm.Run(r1, r2));
  double cycles = MinCycles([&] { return vm.Run(r1, r2); }, batch);
  Vm interp(text, Engine::kInterp, env);
  setup(interp);
  interp.Run(r1, r2);
  Report(state, interp.run.executed, cycles);
}

template <class F>
void RunNative(benchmark::State& state, F f, int batch) {
  for (auto _ : state) benchmark::DoNotOptimize(f());
  state.counters["cycles"] = MinCycles(f, batch);
}

void NoSetup(Vm&) {}

constexpr uint64_t kAluN = 1000;
constexpr uint64_t kStackReps = 16;
constexpr uint64_t kHelperN = 1000;
constexpr uint64_t kRegionN = 1000;

void BM_AluLoop(benchmark::State& state, Engine e) {
  RunEngine(
      state, kAluLoop, e, nullptr, NoSetup, [] { return NativeAluLoop(kAluN); }, kAluN, 0, 20);
}
void BM_AluLoop_Native(benchmark::State& state) {
  uint64_t n = kAluN;
  RunNative(
      state,
      [&] {
        benchmark::DoNotOptimize(n);
        return NativeAluLoop(n);
      },
      20);
}

void BM_StackHeavy(benchmark::State& state, Engine e) {
  RunEngine(
      state, kStackHeavy, e, nullptr, NoSetup, [] { return NativeStackHeavy(3, kStackReps); }, 3,
      kStackReps, 20);
}
void BM_StackHeavy_Native(benchmark::State& state) {
  uint64_t k = 3;
  RunNative(
      state,
      [&] {
        benchmark::DoNotOptimize(k);
        return NativeStackHeavy(k, kStackReps);
      },
      20);
}

// The same program as a hook runs it: the hook's context is registered as
// the first (read-only) region, so reads through a pointer are compared
// with the context first and stack reads through a pointer miss it.
void BM_StackHeavyHook(benchmark::State& state, Engine e) {
  static const std::array<uint8_t, 64> ctx{};
  RunEngine(
      state, kStackHeavy, e, nullptr, [](Vm& vm) { vm.AddRegion(ctx.data(), ctx.size()); },
      [] { return NativeStackHeavy(3, kStackReps); }, 3, kStackReps, 20);
}
void BM_StackHeavyHook_Native(benchmark::State& state) { BM_StackHeavy_Native(state); }

void BM_HelperHeavy(benchmark::State& state, Engine e) {
  RunEngine(
      state, kHelperHeavy, e, nullptr, NoSetup,
      [] { return NativeHelperHeavy(HelperMix, kHelperN); }, kHelperN, 0, 20);
}
void BM_HelperHeavy_Native(benchmark::State& state) {
  MixFn mix = HelperMix;
  RunNative(
      state,
      [&] {
        benchmark::DoNotOptimize(mix);
        return NativeHelperHeavy(mix, kHelperN);
      },
      20);
}

Guest& TheGuest() {
  static Guest guest;
  return guest;
}

void BM_HookListWalk(benchmark::State& state, Engine e) {
  Guest& g = TheGuest();
  RunEngine(
      state, kListWalk, e, &g, NoSetup, [&] { return NativeListWalk(g, g.head); }, g.head, 0, 200);
}
void BM_HookListWalk_Native(benchmark::State& state) {
  Guest& g = TheGuest();
  RunNative(
      state,
      [&] {
        benchmark::DoNotOptimize(g.head);
        return NativeListWalk(g, g.head);
      },
      200);
}

void BM_HookListWalk_NativeHelper(benchmark::State& state) {
  Guest& g = TheGuest();
  Vm vm(kListWalk, Engine::kInterp, &g);  // for its hu_run: stack, env
  hu_helper_fn read_gva = HelperReadGva;
  Check(NativeListWalkViaHelper(read_gva, &vm.run, g.head) == NativeListWalk(g, g.head));
  RunNative(
      state,
      [&] {
        benchmark::DoNotOptimize(read_gva);
        return NativeListWalkViaHelper(read_gva, &vm.run, g.head);
      },
      200);
}

const std::vector<uint64_t>& RegionData() {
  static std::vector<uint64_t> v = [] {
    std::vector<uint64_t> d(kRegionN);
    for (size_t i = 0; i < d.size(); ++i) d[i] = i * 0x9e3779b97f4a7c15ull;
    return d;
  }();
  return v;
}

void BM_RegionSum(benchmark::State& state, Engine e) {
  const auto& d = RegionData();
  RunEngine(
      state, kRegionSum, e, nullptr,
      [&](Vm& vm) { vm.AddRegion(d.data(), d.size() * sizeof d[0]); },
      [&] { return NativeRegionSum(d.data(), d.size()); }, reinterpret_cast<uintptr_t>(d.data()),
      d.size(), 20);
}
void BM_RegionSum_Native(benchmark::State& state) {
  const uint64_t* p = RegionData().data();
  RunNative(
      state,
      [&] {
        benchmark::DoNotOptimize(p);
        return NativeRegionSum(p, kRegionN);
      },
      20);
}

// Each engine and the native twin update their own array (the first runs,
// compared, start from the same zeros).
void BM_MapUpdate(benchmark::State& state, Engine e) {
  static const std::array<uint8_t, 64> ctx{};
  std::vector<uint64_t> value(kRegionN), twin(kRegionN);
  RunEngine(
      state, kMapUpdate, e, nullptr,
      [&](Vm& vm) {
        vm.AddRegion(ctx.data(), ctx.size());
        vm.regions.push_back(
            {reinterpret_cast<uintptr_t>(value.data()), value.size() * sizeof value[0], 1, 0});
        vm.run.regions = vm.regions.data();
        vm.run.nregions = static_cast<uint32_t>(vm.regions.size());
      },
      [&] { return NativeMapUpdate(twin.data(), twin.size()); },
      reinterpret_cast<uintptr_t>(ctx.data()), reinterpret_cast<uintptr_t>(value.data()), 20);
}
void BM_MapUpdate_Native(benchmark::State& state) {
  std::vector<uint64_t> value(kRegionN);
  RunNative(
      state, [&] { return NativeMapUpdate(value.data(), value.size()); }, 20);
}

#define ENGINES(name)                                                                 \
  BENCHMARK_CAPTURE(BM_##name, Interp, Engine::kInterp)->Name(#name "_Interp");       \
  BENCHMARK_CAPTURE(BM_##name, Jit, Engine::kJit)->Name(#name "_Jit");                \
  BENCHMARK_CAPTURE(BM_##name, JitPlain, Engine::kJitPlain)->Name(#name "_JitPlain"); \
  BENCHMARK(BM_##name##_Native)->Name(#name "_Native")

ENGINES(AluLoop);
ENGINES(StackHeavy);
ENGINES(StackHeavyHook);
ENGINES(HelperHeavy);
ENGINES(HookListWalk);
BENCHMARK(BM_HookListWalk_NativeHelper)->Name("HookListWalk_NativeHelper");
ENGINES(RegionSum);
ENGINES(MapUpdate);

}  // namespace

BENCHMARK_MAIN();
