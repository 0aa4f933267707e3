#include "hyperupcall/guest/region.hpp"

#include <charconv>

namespace hu::guest {
namespace {

Error Bad(std::string_view text, const std::string& why) {
  return MakeError(ErrorCode::kInvalidArgument, "region '" + std::string(text) + "': " + why);
}

std::vector<std::string_view> Split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  while (true) {
    size_t p = s.find(sep);
    out.push_back(s.substr(0, p));
    if (p == std::string_view::npos) return out;
    s = s.substr(p + 1);
  }
}

bool IsSymbolChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '.' || c == '$';
}

}  // namespace

Result<uint64_t> ParseNumber(std::string_view text, std::string_view what) {
  int base = 10;
  std::string_view digits = text;
  if (digits.starts_with("0x") || digits.starts_with("0X")) {
    base = 16;
    digits.remove_prefix(2);
  }
  uint64_t v = 0;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), v, base);
  if (digits.empty() || ec != std::errc() || end != digits.data() + digits.size()) {
    return MakeError(ErrorCode::kInvalidArgument,
                     std::string(what) + " '" + std::string(text) +
                         "' is not a number (decimal or 0x-hex, at most 64 bits)");
  }
  return v;
}

Result<RegionSpec> ParseRegion(std::string_view text) {
  RegionSpec spec;
  spec.text = std::string(text);
  std::vector<std::string_view> f = Split(text, ':');
  if (!f.empty() && f[0] == "gpa") {
    spec.gpa = true;
    f.erase(f.begin());
  }
  if (f.size() < 2 || f.size() > 3) {
    return Bad(text, "want SYMBOL[+OFF]:LEN[:rw], 0xADDR:LEN[:rw] or gpa:0xADDR:LEN[:rw|:protect]");
  }
  std::string_view start = f[0];
  if (start.empty()) return Bad(text, "no start symbol or address");
  if (start[0] >= '0' && start[0] <= '9') {
    auto addr = ParseNumber(start, "address");
    if (!addr) return Bad(text, addr.error().message);
    spec.addr = *addr;
  } else {
    if (spec.gpa) return Bad(text, "a guest-physical region takes an address, not a symbol");
    size_t plus = start.find('+');
    std::string_view sym = start.substr(0, plus);
    for (char c : sym) {
      if (!IsSymbolChar(c)) return Bad(text, "'" + std::string(sym) + "' is not a symbol name");
    }
    spec.symbol = std::string(sym);
    if (plus != std::string_view::npos) {
      auto off = ParseNumber(start.substr(plus + 1), "offset");
      if (!off) return Bad(text, off.error().message);
      spec.offset = *off;
    }
  }
  auto len = ParseNumber(f[1], "length");
  if (!len) return Bad(text, len.error().message);
  if (*len == 0) return Bad(text, "length is 0");
  spec.len = *len;
  if (f.size() == 3) {
    if (f[2] == "rw") {
      spec.write = true;
    } else if (f[2] == "protect") {
      if (!spec.gpa) return Bad(text, "only a guest-physical region (gpa:) can be protected");
      spec.protect = true;
    } else if (f[2] != "ro") {
      return Bad(text, "access '" + std::string(f[2]) + "' is none of ro, rw, protect");
    }
  }
  return spec;
}

Result<hu_region> ResolveRegion(const RegionSpec& spec, SymbolResolver* ksyms) {
  uint64_t start = spec.addr;
  if (!spec.symbol.empty()) {
    if (!ksyms) return Bad(spec.text, "symbol '" + spec.symbol + "' needs a kallsyms file");
    auto addr = ksyms->Resolve(spec.symbol);
    if (!addr) {
      return MakeError(addr.error().code,
                       "region '" + spec.text + "': symbol " + addr.error().message);
    }
    if (spec.offset > UINT64_MAX - *addr) return Bad(spec.text, "symbol + offset overflows");
    start = *addr + spec.offset;
  }
  if (spec.len == 0) return Bad(spec.text, "length is 0");
  if (spec.len - 1 > UINT64_MAX - start) return Bad(spec.text, "range wraps past 2^64");
  hu_region r{};
  r.start = start;
  r.len = spec.len;
  r.flags = HU_REGION_READ | (spec.write ? HU_REGION_WRITE : 0) | (spec.gpa ? HU_REGION_GPA : 0) |
            (spec.protect ? HU_REGION_PROTECT : 0);
  return r;
}

Result<std::vector<hu_region>> ResolveRegions(const std::vector<RegionSpec>& specs,
                                              SymbolResolver* ksyms) {
  if (specs.size() > HU_MAX_REGIONS) {
    return MakeError(ErrorCode::kInvalidArgument,
                     std::to_string(specs.size()) + " regions given; at most " +
                         std::to_string(HU_MAX_REGIONS) + " per program");
  }
  std::vector<hu_region> out;
  for (const auto& s : specs) {
    auto r = ResolveRegion(s, ksyms);
    if (!r) return r.error();
    out.push_back(*r);
  }
  return out;
}

}  // namespace hu::guest
