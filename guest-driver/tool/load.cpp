// `hyperupcall load`: ELF object -> linked programs -> RegisterProgram.
#include <cstdio>
#include <nlohmann/json.hpp>
#include <ostream>

#include "hyperupcall/guest/hooks.hpp"
#include "hyperupcall/guest/source.hpp"
#include "hyperupcall/guest/verify.hpp"
#include "proto_json.hpp"
#include "tool.hpp"

namespace hu::guest::tool {
namespace {

using nlohmann::json;

constexpr size_t kMaxNameLen = 64;  // guest.proto: name is 1..64 printable characters

std::string Names(const std::vector<ProgramInfo>& progs) {
  std::string s;
  for (const auto& p : progs) s += (s.empty() ? "" : ", ") + p.name;
  return s;
}

// Which hook a program attaches to: --hook, else its SEC, else the
// manifest; a manifest that contradicts the SEC is a mistake to report.
bool ChooseHook(const LoadOptions& opts, const Manifest* manifest, const ProgramInfo& p,
                hu_hook_id* hook, Failure* failure) {
  if (!opts.hook.empty()) {
    *hook = HookFromName(opts.hook);
    if (*hook == HU_HOOK_NONE) {
      *failure = {kExitUsage,
                  "--hook '" + opts.hook + "' is not a hook; hooks are " + HookNameList()};
      return false;
    }
    return true;
  }
  const hu_hook_id from_manifest = manifest ? manifest->hook_id : HU_HOOK_NONE;
  if (p.hook != HU_HOOK_NONE) {
    if (from_manifest != HU_HOOK_NONE && from_manifest != p.hook) {
      *failure = {kExitUsage, manifest->source + " says hook '" + manifest->hook +
                                  "' but program '" + p.name + "' is in SEC(\"" + p.section +
                                  "\"); pass --hook to choose"};
      return false;
    }
    *hook = p.hook;
    return true;
  }
  if (from_manifest != HU_HOOK_NONE) {
    *hook = from_manifest;
    return true;
  }
  *failure = {kExitUsage, "program '" + p.name +
                              "' is in SEC(\"hyperupcall\") without a hook: give --hook or a "
                              "manifest with \"hook\""};
  return false;
}

// What the daemon keeps at most (dom0-daemon/src/request.hpp kMaxBtfBytes);
// a larger BTF is not sent, and maps are then shown in hex.
constexpr size_t kMaxBtfSent = 1u << 20;

std::string RegionSymbol(const RegionSpec& s) {
  if (s.symbol.empty()) return "";
  char off[32];
  std::snprintf(off, sizeof off, "+0x%llx", static_cast<unsigned long long>(s.offset));
  return s.symbol.substr(0, 100) + (s.offset ? off : "");
}

std::string ProtoName(const std::string& name) {
  std::string out;
  for (char c : name) {
    if (out.size() == kMaxNameLen) break;
    out += (c >= 0x20 && c < 0x7f) ? c : '?';
  }
  return out.empty() ? "prog" : out;
}

const char* VerdictText(const hyperupcall::common::v1::Verdict& v) {
  switch (v.kind()) {
    case hyperupcall::common::v1::VERDICT_ACCEPTED:
      return "accepted";
    case hyperupcall::common::v1::VERDICT_PENDING_APPROVAL:
      return "pending approval";
    case hyperupcall::common::v1::VERDICT_REJECTED:
      return "rejected";
    default:
      return "unknown";
  }
}

}  // namespace

Prepared PrepareLoad(const LoadOptions& opts, SymbolResolver& ksyms, Failure* failure) {
  Prepared out;
  std::unique_ptr<Manifest> manifest;
  if (!opts.manifest.empty()) {
    auto m = LoadManifest(opts.manifest);
    if (!m) {
      *failure = {kExitUsage, m.error().message};
      return {};
    }
    manifest = std::make_unique<Manifest>(std::move(m).value());
  }
  std::vector<RegionSpec> specs;
  if (manifest) specs = manifest->regions;
  for (const auto& text : opts.regions) {
    auto r = ParseRegion(text);
    if (!r) {
      *failure = {kExitUsage, r.error().message};
      return {};
    }
    specs.push_back(std::move(r).value());
  }

  auto obj = BpfObject::FromFile(opts.file);
  if (!obj) {
    *failure = {obj.error().code == ErrorCode::kNotFound ? kExitUsage : kExitRejected,
                obj.error().message};
    return {};
  }
  std::vector<ProgramInfo> selected;
  for (const auto& p : obj->programs()) {
    if (opts.prog.empty() || p.name == opts.prog) selected.push_back(p);
  }
  if (selected.empty()) {
    *failure = {kExitUsage, opts.prog.empty()
                                ? opts.file + " has no program in SEC(\"hyperupcall/<hook>\")"
                                : opts.file + " has no program '" + opts.prog +
                                      "' (programs: " + Names(obj->programs()) + ")"};
    return {};
  }
  if (!opts.hook.empty() && selected.size() > 1) {
    *failure = {kExitUsage, opts.file + " has " + std::to_string(selected.size()) + " programs (" +
                                Names(selected) + "); choose one with --prog to use --hook"};
    return {};
  }

  auto regions = ResolveRegions(specs, &ksyms);
  if (!regions) {
    *failure = {kExitUsage, regions.error().message};
    return {};
  }
  for (const auto& info : selected) {
    hu_hook_id hook = HU_HOOK_NONE;
    if (!ChooseHook(opts, manifest.get(), info, &hook, failure)) return {};
    auto prog = obj->Link(info.name, &ksyms);
    if (!prog) {
      *failure = {kExitRejected, prog.error().message};
      return {};
    }
    gv1::RegisterProgramRequest req;
    req.set_hook(HookName(hook));
    req.set_name(ProtoName(prog->info.name));
    req.set_insns(std::string(reinterpret_cast<const char*>(prog->insns.data()),
                              prog->insns.size() * sizeof(hu_insn)));
    for (const auto& m : prog->maps) {
      auto* pm = req.add_maps();
      pm->set_name(m.name);
      pm->set_type(m.def.type);
      pm->set_key_size(m.def.key_size);
      pm->set_value_size(m.def.value_size);
      pm->set_max_entries(m.def.max_entries);
      pm->set_btf_key_type_id(m.btf_key_type_id);
      pm->set_btf_value_type_id(m.btf_value_type_id);
    }
    for (size_t i = 0; i < regions->size(); ++i) {
      const auto& r = (*regions)[i];
      auto* pr = req.add_regions();
      pr->set_start(r.start);
      pr->set_len(r.len);
      pr->set_flags(r.flags);
      pr->set_symbol(RegionSymbol(specs[i]));
    }
    // For the operator's prog dump and map dump: names and types.
    if (prog->btf.size() <= kMaxBtfSent) req.set_btf(prog->btf.data(), prog->btf.size());
    for (const auto& f : prog->function_starts) {
      auto* pf = req.add_functions();
      pf->set_name(f.name.substr(0, 128));
      pf->set_pc(f.pc);
    }
    out.warnings.push_back(LoadWarnings(*prog, hook, *regions));
    out.requests.push_back(std::move(req));
    out.programs.push_back(std::move(prog).value());
  }
  return out;
}

int RunLoad(const Global& g, const LoadOptions& opts, std::ostream& out, std::ostream& err) {
  Failure failure;
  LazyKallsyms ksyms(g.kallsyms);
  Prepared prep = PrepareLoad(opts, ksyms, &failure);
  if (prep.requests.empty()) return Fail(g, failure, out, err);
  auto client = Connect(g, &failure);
  if (!client) return Fail(g, failure, out, err);

  int rc = kExitOk;
  json results = json::array();
  for (size_t i = 0; i < prep.requests.size(); ++i) {
    const auto& req = prep.requests[i];
    const Program& prog = prep.programs[i];
    auto res = client->Register(req);
    json j{{"name", req.name()},
           {"hook", req.hook()},
           {"section", prog.info.section},
           {"insns", prog.insns.size()}};
    // Maps and regions as every tool prints them (proto_json.hpp).
    json maps = json::array();
    for (const auto& m : req.maps()) maps.push_back(protojson::ToJson(m));
    j["maps"] = maps;
    json regions = json::array();
    for (const auto& r : req.regions()) regions.push_back(protojson::ToJson(r));
    j["regions"] = regions;
    if (!prep.warnings[i].empty()) {
      j["warnings"] = prep.warnings[i];
      for (const auto& w : prep.warnings[i]) err << "hyperupcall: warning: " << w << "\n";
    }
    std::string line =
        req.name() + " (" + req.hook() + ", " + std::to_string(prog.insns.size()) + " insns): ";
    if (!res.ok()) {
      const int code = ExitFor(*res.error);
      if (code == kExitTransport) {
        // Nothing more can get through; report what happened so far.
        if (g.json) {
          j["error"] = res.error->message;
          results.push_back(j);
          out << json{{"file", opts.file}, {"programs", results}, {"exit_code", code}}.dump(2)
              << "\n";
        }
        err << "hyperupcall: " << res.error->message << "\n";
        return code;
      }
      rc = std::max(rc, code);
      j["verdict"] = "rejected";
      j["message"] = res.error->message;
      j["grpc_code"] = res.error->grpc_code;
      line += "rejected: " + res.error->message;
    } else {
      const auto& v = res.value.verdict();
      const std::string verdict = VerdictText(v);
      j["id"] = res.value.id();
      j["verdict"] = verdict == "pending approval" ? "pending_approval" : verdict;
      j["stage"] = v.stage();
      j["message"] = v.message();
      j["error_pc"] = v.error_pc();
      j["code"] = v.code();
      if (!v.log().empty()) j["log"] = v.log();
      line += "id " + std::to_string(res.value.id()) + ", " + verdict;
      if (v.kind() == hyperupcall::common::v1::VERDICT_REJECTED) {
        rc = std::max(rc, kExitRejected);
        line +=
            " (" + (v.stage().empty() ? std::string("daemon") : v.stage()) + "): " + v.message();
        // The daemon names the instruction; the object knows its C source.
        if (v.stage() == "verifier" && v.error_pc() >= 0) {
          std::string notes = RejectionNotes(prog, v.error_pc());
          if (!notes.empty()) line += "\n" + notes.substr(0, notes.size() - 1);
          j["where"] = WhereNote(prog, v.error_pc());
          j["source"] = SourceLineNote(prog, v.error_pc());
        }
      }
    }
    results.push_back(j);
    if (!g.json) out << line << "\n";
  }
  if (g.json)
    out << json{{"file", opts.file}, {"programs", results}, {"exit_code", rc}}.dump(2) << "\n";
  return rc;
}

}  // namespace hu::guest::tool
