// Messages that point at the C source: a linked program knows, for each
// instruction, its function and (with clang -g) its source line, so a
// verifier rejection at insn N can say where in the C file it is, as
// Linux's verifier does ("; *v += 1 @ probe.c:8").
#pragma once

#include <cstdint>
#include <string>

#include "hyperupcall/guest/loader.hpp"

namespace hu::guest {

// "; *v += 1 @ probe.c:8", or "" when insn `pc` has no source line.
std::string SourceLineNote(const Program& p, int64_t pc);
// "in count() at probe.c:8", "in count()" without line info, "" when `pc`
// is not an instruction of `p`.
std::string WhereNote(const Program& p, int64_t pc);
// The verifier's per-instruction log ("12: insn ; state" lines) with the
// source line before the first instruction of each new line.
std::string AnnotateLog(const Program& p, const std::string& log);

}  // namespace hu::guest
