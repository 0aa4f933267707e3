// `hyperupcall verify`: the daemon's verifier, run in the guest on an
// object before it is loaded, each rejection pointing at the C source.
#include "hyperupcall/guest/verify.hpp"

#include <nlohmann/json.hpp>
#include <ostream>

#include "hyperupcall/guest/hooks.hpp"
#include "hyperupcall/guest/source.hpp"
#include "tool.hpp"

namespace hu::guest::tool {

int RunVerify(const Global& g, const VerifyArgs& args, std::ostream& out, std::ostream& err) {
  auto obj = BpfObject::FromFile(args.file);
  if (!obj) {
    return Fail(g,
                {obj.error().code == ErrorCode::kNotFound ? kExitUsage : kExitRejected,
                 obj.error().message},
                out, err);
  }
  VerifyOptions opts{args.hook, args.prog, args.log_level, args.budget};
  LazyKallsyms ksyms(g.kallsyms);
  auto verified = VerifyObject(*obj, opts, &ksyms);
  if (!verified) {
    const ErrorCode c = verified.error().code;
    return Fail(
        g,
        {c == ErrorCode::kInvalidArgument || c == ErrorCode::kNotFound ? kExitUsage : kExitRejected,
         verified.error().message},
        out, err);
  }
  int rc = kExitOk;
  nlohmann::json programs = nlohmann::json::array();
  for (const VerifiedProgram& v : *verified) {
    if (!v.report.accepted) rc = kExitRejected;
    if (!g.json) {
      out << v.log << VerdictText(v);
      continue;
    }
    nlohmann::json j{{"name", v.program.info.name},
                     {"section", v.program.info.section},
                     {"hook", HookName(v.hook)},
                     {"insns", v.program.insns.size()},
                     {"verdict", v.report.accepted ? "accepted" : "rejected"},
                     {"insns_processed", v.report.insns_processed},
                     {"ms", v.report.elapsed_ms}};
    if (!v.report.accepted) {
      j["message"] = v.report.error;
      j["error_pc"] = v.report.error_pc;
      j["where"] = WhereNote(v.program, v.report.error_pc);
      j["source"] = SourceLineNote(v.program, v.report.error_pc);
    }
    if (!v.log.empty()) j["log"] = v.log;
    if (!v.placeholder_ksyms.empty()) j["placeholder_ksyms"] = v.placeholder_ksyms;
    programs.push_back(std::move(j));
  }
  if (g.json)
    out << nlohmann::json{{"file", args.file}, {"programs", programs}, {"exit_code", rc}}.dump(2)
        << "\n";
  return rc;
}

}  // namespace hu::guest::tool
