#include "proto_json.hpp"

#include <fmt/format.h>

#include "hyperupcall/abi.h"

namespace hu::protojson {

namespace {

bool AsInteger(const std::string& bytes, uint64_t* v) {
  if (bytes.size() != 1 && bytes.size() != 2 && bytes.size() != 4 && bytes.size() != 8) {
    return false;
  }
  *v = 0;
  for (size_t i = 0; i < bytes.size(); ++i) {
    *v |= static_cast<uint64_t>(static_cast<unsigned char>(bytes[i])) << (8 * i);
  }
  return true;
}

}  // namespace

std::string HexAddr(uint64_t v) { return fmt::format("{:#x}", v); }

std::string HexBytes(const std::string& bytes) {
  std::string out;
  for (unsigned char c : bytes) out += fmt::format("{:02x}", c);
  return out;
}

const char* StateName(commonv1::ProgramState s) {
  switch (s) {
    case commonv1::PROGRAM_STATE_INSTALLED:
      return "installed";
    case commonv1::PROGRAM_STATE_PENDING:
      return "pending";
    case commonv1::PROGRAM_STATE_REJECTED:
      return "rejected";
    case commonv1::PROGRAM_STATE_DETACHED:
      return "detached";
    case commonv1::PROGRAM_STATE_FAILED:
      return "failed";
    default:
      return "unknown";
  }
}

const char* VerdictName(commonv1::VerdictKind k) {
  switch (k) {
    case commonv1::VERDICT_ACCEPTED:
      return "accepted";
    case commonv1::VERDICT_PENDING_APPROVAL:
      return "pending_approval";
    case commonv1::VERDICT_REJECTED:
      return "rejected";
    default:
      return "unknown";
  }
}

const char* MapTypeName(uint32_t type) {
  switch (type) {
    case HU_MAP_HASH:
      return "hash";
    case HU_MAP_ARRAY:
      return "array";
    case HU_MAP_PERVCPU_ARRAY:
      return "pervcpu_array";
    default:
      return "unknown";
  }
}

json ToJson(const commonv1::Verdict& v) {
  return {{"kind", VerdictName(v.kind())}, {"stage", v.stage()}, {"message", v.message()},
          {"error_pc", v.error_pc()},      {"code", v.code()},   {"log", v.log()}};
}

json ToJson(const commonv1::MapDef& m) {
  return {{"name", m.name()},
          {"type", MapTypeName(m.type())},
          {"key_size", m.key_size()},
          {"value_size", m.value_size()},
          {"max_entries", m.max_entries()}};
}

json ToJson(const commonv1::Region& r) {
  json j = {{"start", HexAddr(r.start())},
            {"end", HexAddr(r.start() + r.len())},
            {"len", r.len()},
            {"flags", r.flags()},
            {"access", (r.flags() & HU_REGION_WRITE) ? "rw" : "ro"},
            {"space", (r.flags() & HU_REGION_GPA) ? "gpa" : "gva"}};
  // The symbol the guest named it by, when it named one.
  if (!r.symbol().empty()) j["symbol"] = r.symbol();
  return j;
}

json ToJson(const commonv1::ProgramSummary& p) {
  json maps = json::array();
  for (const auto& m : p.maps()) maps.push_back(ToJson(m));
  json regions = json::array();
  for (const auto& r : p.regions()) regions.push_back(ToJson(r));
  return {{"id", p.id()},
          {"domid", p.domid()},
          {"hook", p.hook()},
          {"name", p.name()},
          {"state", StateName(p.state())},
          {"insn_count", p.insn_count()},
          {"created_unix_ms", p.created_unix_ms()},
          {"updated_unix_ms", p.updated_unix_ms()},
          {"maps", maps},
          {"regions", regions},
          {"sha256", p.sha256()},
          {"verdict", ToJson(p.verdict())}};
}

json ToJson(const commonv1::ProgramStats& s) {
  return {{"prog_id", s.prog_id()},
          {"domid", s.domid()},
          {"hook", s.hook()},
          {"name", s.name()},
          {"runs", s.runs()},
          {"insns", s.insns()},
          {"run_ns", s.run_ns()},
          {"budget_aborts", s.budget_aborts()},
          {"errors", s.errors()},
          {"helper_errors", s.helper_errors()},
          {"last_result", HexAddr(s.last_result())},
          {"cycles", s.cycles()},
          {"acted", s.acted()},
          {"acted_us", s.acted_us()},
          {"overridden", s.overridden()},
          {"jit_runs", s.jit_runs()}};
}

json ToJson(const commonv1::MapEntry& e) {
  json j = {{"key", HexBytes(e.key())}, {"value", HexBytes(e.value())}};
  uint64_t v;
  j["key_int"] = AsInteger(e.key(), &v) ? json(v) : json(nullptr);
  j["value_int"] = AsInteger(e.value(), &v) ? json(v) : json(nullptr);
  return j;
}

}  // namespace hu::protojson
