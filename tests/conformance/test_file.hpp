// One BPF conformance suite test file (*.data), parsed as it is on disk:
// `-- asm` text, optional `-- mem` hex bytes, `-- result` expected r0 or
// `-- error` expected failure, optional `-- raw` slots. Sections the runner
// does not use (`-- c`, notes) are kept out.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "hyperupcall/result.hpp"

namespace hu::conformance {

struct TestFile {
  std::string name;
  std::string asm_text;
  std::vector<uint8_t> mem;
  std::optional<uint64_t> result;
  std::optional<std::string> error;
  std::vector<uint64_t> raw;  // each slot as in the file: imm<<32|off<<16|regs<<8|code
};

Result<TestFile> ParseTestFile(const std::string& path);

// Hex bytes separated by whitespace ("00 01 ff" or "0001ff"), as in `-- mem`
// sections and in the plugin protocol.
Result<std::vector<uint8_t>> ParseHexBytes(std::string_view text);

}  // namespace hu::conformance
