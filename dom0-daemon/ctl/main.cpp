// hyperupcallctl: the operator client of hyperupcalld, bpftool-like.
#include <fmt/format.h>

#include "commands.hpp"
#include "format.hpp"

#ifndef HU_VERSION
#define HU_VERSION "unknown"
#endif

namespace hu::ctl {

void Emit(const Context& ctx, const nlohmann::json& j, const std::string& text) {
  if (ctx.json) {
    fmt::print("{}\n", j.dump(2));
  } else {
    fmt::print("{}", text);
  }
}

void EmitDecision(const Context& ctx, int& rc, const grpc::Status& st,
                  const opv1::DecisionResponse& resp, const char* verb) {
  if (!st.ok()) {
    rc = Fail(ctx, st);
    return;
  }
  Emit(ctx, ToJson(resp.program()), fmt::format("{} {}\n", verb, ProgramLine(resp.program())));
}

}  // namespace hu::ctl

int main(int argc, char** argv) {
  hu::ctl::Context ctx;
  int rc = 0;
  CLI::App app{
      "hyperupcallctl: operate hyperupcalld (domains, programs, policy, approvals, "
      "events, statistics)"};
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string("hyperupcallctl ") + HU_VERSION);
  // Subcommands inherit this: global options (--json) also after the command.
  app.fallthrough();
  app.add_option("--socket", ctx.socket, "daemon's operator unix socket")->capture_default_str();
  app.add_option("--tcp", ctx.tcp, "daemon's operator TCP address (mutual TLS)");
  app.add_option("--tls-cert", ctx.tls_cert, "client certificate (PEM) for --tcp");
  app.add_option("--tls-key", ctx.tls_key, "client private key (PEM) for --tcp");
  app.add_option("--tls-ca", ctx.tls_ca, "CA (PEM) the daemon's certificate chains to");
  app.add_option("--timeout", ctx.timeout_s, "seconds per call")->capture_default_str();
  // --json is accepted anywhere on the line, before or after the command.
  app.add_flag("--json", ctx.json, "print JSON")->configurable();
  hu::ctl::AddDomainCommands(app, ctx, rc);
  hu::ctl::AddProgCommands(app, ctx, rc);
  hu::ctl::AddPolicyCommands(app, ctx, rc);
  hu::ctl::AddPendingCommands(app, ctx, rc);
  hu::ctl::AddEventsCommand(app, ctx, rc);
  hu::ctl::AddAuditCommand(app, ctx, rc);
  hu::ctl::AddMapCommands(app, ctx, rc);
  hu::ctl::AddStatsCommand(app, ctx, rc);
  hu::ctl::AddReclaimCommands(app, ctx, rc);
  hu::ctl::AddFleetCommands(app, ctx, rc);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help and --version exit 0; every other parse error is usage.
    const int code = app.exit(e);
    return code == 0 ? 0 : hu::ctl::kExitUsage;
  }
  return rc;
}
