#include "request.hpp"

#include <fmt/format.h>

#include "hyperupcall/decode.hpp"
#include "hyperupcall/region_rules.hpp"
#include "names.hpp"
#include "text.hpp"

namespace hu::daemon {
namespace {

Error Invalid(std::string msg) { return MakeError(ErrorCode::kInvalidArgument, std::move(msg)); }

// A name a guest gives for people: 1..max printable characters.
Status CheckPrintable(const std::string& name, const std::string& what, size_t max) {
  if (name.empty() || name.size() > max) {
    return Invalid(fmt::format("{} must be 1..{} characters, got {}", what, max, name.size()));
  }
  for (size_t i = 0; i < name.size(); ++i) {
    unsigned char ch = name[i];
    if (ch < 0x21 || ch > 0x7e) {
      return Invalid(
          fmt::format("{} has a non-printable or space character (0x{:02x}) at {}", what, ch, i));
    }
  }
  return Status::Ok();
}

Status CheckName(const std::string& name, const char* what) {
  return CheckPrintable(name, what, kMaxNameLen);
}

Status CheckSymbol(const std::string& name, const std::string& what) {
  return CheckPrintable(name, what, kMaxSymbolLen);
}

Status CheckMap(const MapSpec& m, size_t idx) {
  if (auto st = CheckName(m.name, "map name"); !st) {
    return Invalid(fmt::format("map {}: {}", idx, st.error().message));
  }
  const hu_map_def& d = m.def;
  if (d.type != HU_MAP_HASH && d.type != HU_MAP_ARRAY && d.type != HU_MAP_PERVCPU_ARRAY) {
    return Invalid(
        fmt::format("map {} '{}': type {} unsupported (hash 1, array 2, "
                    "per-vCPU array 6)",
                    idx, m.name, d.type));
  }
  if (d.key_size == 0 || d.key_size > HU_MAP_MAX_KEY) {
    return Invalid(fmt::format("map {} '{}': key_size {} out of range 1..{}", idx, m.name,
                               d.key_size, HU_MAP_MAX_KEY));
  }
  if (d.type != HU_MAP_HASH && d.key_size != 4) {
    return Invalid(
        fmt::format("map {} '{}': array maps need key_size 4, got {}", idx, m.name, d.key_size));
  }
  if (d.value_size == 0 || d.value_size > HU_MAP_MAX_VALUE) {
    return Invalid(fmt::format("map {} '{}': value_size {} out of range 1..{}", idx, m.name,
                               d.value_size, HU_MAP_MAX_VALUE));
  }
  if (d.max_entries == 0 || d.max_entries > HU_MAP_MAX_ENTRIES) {
    return Invalid(fmt::format("map {} '{}': max_entries {} out of range 1..{}", idx, m.name,
                               d.max_entries, HU_MAP_MAX_ENTRIES));
  }
  return Status::Ok();
}

Status CheckRegion(const hu_region& r, size_t idx, hu_hook_id hook) {
  if (const char* problem = RegionFlagsProblem(r, hook)) {
    return Invalid(fmt::format("region {} (flags 0x{:x}): {}", idx, r.flags, problem));
  }
  if (r.len == 0) return Invalid(fmt::format("region {}: length 0", idx));
  if (r.start + r.len < r.start) {
    return Invalid(
        fmt::format("region {}: start 0x{:x} + len 0x{:x} wraps around", idx, r.start, r.len));
  }
  return Status::Ok();
}

}  // namespace

Result<DecodedProgram> DecodeProgram(const RawProgram& raw) {
  DecodedProgram out;
  out.hook = HookFromName(raw.hook);
  if (out.hook == HU_HOOK_NONE) {
    return Invalid(fmt::format("unknown hook '{}' (known: {})", SafeText(raw.hook, 64),
                               Join(AllHookNames(), ", ")));
  }
  if (auto st = CheckName(raw.name, "program name"); !st) return st.error();
  out.name = raw.name;
  if (raw.insn_bytes.empty()) return Invalid("program has no instructions");
  if (raw.insn_bytes.size() % 8) {
    return Invalid(
        fmt::format("instruction bytes: length {} is not a multiple of 8", raw.insn_bytes.size()));
  }
  if (raw.insn_bytes.size() / 8 > kMaxWireInsns) {
    return MakeError(ErrorCode::kResourceExhausted,
                     fmt::format("program has {} instructions, no policy allows more than {}",
                                 raw.insn_bytes.size() / 8, kMaxWireInsns));
  }
  auto insns = DecodeBytes(
      std::span(reinterpret_cast<const uint8_t*>(raw.insn_bytes.data()), raw.insn_bytes.size()));
  if (!insns) return Invalid(fmt::format("instruction bytes: {}", insns.error().message));
  out.insns = std::move(insns.value());
  for (size_t pc = 0; pc < out.insns.size(); ++pc) {
    const hu_insn* next = pc + 1 < out.insns.size() ? &out.insns[pc + 1] : nullptr;
    if (auto st = ValidateInsn(out.insns[pc], next); !st) {
      return Invalid(fmt::format("insn {}: {}", pc, st.error().message));
    }
    if (out.insns[pc].code == (HU_CLS_LD | HU_MODE_IMM | HU_SIZE_DW)) ++pc;
  }
  if (raw.maps.size() > HU_MAX_MAPS) {
    return Invalid(fmt::format("{} maps, at most {} per program", raw.maps.size(), HU_MAX_MAPS));
  }
  for (size_t i = 0; i < raw.maps.size(); ++i) {
    if (auto st = CheckMap(raw.maps[i], i); !st) return st.error();
    for (size_t j = 0; j < i; ++j) {
      if (raw.maps[j].name == raw.maps[i].name) {
        return Invalid(fmt::format("maps {} and {} are both named '{}'", j, i, raw.maps[i].name));
      }
    }
  }
  out.maps = raw.maps;
  if (raw.regions.size() > HU_MAX_REGIONS) {
    return Invalid(
        fmt::format("{} regions, at most {} per program", raw.regions.size(), HU_MAX_REGIONS));
  }
  for (size_t i = 0; i < raw.regions.size(); ++i) {
    if (auto st = CheckRegion(raw.regions[i], i, out.hook); !st) return st.error();
  }
  out.regions = raw.regions;
  for (auto& r : out.regions) r.pad = 0;
  if (raw.region_symbols.size() > raw.regions.size()) {
    return Invalid(fmt::format("{} region symbols for {} regions", raw.region_symbols.size(),
                               raw.regions.size()));
  }
  for (size_t i = 0; i < raw.region_symbols.size(); ++i) {
    const auto& s = raw.region_symbols[i];
    if (!s.empty()) {
      if (auto st = CheckSymbol(s, fmt::format("region {} symbol", i)); !st) return st.error();
    }
  }
  out.region_symbols = raw.region_symbols;
  out.region_symbols.resize(out.regions.size());
  if (raw.btf.size() > kMaxBtfBytes) {
    return Invalid(fmt::format("btf: {} bytes, at most {}", raw.btf.size(), kMaxBtfBytes));
  }
  out.btf.assign(raw.btf.begin(), raw.btf.end());
  if (raw.functions.size() > kMaxFunctions) {
    return Invalid(fmt::format("{} functions, at most {}", raw.functions.size(), kMaxFunctions));
  }
  for (size_t i = 0; i < raw.functions.size(); ++i) {
    const auto& f = raw.functions[i];
    if (auto st = CheckSymbol(f.name, fmt::format("function {} name", i)); !st) return st.error();
    if (f.pc >= out.insns.size()) {
      return Invalid(fmt::format("function {} '{}': pc {} is past the program's {} instructions", i,
                                 f.name, f.pc, out.insns.size()));
    }
  }
  out.functions = raw.functions;
  return out;
}

}  // namespace hu::daemon
