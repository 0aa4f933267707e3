// The policy fields an operator names on the command line (--hooks,
// --max-insns, ...), shared by `policy set` (one daemon) and `fleet policy
// set` (etcd): unnamed fields keep their value.
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <string>

#include "hyperupcall/operator_api/v1/operator.pb.h"

namespace hu::ctl {

struct PolicyEdits {
  std::string hooks, helpers;  // comma separated, "none" for none; empty: unchanged
  int64_t max_insns = -1, run_budget = -1, verifier_budget = -1, max_programs = -1,
          max_grace_us = -1;
  std::string require_approval;  // yes|no|true|false; empty: unchanged
  std::string jit;               // auto|on|off; empty: unchanged
};

void AddPolicyEditOptions(CLI::App* cmd, PolicyEdits& e);
// "" when the edits given on `cmd` are values the API can carry and name at
// least one field; otherwise the INVALID_ARGUMENT message (e.g. "--max-insns
// -5: must be 0..4294967295"), so nothing is sent, changed or audited.
std::string CheckPolicyEdits(const PolicyEdits& e, const CLI::App& cmd);
void ApplyPolicyEdits(const PolicyEdits& e, hyperupcall::operator_api::v1::Policy* p);

}  // namespace hu::ctl
