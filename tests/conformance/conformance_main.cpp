// The conformance runner: every *.data file of the BPF conformance suite,
// read as it is, assembled by our assembler (checked against `-- raw` where
// present), run by our interpreter, or with --jit through the JIT. Ends
// with "conformance: N passed, M failed" and fails if anything failed.
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "hyperupcall/asm.hpp"
#include "hyperupcall/decode.hpp"
#include "suite_run.hpp"
#include "test_file.hpp"

namespace {

using hu::conformance::TestFile;

// Empty when the test passes, else why it failed.
std::string Check(const TestFile& t, hu::conformance::Engine engine) {
  auto prog = hu::Assemble(t.asm_text);
  if (!prog.ok()) {
    return t.error ? "" : "assembler: " + prog.error().message;
  }
  if (!t.raw.empty()) {
    std::vector<uint8_t> want;
    for (uint64_t slot : t.raw) {
      for (int i = 0; i < 8; ++i) want.push_back(static_cast<uint8_t>(slot >> (8 * i)));
    }
    if (hu::EncodeBytes(*prog) != want) return "assembled bytes differ from -- raw";
  }
  auto r0 = hu::conformance::RunSuiteProgram(*prog, t.mem, engine);
  if (t.error) {
    return r0.ok() ? "expected error '" + *t.error + "', got r0 " + std::to_string(*r0) : "";
  }
  if (!r0.ok()) return "run: " + r0.error().message;
  if (*r0 != *t.result) {
    char buf[96];
    std::snprintf(buf, sizeof buf, "r0 = 0x%llx, expected 0x%llx",
                  static_cast<unsigned long long>(*r0), static_cast<unsigned long long>(*t.result));
    return buf;
  }
  return "";
}

}  // namespace

int main(int argc, char** argv) {
  const auto engine = hu::conformance::EngineFromArgs(argc, argv);
  if (argc != (engine == hu::conformance::Engine::kJit ? 3 : 2)) {
    std::fprintf(stderr, "usage: %s [--jit] <conformance tests directory>\n", argv[0]);
    return 2;
  }
  const char* dir = argv[argc - 1];
  std::vector<std::filesystem::path> files;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    if (entry.path().extension() == ".data") files.push_back(entry.path());
  }
  if (ec) {
    std::fprintf(stderr, "%s: %s\n", dir, ec.message().c_str());
    return 2;
  }
  std::sort(files.begin(), files.end());

  int passed = 0, failed = 0;
  for (const auto& path : files) {
    auto t = hu::conformance::ParseTestFile(path.string());
    std::string why = t.ok() ? Check(*t, engine) : t.error().message;
    if (why.empty()) {
      ++passed;
      std::printf("PASS %s\n", path.filename().c_str());
    } else {
      ++failed;
      std::printf("FAIL %s: %s\n", path.filename().c_str(), why.c_str());
    }
  }
  std::printf("conformance%s: %d passed, %d failed\n",
              engine == hu::conformance::Engine::kJit ? " (jit)" : "", passed, failed);
  return failed == 0 && passed > 0 ? 0 : 1;
}
