// Writes one fuzzer seed per conformance test: a memory-size byte, the
// assembled program, then the test's memory. Gives the fuzzer every
// instruction family from the start.
#include <filesystem>
#include <fstream>
#include <string>

#include "hyperupcall/asm.hpp"
#include "hyperupcall/decode.hpp"
#include "test_file.hpp"

int main(int argc, char** argv) {
  if (argc != 3) return 2;
  std::filesystem::create_directories(argv[2]);
  int n = 0;
  for (const auto& e : std::filesystem::directory_iterator(argv[1])) {
    if (e.path().extension() != ".data") continue;
    auto t = hu::conformance::ParseTestFile(e.path().string());
    if (!t.ok() || t->mem.size() > 64) continue;
    auto p = hu::Assemble(t->asm_text);
    if (!p.ok()) continue;
    std::ofstream out(std::filesystem::path(argv[2]) / e.path().stem(), std::ios::binary);
    out.put(static_cast<char>(t->mem.size()));
    for (uint8_t b : hu::EncodeBytes(*p)) out.put(static_cast<char>(b));
    for (uint8_t b : t->mem) out.put(static_cast<char>(b));
    ++n;
  }
  return n > 0 ? 0 : 1;
}
