// A program's identity across hosts: SHA-256 over what the verifier judged
// (hook, instruction bytes, map definitions). The name is left out (the
// same code under another name is the same program) and so are the
// regions (guest addresses differ between guests and boots; they only
// bound what the program may read of its own guest). Fleet approvals are
// keyed by it.
#pragma once

#include <string>

#include "program.hpp"

namespace hu::daemon {

// 64 lowercase hex digits.
std::string ProgramSha256(const ProgramRecord& rec);

}  // namespace hu::daemon
