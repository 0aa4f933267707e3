#include "suite_run.hpp"

#include <string>
#include <string_view>

#include "hyperupcall/interp.h"
#include "hyperupcall/jit.hpp"
#include "suite_helpers.hpp"

namespace hu::conformance {

Result<uint64_t> RunSuiteProgram(std::span<const hu_insn> prog, std::vector<uint8_t> mem,
                                 Engine engine) {
  alignas(16) static thread_local uint8_t stack[HU_STACK_FRAME * HU_MAX_CALL_DEPTH];
  std::fill(std::begin(stack), std::end(stack), 0);

  hu_mem_region region{};
  region.base = reinterpret_cast<uintptr_t>(mem.data());
  region.len = mem.size();
  region.writable = 1;

  hu_run run{};
  run.insns = prog.data();
  run.ninsns = static_cast<uint32_t>(prog.size());
  run.helpers = kSuiteHelpers;
  run.nhelpers = kSuiteHelperCount;
  run.regions = mem.empty() ? nullptr : &region;
  run.nregions = mem.empty() ? 0 : 1;
  run.stack = stack;
  run.stack_size = sizeof stack;
  run.budget = kSuiteBudget;

  uint64_t r1 = mem.empty() ? 0 : region.base;
  int err;
  if (engine == Engine::kJit) {
    auto img = jit::Image::Compile(prog, kSuiteHelpers, kSuiteHelperCount);
    if (!img.ok()) return img.error();
    err = img->Run(&run, r1, mem.size(), 0);
  } else {
    err = hu_interp_run(&run, r1, mem.size(), 0);
  }
  if (err != HU_RUN_OK) {
    return MakeError(ErrorCode::kAborted, std::string(hu_run_strerror(run.err)) + " at pc " +
                                              std::to_string(run.err_pc) + " (error " +
                                              std::to_string(run.err) + ")");
  }
  return run.r0;
}

Engine EngineFromArgs(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    if (std::string_view(argv[i]) == "--jit") return Engine::kJit;
  }
  return Engine::kInterp;
}

}  // namespace hu::conformance
