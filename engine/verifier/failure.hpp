// Why verification stopped, before it is rendered into the one-line message.
#pragma once

#include <cstdint>
#include <string>

namespace hu::verifier {

struct Failure {
  int32_t pc = -1;     // -1: the program as a whole
  std::string reason;  // what is wrong, in the guest admin's terms
  std::string regs;    // abstract state of the registers involved
};

}  // namespace hu::verifier
