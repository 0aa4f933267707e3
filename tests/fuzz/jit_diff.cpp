#include "jit_diff.hpp"

#include <array>
#include <cstring>

#include "hyperupcall/abi.h"
#include "hyperupcall/interp.h"
#include "hyperupcall/jit.hpp"
#include "hyperupcall/verifier.hpp"
#include "progen.hpp"

namespace hu::fuzz {
namespace {

constexpr uint64_t kMapToken = 0x4855'4d41'5000'0000ull;
constexpr uint64_t kBudget = 1'000'000;

// Everything a run can change, so two runs can be compared.
struct World {
  alignas(16) std::array<uint8_t, HU_STACK_FRAME * HU_MAX_CALL_DEPTH> stack{};
  alignas(16) std::array<uint8_t, kMapEntries * kMapValue> arena{};
  hu_ctx_trace_exit ctx{};
  std::vector<std::vector<uint8_t>> trace;
  uint64_t clock = 1000;
  uint64_t helper_calls = 0;
};

World& W(hu_run* run) { return *static_cast<World*>(run->env); }

uint64_t MapLookup(hu_run* run, uint64_t map, uint64_t key, uint64_t, uint64_t, uint64_t) {
  World& w = W(run);
  ++w.helper_calls;
  if (map != kMapToken || hu_interp_check(run, key, 4, 0) != HU_RUN_OK) return 0;
  uint32_t k;
  std::memcpy(&k, reinterpret_cast<const void*>(static_cast<uintptr_t>(key)), 4);
  return k < kMapEntries ? reinterpret_cast<uintptr_t>(w.arena.data()) + k * kMapValue : 0;
}

uint64_t TraceOutput(hu_run* run, uint64_t data, uint64_t size, uint64_t, uint64_t, uint64_t) {
  World& w = W(run);
  ++w.helper_calls;
  if (size == 0 || size > HU_TRACE_MAX_RECORD || hu_interp_check(run, data, size, 0) != HU_RUN_OK)
    return static_cast<uint64_t>(-HU_EFAULT);
  const auto* p = reinterpret_cast<const uint8_t*>(static_cast<uintptr_t>(data));
  w.trace.emplace_back(p, p + size);
  return 0;
}

uint64_t KtimeNs(hu_run* run, uint64_t, uint64_t, uint64_t, uint64_t, uint64_t) {
  World& w = W(run);
  ++w.helper_calls;
  return w.clock += 17;
}

const std::array<hu_helper_fn, HU_HELPER_MAX>& Helpers() {
  static const std::array<hu_helper_fn, HU_HELPER_MAX> h = [] {
    std::array<hu_helper_fn, HU_HELPER_MAX> t{};
    t[HU_HELPER_MAP_LOOKUP] = MapLookup;
    t[HU_HELPER_TRACE_OUTPUT] = TraceOutput;
    t[HU_HELPER_KTIME_NS] = KtimeNs;
    return t;
  }();
  return h;
}

struct Result {
  int err = 0;
  uint32_t err_pc = 0;
  uint64_t r0 = 0;
};

// Runs on `w` with one engine: regions are the context (read-only) and
// the map's values, as a host registers them.
Result Run(const std::vector<hu_insn>& prog, World& w, const hu::jit::Image* img, uint64_t budget,
           const std::vector<hu_mem_region>& regions, uint64_t r1, uint64_t r2) {
  hu_run run{};
  run.insns = prog.data();
  run.ninsns = static_cast<uint32_t>(prog.size());
  run.helpers = Helpers().data();
  run.nhelpers = HU_HELPER_MAX;
  run.env = &w;
  run.regions = regions.data();
  run.nregions = static_cast<uint32_t>(regions.size());
  run.stack = w.stack.data();
  run.stack_size = w.stack.size();
  run.budget = budget;
  int err = img ? img->Run(&run, r1, r2) : hu_interp_run(&run, r1, r2, 0);
  return Result{err, run.err_pc, run.r0};
}

std::string Hex(uint64_t v) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "0x%llx", static_cast<unsigned long long>(v));
  return buf;
}

std::string Compare(const Result& a, const World& wa, const Result& b, const World& wb) {
  if (a.err != b.err) {
    return std::string("error: interpreter ") + hu_run_strerror(a.err) + " at pc " +
           std::to_string(a.err_pc) + ", jit " + hu_run_strerror(b.err) + " at pc " +
           std::to_string(b.err_pc);
  }
  if (a.err != HU_RUN_OK && a.err_pc != b.err_pc) {
    return std::string(hu_run_strerror(a.err)) + ": interpreter at pc " + std::to_string(a.err_pc) +
           ", jit at pc " + std::to_string(b.err_pc);
  }
  if (a.err == HU_RUN_OK && a.r0 != b.r0) {
    return "r0: interpreter " + Hex(a.r0) + ", jit " + Hex(b.r0);
  }
  for (size_t i = 0; i < wa.stack.size(); ++i) {
    if (wa.stack[i] != wb.stack[i]) {
      return "stack byte " + std::to_string(i) + ": interpreter " + Hex(wa.stack[i]) + ", jit " +
             Hex(wb.stack[i]);
    }
  }
  if (wa.arena != wb.arena) return "map values differ";
  if (wa.trace != wb.trace) return "trace records differ";
  if (wa.helper_calls != wb.helper_calls) return "helper call counts differ";
  return "";
}

}  // namespace

