// `prog dump` as a bpftool user expects it: the disassembly with each
// function's name before its first instruction, helper calls and local
// calls named, map references named, and a header of the program's maps
// and regions (with the symbol the guest named each region by, ro/rw).
// Names come from the guest and are shown as the guest's words.
#pragma once

#include <string>

#include "program.hpp"

namespace hu::daemon {

std::string ProgramListing(const ProgramRecord& rec);

}  // namespace hu::daemon
