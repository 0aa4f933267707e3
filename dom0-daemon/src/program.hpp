// The daemon's record of one program a guest registered, and the decision
// taken on it. Stored in SQLite, shown through both APIs.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "hyperupcall/daemon/backend.hpp"

namespace hu::daemon {

enum class ProgState { kInstalled = 1, kPending = 2, kRejected = 3, kDetached = 4, kFailed = 5 };

const char* ProgStateName(ProgState s);  // "installed", ...
bool ProgStateFromName(const std::string& name, ProgState* out);

enum class VerdictKind { kAccepted = 1, kPending = 2, kRejected = 3 };

struct Verdict {
  VerdictKind kind = VerdictKind::kRejected;
  std::string stage;    // decode, policy, verifier, operator, backend; "" if accepted
  std::string message;  // one line
  int32_t error_pc = -1;
  int32_t code = 0;  // gRPC canonical code classifying a rejection
};

// A function of the program (its entry, and each bpf-to-bpf callee), named
// by the guest's ELF symbols.
struct FuncSymbol {
  std::string name;
  uint32_t pc = 0;
};

struct ProgramRecord {
  uint64_t id = 0;
  uint32_t domid = 0;
  hu_hook_id hook = HU_HOOK_NONE;
  std::string name;
  std::vector<hu_insn> insns;
  // How many instructions it has, also once `insns` was let go (a program
  // no longer live keeps only its summary in memory; its bytes stay in the
  // state database).
  uint32_t insn_count = 0;
  std::vector<MapSpec> maps;
  std::vector<hu_region> regions;
  // What the guest said about them, for people (never trusted): the
  // symbol each region was asked for (parallel to `regions`, "" when
  // none), the program's functions, and its BTF (raw .BTF section; empty
  // when the guest sent none), from which map keys and values are shown.
  std::vector<std::string> region_symbols;
  std::vector<FuncSymbol> functions;
  std::vector<uint8_t> btf;
  ProgState state = ProgState::kRejected;
  Verdict verdict;
  std::string verifier_log;
  uint64_t verifier_states = 0;
  double verifier_ms = 0;
  // The verifier's longest path; not stored: every load verifies again.
  uint64_t worst_case_insns = 0;
  int64_t created_ms = 0;
  int64_t updated_ms = 0;

  bool Live() const { return state == ProgState::kInstalled || state == ProgState::kPending; }
  // The program's hash (ProgramSha256), kept by Slim() for the summary.
  std::string sha256;
  // Lets go of what only `prog show`/`prog dump` need (bytes, verifier
  // log), keeping the hash of the bytes.
  void Slim();
};

int64_t NowUnixMs();
int64_t NowUnixNs();

}  // namespace hu::daemon
