// libFuzzer entry point for the loader: any bytes, as a guest admin's
// "object file", must end in a Result, never a crash or an out-of-bounds
// read. Build: cmake -DHU_GUEST_FUZZ=ON -DCMAKE_CXX_COMPILER=clang++ ...
// Run: guest_loader_fuzz -max_total_time=60 CORPUS_DIR (seed it with
// tests/guest objects).
#include <cstddef>
#include <cstdint>

#include "hyperupcall/guest/loader.hpp"

namespace {

class AnySymbol : public hu::guest::SymbolResolver {
 public:
  hu::Result<uint64_t> Resolve(std::string_view name) override {
    if (name.empty()) return hu::MakeError(hu::ErrorCode::kNotFound, "'' not found in fuzz");
    return 0xffffffff81000000ull + name.size();
  }
  std::string Source() const override { return "fuzz"; }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto obj = hu::guest::BpfObject::FromBytes({data, size}, "fuzz.o");
  if (!obj.ok()) return 0;
  AnySymbol ksyms;
  for (const auto& p : obj->programs()) {
    auto linked = obj->Link(p.name, &ksyms);
    (void)linked;
  }
  return 0;
}
