// bpf_conformance plugin: the program as hex bytes on stdin, the memory as
// hex bytes in argv[1]; among the plugin options that follow, --jit runs
// the program through the JIT instead of the interpreter. Prints r0 in hex
// and exits 0, or prints the error and exits 1. Lets any outside runner
// measure this engine.
#include <cstdio>
#include <iostream>
#include <iterator>
#include <string>

#include "hyperupcall/decode.hpp"
#include "hyperupcall/opcodes.h"
#include "suite_run.hpp"
#include "test_file.hpp"

int main(int argc, char** argv) {
  std::string program_hex((std::istreambuf_iterator<char>(std::cin)),
                          std::istreambuf_iterator<char>());
  auto bytes = hu::conformance::ParseHexBytes(program_hex);
  if (!bytes.ok()) {
    std::printf("program: %s\n", bytes.error().message.c_str());
    return 1;
  }
  auto mem = hu::conformance::ParseHexBytes(argc > 1 ? argv[1] : "");
  if (!mem.ok()) {
    std::printf("memory: %s\n", mem.error().message.c_str());
    return 1;
  }
  auto prog = hu::DecodeBytes(*bytes);
  if (!prog.ok()) {
    std::printf("%s\n", prog.error().message.c_str());
    return 1;
  }
  // Reject malformed programs up front, naming the instruction, as a loader
  // would; the interpreter would stop on them too, but only when reached.
  for (size_t pc = 0; pc < prog->size(); ++pc) {
    const hu_insn* next = pc + 1 < prog->size() ? &(*prog)[pc + 1] : nullptr;
    auto st = hu::ValidateInsn((*prog)[pc], next);
    if (!st.ok()) {
      std::printf("insn %zu: %s\n", pc, st.error().message.c_str());
      return 1;
    }
    if (hu_opcodes[(*prog)[pc].code].flags & HU_OPF_LDDW) ++pc;
  }
  auto r0 = hu::conformance::RunSuiteProgram(*prog, std::move(*mem),
                                             hu::conformance::EngineFromArgs(argc, argv));
  if (!r0.ok()) {
    std::printf("%s\n", r0.error().message.c_str());
    return 1;
  }
  std::printf("%llx\n", static_cast<unsigned long long>(*r0));
  return 0;
}
