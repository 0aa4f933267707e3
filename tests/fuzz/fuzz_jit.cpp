// libFuzzer target for the JIT, differential against the interpreter: the
// input's bytes drive progen.hpp's choices, the program is verified and
// both engines must agree (jit_diff.hpp); any mismatch aborts with the
// program. Coverage guidance steers the choices where plain random seeds
// (jit_diff_test.cpp) would not go.
#include <fuzzer/FuzzedDataProvider.h>

#include <cstdio>
#include <cstdlib>

#include "hyperupcall/disasm.hpp"
#include "jit_diff.hpp"
#include "progen.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider fdp(data, size);
  const uint64_t ctx_seed = fdp.ConsumeIntegral<uint64_t>();
  auto prog = hu::fuzz::GenerateProgram(
      [&](uint64_t n) { return fdp.ConsumeIntegralInRange<uint64_t>(0, n - 1); });
  auto out = hu::fuzz::RunDifferential(prog, ctx_seed);
  if (!out.mismatch.empty()) {
    std::fprintf(stderr, "jit differs from the interpreter: %s\n%s\n", out.mismatch.c_str(),
                 hu::DisassembleProgram(prog).c_str());
    std::abort();
  }
  return 0;
}
