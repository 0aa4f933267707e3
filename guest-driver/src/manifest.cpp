#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "hyperupcall/guest/hooks.hpp"
#include "hyperupcall/guest/region.hpp"

namespace hu::guest {
namespace {

using nlohmann::json;

Error Bad(const std::string& source, const std::string& why) {
  return MakeError(ErrorCode::kInvalidArgument, source + ": " + why);
}

// A number, or a string holding a decimal or 0x-hex number (JSON has no
// hex, and addresses above 2^53 do not survive some JSON writers).
Result<uint64_t> Number(const json& v, const std::string& where) {
  if (v.is_number_unsigned()) return v.get<uint64_t>();
  if (v.is_number_integer()) {
    int64_t i = v.get<int64_t>();
    if (i >= 0) return static_cast<uint64_t>(i);
  }
  if (v.is_string()) return ParseNumber(v.get<std::string>(), where);
  return MakeError(ErrorCode::kInvalidArgument, where + " is not a non-negative integer");
}

Result<RegionSpec> ParseRegionEntry(const json& e, const std::string& where) {
  if (!e.is_object()) return MakeError(ErrorCode::kInvalidArgument, where + " is not an object");
  RegionSpec spec;
  bool have_start = false, have_len = false;
  for (const auto& [key, v] : e.items()) {
    const std::string field = where + "." + key;
    if (key == "symbol") {
      if (!v.is_string() || v.get<std::string>().empty()) {
        return MakeError(ErrorCode::kInvalidArgument, field + " is not a symbol name");
      }
      spec.symbol = v.get<std::string>();
      have_start = true;
    } else if (key == "addr" || key == "gpa") {
      auto n = Number(v, field);
      if (!n) return n.error();
      spec.addr = *n;
      spec.gpa = key == "gpa";
      have_start = true;
    } else if (key == "offset" || key == "len") {
      auto n = Number(v, field);
      if (!n) return n.error();
      (key == "len" ? spec.len : spec.offset) = *n;
      have_len = have_len || key == "len";
    } else if (key == "write" || key == "protect") {
      if (!v.is_boolean()) return MakeError(ErrorCode::kInvalidArgument, field + " is not a bool");
      (key == "write" ? spec.write : spec.protect) = v.get<bool>();
    } else {
      return MakeError(ErrorCode::kInvalidArgument,
                       where + ": unknown key '" + key +
                           "' (known: symbol, offset, addr, gpa, len, write, protect)");
    }
  }
  int starts =
      (spec.symbol.empty() ? 0 : 1) + (e.contains("addr") ? 1 : 0) + (e.contains("gpa") ? 1 : 0);
  if (!have_start || starts != 1) {
    return MakeError(ErrorCode::kInvalidArgument,
                     where + " needs exactly one of symbol, addr, gpa");
  }
  if (!have_len || spec.len == 0) {
    return MakeError(ErrorCode::kInvalidArgument, where + " needs a non-zero len");
  }
  if (spec.protect && (!spec.gpa || spec.write)) {
    return MakeError(ErrorCode::kInvalidArgument,
                     where + ": protect needs a gpa region and excludes write");
  }
  if (spec.offset != 0 && spec.symbol.empty()) {
    return MakeError(ErrorCode::kInvalidArgument, where + ": offset only applies to a symbol");
  }
  spec.text = e.dump();
  return spec;
}

}  // namespace

Result<Manifest> ParseManifest(std::string_view json_text, std::string source) {
  Manifest m;
  m.source = std::move(source);
  json doc = json::parse(json_text.begin(), json_text.end(), nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) return Bad(m.source, "not valid JSON");
  if (!doc.is_object()) return Bad(m.source, "the top level is not a JSON object");
  if (auto it = doc.find("hook"); it != doc.end()) {
    if (!it->is_string()) return Bad(m.source, "\"hook\" is not a string");
    m.hook = it->get<std::string>();
    m.hook_id = HookFromName(m.hook);
    if (m.hook_id == HU_HOOK_NONE) {
      return Bad(m.source, "unknown hook '" + m.hook + "'; hooks are " + HookNameList());
    }
  }
  if (auto it = doc.find("regions"); it != doc.end()) {
    if (!it->is_array()) return Bad(m.source, "\"regions\" is not an array");
    for (size_t i = 0; i < it->size(); ++i) {
      auto r = ParseRegionEntry((*it)[i], "regions[" + std::to_string(i) + "]");
      if (!r) return Bad(m.source, r.error().message);
      m.regions.push_back(std::move(r).value());
    }
  }
  return m;
}

Result<Manifest> LoadManifest(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return MakeError(ErrorCode::kNotFound, "cannot open manifest " + path);
  std::ostringstream text;
  text << in.rdbuf();
  return ParseManifest(text.str(), path);
}

}  // namespace hu::guest
