#include "convert.hpp"

#include <fmt/format.h>

#include "names.hpp"
#include "program_hash.hpp"
#include "text.hpp"

namespace hu::daemon {

grpc::Status ToGrpc(const Error& e) {
  return grpc::Status(static_cast<grpc::StatusCode>(e.code), e.message);
}

void ToProto(const Verdict& v, const std::string& log, commonv1::Verdict* out) {
  switch (v.kind) {
    case VerdictKind::kAccepted:
      out->set_kind(commonv1::VERDICT_ACCEPTED);
      break;
    case VerdictKind::kPending:
      out->set_kind(commonv1::VERDICT_PENDING_APPROVAL);
      break;
    case VerdictKind::kRejected:
      out->set_kind(commonv1::VERDICT_REJECTED);
      break;
  }
  out->set_stage(v.stage);
  out->set_message(v.message);
  out->set_log(log);
  out->set_error_pc(v.error_pc);
  out->set_code(v.code);
}

void ToProto(const ProgramRecord& r, commonv1::ProgramSummary* out) {
  out->set_id(r.id);
  out->set_domid(r.domid);
  out->set_hook(HookName(r.hook));
  out->set_name(r.name);
  out->set_state(static_cast<commonv1::ProgramState>(static_cast<int>(r.state)));
  out->set_insn_count(r.insn_count);
  out->set_created_unix_ms(r.created_ms);
  out->set_updated_unix_ms(r.updated_ms);
  for (const auto& m : r.maps) {
    auto* pm = out->add_maps();
    pm->set_name(m.name);
    pm->set_type(m.def.type);
    pm->set_key_size(m.def.key_size);
    pm->set_value_size(m.def.value_size);
    pm->set_max_entries(m.def.max_entries);
  }
  for (size_t i = 0; i < r.regions.size(); ++i) {
    const auto& g = r.regions[i];
    auto* pr = out->add_regions();
    pr->set_start(g.start);
    pr->set_len(g.len);
    pr->set_flags(g.flags);
    if (i < r.region_symbols.size()) pr->set_symbol(r.region_symbols[i]);
  }
  out->set_sha256(r.sha256.empty() ? ProgramSha256(r) : r.sha256);
  // The summary carries the one-line verdict; the log goes with GetProgram.
  ToProto(r.verdict, "", out->mutable_verdict());
}

void ToProto(const StatsRow& s, commonv1::ProgramStats* out) {
  out->set_prog_id(s.prog_id);
  out->set_domid(s.domid);
  out->set_hook(HookName(s.hook));
  out->set_name(s.name);
  out->set_runs(s.stats.runs);
  out->set_insns(s.stats.insns);
  out->set_run_ns(s.stats.run_ns);
  out->set_budget_aborts(s.stats.budget_aborts);
  out->set_errors(s.stats.errors);
  out->set_last_result(s.stats.last_result);
  out->set_cycles(s.stats.cycles);
  out->set_acted(s.stats.acted);
  out->set_acted_us(s.stats.acted_us);
  out->set_overridden(s.stats.overridden);
  out->set_jit_runs(s.stats.jit_runs);
  out->set_helper_errors(s.stats.helper_errors);
}

void ToProto(const Policy& p, hyperupcall::operator_api::v1::Policy* out) {
  for (auto& h : HookMaskNames(p.allowed_hooks)) out->add_allowed_hooks(h);
  for (auto& h : HelperMaskNames(p.allowed_helpers)) out->add_allowed_helpers(h);
  out->set_max_insns(p.max_insns);
  out->set_run_budget(p.run_budget);
  out->set_verifier_budget(p.verifier_budget);
  out->set_max_programs(p.max_programs);
  out->set_require_approval(p.require_approval);
  out->set_max_grace_us(p.max_grace_us);
  out->set_jit(JitModeName(p.jit));
}

Result<Policy> FromProto(const hyperupcall::operator_api::v1::Policy& in) {
  Policy p;
  for (const auto& h : in.allowed_hooks()) {
    hu_hook_id id = HookFromName(h);
    if (id == HU_HOOK_NONE) {
      return MakeError(ErrorCode::kInvalidArgument,
                       fmt::format("unknown hook '{}' (known: {})", SafeText(h, 64),
                                   Join(AllHookNames(), ", ")));
    }
    p.allowed_hooks |= 1ull << id;
  }
  for (const auto& h : in.allowed_helpers()) {
    auto id = HelperFromName(h);
    if (!id) {
      return MakeError(ErrorCode::kInvalidArgument,
                       fmt::format("unknown helper '{}' (known: {})", SafeText(h, 64),
                                   Join(AllHelperNames(), ", ")));
    }
    p.allowed_helpers |= 1ull << *id;
  }
  p.max_insns = in.max_insns();
  p.run_budget = in.run_budget();
  p.verifier_budget = in.verifier_budget();
  p.max_programs = in.max_programs();
  p.require_approval = in.require_approval();
  p.max_grace_us = in.max_grace_us();
  auto jit = JitModeFromName(in.jit());
  if (!jit) return jit.error();
  p.jit = *jit;
  if (auto st = ValidatePolicy(p); !st) return st.error();
  return p;
}

MapSpec FromProto(const commonv1::MapDef& m) {
  MapSpec s;
  s.name = m.name();
  s.def.type = m.type();
  s.def.key_size = m.key_size();
  s.def.value_size = m.value_size();
  s.def.max_entries = m.max_entries();
  s.btf_key_type_id = m.btf_key_type_id();
  s.btf_value_type_id = m.btf_value_type_id();
  return s;
}

hu_region FromProto(const commonv1::Region& r) {
  hu_region g{};
  g.start = r.start();
  g.len = r.len();
  g.flags = r.flags();
  return g;
}

}  // namespace hu::daemon
