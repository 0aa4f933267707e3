#include "test_file.hpp"

#include <cctype>
#include <fstream>
#include <sstream>

namespace hu::conformance {
namespace {

std::string Trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t\r");
  if (b == std::string::npos) return "";
  size_t e = s.find_last_not_of(" \t\r");
  return s.substr(b, e - b + 1);
}

Result<uint64_t> ParseHexNumber(const std::string& text, const std::string& where) {
  std::string t = Trim(text);
  try {
    size_t used = 0;
    uint64_t v = std::stoull(t, &used, 16);
    if (used == t.size()) return v;
  } catch (const std::exception&) {
  }
  return MakeError(ErrorCode::kInvalidArgument, where + ": bad number '" + t + "'");
}

}  // namespace

Result<std::vector<uint8_t>> ParseHexBytes(std::string_view text) {
  std::vector<uint8_t> out;
  int nibbles = 0;
  uint8_t cur = 0;
  for (char c : text) {
    if (std::isspace(static_cast<unsigned char>(c))) {
      if (nibbles == 1) {
        return MakeError(ErrorCode::kInvalidArgument, "odd number of hex digits in a byte");
      }
      continue;
    }
    if (!std::isxdigit(static_cast<unsigned char>(c))) {
      return MakeError(ErrorCode::kInvalidArgument, std::string("not a hex digit: '") + c + "'");
    }
    int v = std::isdigit(static_cast<unsigned char>(c)) ? c - '0' : std::tolower(c) - 'a' + 10;
    cur = static_cast<uint8_t>(cur << 4 | v);
    if (++nibbles == 2) {
      out.push_back(cur);
      cur = 0;
      nibbles = 0;
    }
  }
  if (nibbles != 0) return MakeError(ErrorCode::kInvalidArgument, "odd number of hex digits");
  return out;
}

Result<TestFile> ParseTestFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return MakeError(ErrorCode::kNotFound, path + ": cannot open");
  TestFile t;
  t.name = path.substr(path.find_last_of('/') + 1);
  std::string section, line, mem_text, result_text, error_text;
  std::vector<std::string> raw_lines;
  while (std::getline(in, line)) {
    if (line.starts_with("--")) {
      section = Trim(line.substr(2));
      continue;
    }
    if (section == "asm") {
      t.asm_text += line + "\n";
    } else if (section == "mem") {
      mem_text += line + "\n";
    } else if (section == "result") {
      result_text += line;
    } else if (section == "error") {
      error_text += line;
    } else if (section == "raw" && !Trim(line).empty()) {
      raw_lines.push_back(line);
    }
  }
  auto mem = ParseHexBytes(mem_text);
  if (!mem.ok())
    return MakeError(ErrorCode::kInvalidArgument, path + ": mem: " + mem.error().message);
  t.mem = std::move(*mem);
  if (!Trim(result_text).empty()) {
    auto r = ParseHexNumber(result_text, path + ": result");
    if (!r.ok()) return r.error();
    t.result = *r;
  }
  if (!Trim(error_text).empty()) t.error = Trim(error_text);
  for (const std::string& l : raw_lines) {
    auto r = ParseHexNumber(l, path + ": raw");
    if (!r.ok()) return r.error();
    t.raw.push_back(*r);
  }
  if (t.asm_text.empty())
    return MakeError(ErrorCode::kInvalidArgument, path + ": no -- asm section");
  if (!t.result && !t.error) {
    return MakeError(ErrorCode::kInvalidArgument, path + ": neither -- result nor -- error");
  }
  return t;
}

}  // namespace hu::conformance
