// `hyperupcall list`, `unload`, `map dump`, `stats` and `trace`: the
// guest's view of its own programs (the daemon shows a guest nothing else).
#include <cstdio>
#include <nlohmann/json.hpp>
#include <ostream>

#include "proto_json.hpp"
#include "tool.hpp"

namespace hu::guest::tool {
namespace {

using nlohmann::json;
namespace cv1 = ::hyperupcall::common::v1;

const char* StateText(cv1::ProgramState s) { return protojson::StateName(s); }

const char* MapTypeText(uint32_t type) { return protojson::MapTypeName(type); }

std::string Hex(const std::string& bytes) {
  std::string out;
  char b[4];
  for (unsigned char c : bytes) {
    snprintf(b, sizeof b, "%s%02x", out.empty() ? "" : " ", c);
    out += b;
  }
  return out;
}

// Little-endian integers of the usual widths, as bpftool shows them.
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

int CallFailed(const Global& g, const CallError& e, std::ostream& out, std::ostream& err) {
  return Fail(g, Failure{ExitFor(e), e.message}, out, err);
}

}  // namespace

int RunUnload(const Global& g, uint64_t id, std::ostream& out, std::ostream& err) {
  Failure failure;
  auto client = Connect(g, &failure);
  if (!client) return Fail(g, failure, out, err);
  gv1::UnregisterProgramRequest req;
  req.set_id(id);
  auto res = client->Unregister(req);
  if (!res.ok()) return CallFailed(g, *res.error, out, err);
  if (g.json) {
    out << json{{"id", id}, {"unloaded", true}}.dump(2) << "\n";
  } else {
    out << "program " << id << " unloaded\n";
  }
  return kExitOk;
}

int RunList(const Global& g, bool all, std::ostream& out, std::ostream& err) {
  Failure failure;
  auto client = Connect(g, &failure);
  if (!client) return Fail(g, failure, out, err);
  gv1::ListProgramsRequest req;
  req.set_all(all);
  auto res = client->List(req);
  if (!res.ok()) return CallFailed(g, *res.error, out, err);
  if (g.json) {
    // The same program object hyperupcallctl prints (proto_json.hpp).
    json progs = json::array();
    for (const auto& p : res.value.programs()) progs.push_back(protojson::ToJson(p));
    out << json{{"programs", progs}}.dump(2) << "\n";
    return kExitOk;
  }
  if (res.value.programs().empty()) {
    out << "no programs\n";
    return kExitOk;
  }
  char line[256];
  snprintf(line, sizeof line, "%-6s %-14s %-20s %-10s %6s  %s\n", "ID", "HOOK", "NAME", "STATE",
           "INSNS", "MAPS");
  out << line;
  for (const auto& p : res.value.programs()) {
    std::string maps;
    for (const auto& m : p.maps()) maps += (maps.empty() ? "" : ",") + m.name();
    snprintf(line, sizeof line, "%-6llu %-14s %-20s %-10s %6u  %s\n",
             static_cast<unsigned long long>(p.id()), p.hook().c_str(), p.name().c_str(),
             StateText(p.state()), p.insn_count(), maps.empty() ? "-" : maps.c_str());
    out << line;
    if (p.state() == cv1::PROGRAM_STATE_REJECTED && !p.verdict().message().empty()) {
      out << "       " << p.verdict().stage() << ": " << p.verdict().message() << "\n";
    }
  }
  return kExitOk;
}

int RunMapDump(const Global& g, uint64_t id, const std::string& map, std::ostream& out,
               std::ostream& err) {
  Failure failure;
  auto client = Connect(g, &failure);
  if (!client) return Fail(g, failure, out, err);
  gv1::ReadMapRequest req;
  req.set_prog_id(id);
  // A bare number names the map by index, anything else by name.
  if (!map.empty() && map.find_first_not_of("0123456789") == std::string::npos) {
    req.set_map_index(static_cast<uint32_t>(std::stoul(map)));
  } else {
    req.set_map_name(map);
  }
  auto res = client->ReadMap(req);
  if (!res.ok()) return CallFailed(g, *res.error, out, err);
  const auto& m = res.value.map();
  if (g.json) {
    json entries = json::array();
    for (const auto& e : res.value.entries()) entries.push_back(protojson::ToJson(e));
    out << json{{"prog_id", id}, {"map", protojson::ToJson(m)}, {"entries", entries}}.dump(2)
        << "\n";
    return kExitOk;
  }
  out << "map " << m.name() << " of program " << id << ": " << MapTypeText(m.type()) << ", key "
      << m.key_size() << " B, value " << m.value_size() << " B, max " << m.max_entries()
      << " entries; " << res.value.entries_size() << " present\n";
  for (const auto& e : res.value.entries()) {
    out << "key: " << Hex(e.key()) << "  value: " << Hex(e.value());
    uint64_t k, v;
    if (AsInteger(e.key(), &k) && AsInteger(e.value(), &v)) out << "  (" << k << " = " << v << ")";
    out << "\n";
  }
  return kExitOk;
}

int RunStats(const Global& g, uint64_t id, std::ostream& out, std::ostream& err) {
  Failure failure;
  auto client = Connect(g, &failure);
  if (!client) return Fail(g, failure, out, err);
  gv1::GuestStatsRequest req;
  req.set_prog_id(id);
  auto res = client->Stats(req);
  if (!res.ok()) return CallFailed(g, *res.error, out, err);
  if (g.json) {
    // The same object as hyperupcallctl stats (proto_json.hpp).
    json rows = json::array();
    for (const auto& s : res.value.stats()) rows.push_back(protojson::ToJson(s));
    out << json{{"stats", rows}}.dump(2) << "\n";
    return kExitOk;
  }
  char line[256];
  // AVG_CYC as hyperupcallctl stats shows it: TSC cycles per run.
  snprintf(line, sizeof line, "%-6s %-14s %-20s %10s %12s %8s %7s %9s %9s\n", "ID", "HOOK", "NAME",
           "RUNS", "INSNS", "ABORTS", "ERRORS", "HELPER_ERR", "AVG_CYC");
  out << line;
  for (const auto& s : res.value.stats()) {
    snprintf(line, sizeof line, "%-6llu %-14s %-20s %10llu %12llu %8llu %7llu %9llu %9llu\n",
             static_cast<unsigned long long>(s.prog_id()), s.hook().c_str(), s.name().c_str(),
             static_cast<unsigned long long>(s.runs()), static_cast<unsigned long long>(s.insns()),
             static_cast<unsigned long long>(s.budget_aborts()),
             static_cast<unsigned long long>(s.errors()),
             static_cast<unsigned long long>(s.helper_errors()),
             static_cast<unsigned long long>(s.runs() ? s.cycles() / s.runs() : 0));
    out << line;
  }
  return kExitOk;
}

int RunTrace(const Global& g, uint64_t since, uint32_t count, std::ostream& out,
             std::ostream& err) {
  Failure failure;
  auto client = Connect(g, &failure);
  if (!client) return Fail(g, failure, out, err);
  gv1::ReadTraceRequest req;
  req.set_after_seq(since);
  req.set_max(count);
  auto res = client->ReadTrace(req);
  if (!res.ok()) return CallFailed(g, *res.error, out, err);
  if (g.json) {
    json recs = json::array();
    for (const auto& r : res.value.records()) {
      recs.push_back({{"seq", r.seq()},
                      {"prog_id", r.prog_id()},
                      {"time_ns", std::to_string(r.time_ns())},
                      {"data", protojson::HexBytes(r.data())}});
    }
    out << json{{"records", recs}, {"missed", res.value.missed()}}.dump(2) << "\n";
    return kExitOk;
  }
  if (res.value.missed()) {
    out << "(" << res.value.missed() << " older records left the daemon's window unread)\n";
  }
  for (const auto& r : res.value.records()) {
    out << "#" << r.seq() << " prog " << r.prog_id() << " t=" << r.time_ns() << "ns "
        << Hex(r.data()) << "\n";
  }
  return kExitOk;
}

}  // namespace hu::guest::tool
