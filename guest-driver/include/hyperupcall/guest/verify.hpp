// Verifying an object where it was built, with no daemon: each program is
// linked as `load` would link it and checked by the daemon's own verifier
// with its default limits (or a given budget), and a rejection points at
// the C source. Used by `hyperupcall verify` and by `hu-verify` for ELF
// objects.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "hyperupcall/guest/kallsyms.hpp"
#include "hyperupcall/guest/loader.hpp"
#include "hyperupcall/result.hpp"
#include "hyperupcall/verifier.hpp"

namespace hu::guest {

struct VerifyOptions {
  std::string hook;     // instead of the SEC's hook ("" = the SEC's)
  std::string prog;     // only this program ("" = all of them)
  int log_level = 0;    // the verifier's: 1 summary, 2 state at every insn
  uint64_t budget = 0;  // instructions the verifier may process, 0 = default
};

struct VerifiedProgram {
  Program program;
  hu_hook_id hook = HU_HOOK_NONE;
  verifier::Report report;
  std::string log;  // report.log with the source lines added
  // Kernel symbols the resolver did not know: verified with a placeholder
  // address (to the verifier an address is just a constant).
  std::vector<std::string> placeholder_ksyms;
};

// Every selected program of `obj`, verified. Errors: a hook that is not
// one, a program that is not there, a program that does not link.
Result<std::vector<VerifiedProgram>> VerifyObject(const BpfObject& obj, const VerifyOptions& opts,
                                                  SymbolResolver* ksyms);

// What a person reads: "name (hook, N insns): accepted, ..." or
// "...: rejected: <message>" followed by "  in f() at file.c:8" and
// "  ; source text @ file.c:8" lines.
std::string VerdictText(const VerifiedProgram& v);
// The two lines under a rejection at `pc` ("" for what is unknown), each
// ending in a newline; also for the daemon's verdicts in `load`.
std::string RejectionNotes(const Program& p, int64_t pc);

}  // namespace hu::guest
