// Turns a compiled policy (build/policies/<name>.bpf.o and its manifest)
// into the ProgramImage the daemon would hand a backend, with the guest
// driver's own loader, against a sim guest's kallsyms file.
#pragma once

#include <cstdint>
#include <string>

#include "hyperupcall/daemon/backend.hpp"
#include "hyperupcall/result.hpp"

namespace hu::simtest {

std::string PolicyDir();
Result<daemon::ProgramImage> LoadPolicyImage(const std::string& name,
                                             const std::string& kallsyms_path, uint64_t id,
                                             uint32_t domid);

}  // namespace hu::simtest
