#include "program.hpp"

#include <chrono>

#include "program_hash.hpp"

namespace hu::daemon {

const char* ProgStateName(ProgState s) {
  switch (s) {
    case ProgState::kInstalled:
      return "installed";
    case ProgState::kPending:
      return "pending";
    case ProgState::kRejected:
      return "rejected";
    case ProgState::kDetached:
      return "detached";
    case ProgState::kFailed:
      return "failed";
  }
  return "unknown";
}

bool ProgStateFromName(const std::string& name, ProgState* out) {
  for (ProgState s : {ProgState::kInstalled, ProgState::kPending, ProgState::kRejected,
                      ProgState::kDetached, ProgState::kFailed}) {
    if (name == ProgStateName(s)) {
      *out = s;
      return true;
    }
  }
  return false;
}

void ProgramRecord::Slim() {
  if (sha256.empty()) sha256 = ProgramSha256(*this);
  std::vector<hu_insn>().swap(insns);
  std::string().swap(verifier_log);
}

int64_t NowUnixMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

int64_t NowUnixNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace hu::daemon
