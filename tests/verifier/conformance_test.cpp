// Soundness against the public BPF conformance suite: for every test the
// verifier accepts, the result the suite expects lies inside the range the
// verifier computed for r0, in both the signed and the unsigned view.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "conformance_platform.hpp"
#include "hyperupcall/asm.hpp"
#include "hyperupcall/verifier.hpp"

namespace hu::verifier::testing {
namespace {

struct DataFile {
  std::string asm_text;
  std::vector<uint8_t> mem;
  bool has_mem = false;
  bool has_result = false;
  uint64_t result = 0;
};

// Sections start with "-- name"; only asm, mem and result matter here.
DataFile Parse(const std::filesystem::path& path) {
  std::ifstream in(path);
  DataFile d;
  std::string line, section;
  while (std::getline(in, line)) {
    if (line.rfind("-- ", 0) == 0) {
      section = line.substr(3);
      if (section == "mem") d.has_mem = true;
      continue;
    }
    if (section == "asm") {
      d.asm_text += line + "\n";
    } else if (section == "mem") {
      std::istringstream ss(line);
      std::string byte;
      while (ss >> byte) d.mem.push_back(static_cast<uint8_t>(std::stoul(byte, nullptr, 16)));
    } else if (section == "result") {
      std::string t;
      std::istringstream ss(line);
      if (ss >> t && !d.has_result) {
        d.result = std::stoull(t, nullptr, 0);
        d.has_result = true;
      }
    }
  }
  return d;
}

TEST(Conformance, ExpectedResultInsideR0Range) {
  std::filesystem::path dir = HU_CONFORMANCE_DIR;
  ASSERT_TRUE(std::filesystem::is_directory(dir)) << dir;
  std::vector<std::filesystem::path> files;
  for (const auto& e : std::filesystem::directory_iterator(dir))
    if (e.path().extension() == ".data") files.push_back(e.path());
  std::sort(files.begin(), files.end());
  ASSERT_GT(files.size(), 300u);

  int accepted = 0, rejected = 0, unassembled = 0, exact = 0;
  std::map<std::string, std::vector<std::string>> reasons;
  for (const auto& f : files) {
    DataFile d = Parse(f);
    std::string name = f.stem().string();
    auto prog = Assemble(d.asm_text);
    if (!prog.ok()) {
      unassembled++;
      reasons["does not assemble: " + prog.error().message].push_back(name);
      continue;
    }
    ConformancePlatform platform(d.mem.size(), d.has_mem);
    Options opts;
    Report r = Verify(*prog, opts, platform);
    if (!r.accepted) {
      rejected++;
      // Group by reason without the instruction, which differs per test.
      std::string why = r.error;
      if (auto p = why.find("`: "); p != std::string::npos) why = why.substr(p + 3);
      if (auto p = why.find(": r"); p != std::string::npos) why = why.substr(0, p);
      reasons[why].push_back(name);
      continue;
    }
    accepted++;
    ASSERT_TRUE(d.has_result) << name;
    if (r.r0.umin == r.r0.umax) exact++;
    EXPECT_GE(d.result, r.r0.umin) << name;
    EXPECT_LE(d.result, r.r0.umax) << name;
    EXPECT_GE(static_cast<int64_t>(d.result), r.r0.smin) << name;
    EXPECT_LE(static_cast<int64_t>(d.result), r.r0.smax) << name;
  }
  std::printf(
      "conformance: %zu tests, %d accepted (result inside r0's range; %d with r0 known exactly), "
      "%d rejected, %d do not assemble\n",
      files.size(), accepted, exact, rejected, unassembled);
  for (const auto& [why, names] : reasons) {
    std::printf("  rejected (%zu): %s:", names.size(), why.c_str());
    for (const auto& n : names) std::printf(" %s", n.c_str());
    std::printf("\n");
  }
  // Precision guard: the suite is almost entirely safe code.
  EXPECT_GE(accepted, 300);
}

}  // namespace
}  // namespace hu::verifier::testing