DiffOutcome RunDifferential(const std::vector<hu_insn>& prog, uint64_t ctx_seed) {
  DiffOutcome out;
  verifier::Options opts;
  opts.hook = HU_HOOK_TRACE_EXIT;
  opts.maps = {hu_map_def{HU_MAP_ARRAY, 4, kMapValue, kMapEntries}};
  opts.time_limit = std::chrono::milliseconds(500);
  if (!verifier::Verify(prog, opts).accepted) return out;
  out.verified = true;

  // The host's relocation: the map reference becomes a token.
  std::vector<hu_insn> code = prog;
  for (size_t pc = 0; pc + 1 < code.size(); ++pc) {
    if (code[pc].code != (HU_CLS_LD | HU_MODE_IMM | HU_SIZE_DW)) continue;
    if (code[pc].src == HU_PSEUDO_MAP_IDX) {
      uint64_t v = kMapToken + static_cast<uint32_t>(code[pc].imm);
      code[pc].src = 0;
      code[pc].imm = static_cast<int32_t>(static_cast<uint32_t>(v));
      code[pc + 1].imm = static_cast<int32_t>(static_cast<uint32_t>(v >> 32));
    }
    ++pc;
  }
  auto img = hu::jit::Image::Compile(code, Helpers().data(), HU_HELPER_MAX);
  if (!img.ok()) {
    out.mismatch = "jit refused a verified program: " + img.error().message;
    return out;
  }
  out.counted = img->image().counted_loops != 0;
  out.looped = img->image().counted_loops > img->image().unrolled_loops;

  // One world, so both engines see the same addresses: the interpreter
  // runs, its result is kept, the world is reset, the JIT runs.
  World w;
  uint64_t x = ctx_seed * 0x9e3779b97f4a7c15ull + 1;
  auto* raw = reinterpret_cast<uint8_t*>(&w.ctx);
  for (size_t i = 0; i < sizeof w.ctx; ++i) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    raw[i] = static_cast<uint8_t>(x);
  }
  for (size_t i = 0; i < w.arena.size(); ++i) w.arena[i] = static_cast<uint8_t>(i * 7);
  const World start = w;
  const std::vector<hu_mem_region> regions{
      {reinterpret_cast<uintptr_t>(&w.ctx), sizeof w.ctx, 0, 0},
      {reinterpret_cast<uintptr_t>(w.arena.data()), w.arena.size(), 1, 0}};
  const auto r1 = reinterpret_cast<uintptr_t>(&w.ctx);
  auto ra = Run(code, w, nullptr, kBudget, regions, r1, 0);
  if (ra.err == HU_RUN_BUDGET) return out;
  const World after_interp = w;
  w = start;
  // The JIT charges at most the program's length per instruction run.
  auto rb = Run(code, w, &*img, kBudget * (code.size() + 1) + 1, regions, r1, 0);
  out.compared = true;
  out.mismatch = Compare(ra, after_interp, rb, w);
  return out;
}

std::string CompareRaw(const std::vector<hu_insn>& prog, std::vector<uint8_t> mem) {
  auto img = hu::jit::Image::Compile(prog, Helpers().data(), HU_HELPER_MAX);
  if (!img.ok()) return "jit refused the program: " + img.error().message;
  World w;
  const World start = w;
  const std::vector<uint8_t> mem_start = mem;
  const std::vector<hu_mem_region> regions{
      {reinterpret_cast<uintptr_t>(mem.data()), mem.size(), 1, 0}};
  const auto r1 = reinterpret_cast<uintptr_t>(mem.data());
  const uint64_t budget = 4096;
  auto ra = Run(prog, w, nullptr, budget, regions, r1, mem.size());
  const World after_interp = w;
  const std::vector<uint8_t> mem_interp = mem;
  w = start;
  mem = mem_start;
  // Run even when the result cannot be compared: it must not crash.
  auto rb = Run(prog, w, &*img, budget * (prog.size() + 1) + 1, regions, r1, mem.size());
  if (ra.err == HU_RUN_BUDGET || after_interp.helper_calls != 0) return "";
  std::string why = Compare(ra, after_interp, rb, w);
  if (why.empty() && mem != mem_interp) why = "region bytes differ";
  return why;
}

}  // namespace hu::fuzz
