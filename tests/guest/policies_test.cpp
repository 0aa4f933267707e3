// Every policy the build compiles (policies/*.bpf.o with its manifest)
// goes through the tool's load path: object, manifest hook and regions,
// linking. Kernel symbols come from a resolver that knows every name, so
// this checks the loader, not one kernel's symbol table.
#include <gtest/gtest.h>

#include <filesystem>

#include "hyperupcall/guest/hooks.hpp"
#include "tool.hpp"

namespace hu::guest {
namespace {

namespace fs = std::filesystem;

class AnyResolver : public SymbolResolver {
 public:
  Result<uint64_t> Resolve(std::string_view name) override {
    return 0xffffffff81000000ull + 0x1000 * (std::hash<std::string_view>{}(name) % 0x10000);
  }
  std::string Source() const override { return "any"; }
};

TEST(Policies, EveryBuiltPolicyLoadsWithItsManifest) {
  const fs::path dir = HU_POLICIES_BUILD_DIR;
  ASSERT_TRUE(fs::is_directory(dir)) << dir;
  int loaded = 0;
  for (const auto& entry : fs::directory_iterator(dir)) {
    const std::string file = entry.path().string();
    if (!file.ends_with(".bpf.o")) continue;
    SCOPED_TRACE(file);
    const std::string base = file.substr(0, file.size() - std::string(".bpf.o").size());
    tool::LoadOptions opts;
    opts.file = file;
    opts.manifest = base + ".manifest.json";
    ASSERT_TRUE(fs::exists(opts.manifest)) << "no manifest next to " << file;
    auto manifest = LoadManifest(opts.manifest);
    ASSERT_TRUE(manifest.ok()) << manifest.error().message;

    AnyResolver ksyms;
    tool::Failure failure;
    tool::Prepared prep = tool::PrepareLoad(opts, ksyms, &failure);
    ASSERT_FALSE(prep.requests.empty()) << failure.message;
    for (size_t i = 0; i < prep.requests.size(); ++i) {
      const auto& req = prep.requests[i];
      const Program& prog = prep.programs[i];
      EXPECT_EQ(req.hook(), manifest->hook);
      EXPECT_EQ(req.insns().size(), prog.insns.size() * sizeof(hu_insn));
      EXPECT_LE(prog.insns.size(), size_t{HU_MAX_INSNS_DEFAULT});
      EXPECT_EQ(req.regions_size(), static_cast<int>(manifest->regions.size()));
      EXPECT_EQ(req.maps_size(), static_cast<int>(prog.maps.size()));
      // Every map reference points at a map of the request.
      for (size_t k = 0; k < prog.insns.size(); ++k) {
        const hu_insn& in = prog.insns[k];
        if (in.code != (HU_CLS_LD | HU_MODE_IMM | HU_SIZE_DW)) continue;
        if (in.src == HU_PSEUDO_MAP_IDX) {
          EXPECT_GE(in.imm, 0);
          EXPECT_LT(in.imm, req.maps_size());
        }
        ++k;
      }
    }
    ++loaded;
  }
  // policies/CMakeLists.txt builds one per hook.
  EXPECT_GE(loaded, 5);
}

}  // namespace
}  // namespace hu::guest
