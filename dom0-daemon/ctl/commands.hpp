// Each command group registers its subcommands; the callback sets `rc`.
#pragma once

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "client.hpp"

namespace hu::ctl {

void AddDomainCommands(CLI::App& app, Context& ctx, int& rc);
void AddProgCommands(CLI::App& app, Context& ctx, int& rc);
void AddPolicyCommands(CLI::App& app, Context& ctx, int& rc);
void AddPendingCommands(CLI::App& app, Context& ctx, int& rc);
void AddEventsCommand(CLI::App& app, Context& ctx, int& rc);
void AddAuditCommand(CLI::App& app, Context& ctx, int& rc);
void AddMapCommands(CLI::App& app, Context& ctx, int& rc);
void AddStatsCommand(CLI::App& app, Context& ctx, int& rc);
void AddReclaimCommands(CLI::App& app, Context& ctx, int& rc);
void AddFleetCommands(CLI::App& app, Context& ctx, int& rc);

// Prints `j` as JSON (with --json) or `text` otherwise.
void Emit(const Context& ctx, const nlohmann::json& j, const std::string& text);

// Shows the answer to an operator decision (approve, reject, detach): the
// program as it now stands after `verb`, or the failure, setting `rc`.
void EmitDecision(const Context& ctx, int& rc, const grpc::Status& st,
                  const opv1::DecisionResponse& resp, const char* verb);

}  // namespace hu::ctl
