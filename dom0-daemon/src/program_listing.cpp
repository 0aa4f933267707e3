#include "program_listing.hpp"

#include <fmt/format.h>

#include <map>

#include "hyperupcall/disasm.hpp"
#include "names.hpp"
#include "proto_json.hpp"

namespace hu::daemon {

namespace {

std::string MapName(const ProgramRecord& rec, int64_t idx) {
  if (idx < 0 || static_cast<size_t>(idx) >= rec.maps.size()) return fmt::format("map {}?", idx);
  return fmt::format("map {} '{}'", idx, rec.maps[static_cast<size_t>(idx)].name);
}

}  // namespace

std::string ProgramListing(const ProgramRecord& rec) {
  std::string out;
  for (size_t i = 0; i < rec.maps.size(); ++i) {
    const auto& m = rec.maps[i];
    out += fmt::format("; map {} '{}': {}, key {} bytes, value {} bytes, {} entries\n", i, m.name,
                       protojson::MapTypeName(m.def.type), m.def.key_size, m.def.value_size,
                       m.def.max_entries);
  }
  for (size_t i = 0; i < rec.regions.size(); ++i) {
    const auto& r = rec.regions[i];
    const std::string sym = i < rec.region_symbols.size() ? rec.region_symbols[i] : "";
    out +=
        fmt::format("; region {}: {:#x}-{:#x} ({} bytes) {} {}{}\n", i, r.start, r.start + r.len,
                    r.len, (r.flags & HU_REGION_WRITE) ? "rw" : "ro",
                    (r.flags & HU_REGION_GPA) ? "gpa" : "gva", sym.empty() ? "" : " symbol " + sym);
  }
  std::map<uint32_t, std::string> funcs;
  for (const auto& f : rec.functions) funcs.emplace(f.pc, f.name);
  if (funcs.empty() && !rec.insns.empty()) funcs.emplace(0, rec.name);
  for (size_t pc = 0; pc < rec.insns.size(); ++pc) {
    if (auto it = funcs.find(static_cast<uint32_t>(pc)); it != funcs.end())
      out += it->second + ":\n";
    const hu_insn& in = rec.insns[pc];
    std::string line = fmt::format("{:5}: {}", pc, Disassemble(rec.insns, pc));
    if (in.code == (HU_CLS_JMP | HU_JMP_CALL) && in.src == HU_CALL_HELPER) {
      line += fmt::format("  ; {}", HelperName(static_cast<uint32_t>(in.imm)));
    } else if (in.code == (HU_CLS_JMP | HU_JMP_CALL) && in.src == HU_CALL_LOCAL) {
      const int64_t target = static_cast<int64_t>(pc) + 1 + in.imm;
      auto it = target >= 0 ? funcs.find(static_cast<uint32_t>(target)) : funcs.end();
      line += fmt::format("  ; {}", it != funcs.end() ? it->second : fmt::format("pc {}", target));
    } else if (in.code == (HU_CLS_LD | HU_MODE_IMM | HU_SIZE_DW) && in.src == HU_PSEUDO_MAP_IDX) {
      line += "  ; " + MapName(rec, in.imm);
    } else if (in.code == (HU_CLS_LD | HU_MODE_IMM | HU_SIZE_DW) && in.src != HU_PSEUDO_NONE) {
      const int32_t off = pc + 1 < rec.insns.size() ? rec.insns[pc + 1].imm : 0;
      line += fmt::format("  ; {} value + {}", MapName(rec, in.imm), off);
    }
    out += line + "\n";
    if (in.code == (HU_CLS_LD | HU_MODE_IMM | HU_SIZE_DW)) ++pc;
  }
  return out;
}

}  // namespace hu::daemon
