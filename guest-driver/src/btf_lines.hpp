// The C source lines clang -g records for each instruction (.BTF.ext line
// info, the same records Linux's verifier prints as "; *v += 1 @ probe.c:8"),
// read so a rejection can name the line it is about. Line info is for
// people only: an object without it (no -g) simply has none, and one whose
// line info is malformed loads as if it had none, saying why.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "elf_object.hpp"

namespace hu::guest::detail {

struct LineRecord {
  uint32_t insn = 0;  // instruction index inside its section
  uint32_t line = 0, column = 0;
  std::string file;  // as clang recorded it (the path it compiled)
  std::string text;  // the source line, as written
};

struct LineTable {
  // By code section name, sorted by instruction.
  std::map<std::string, std::vector<LineRecord>> sections;
  std::string problem;  // why there is none, when the object had some we could not read

  // The record in effect at `insn` of `section`: the last one at or
  // before it, or null.
  const LineRecord* At(const std::string& section, uint32_t insn) const;
};

LineTable ReadLineInfo(const ElfObject& elf);

}  // namespace hu::guest::detail
