#include "hyperupcall/guest/kallsyms.hpp"

#include <charconv>
#include <cstdio>
#include <fstream>
#include <sstream>

namespace hu::guest {
namespace {

std::string_view NextField(std::string_view& line) {
  size_t start = line.find_first_not_of(" \t");
  if (start == std::string_view::npos) {
    line = {};
    return {};
  }
  size_t end = line.find_first_of(" \t", start);
  std::string_view field = line.substr(start, end - start);
  line = end == std::string_view::npos ? std::string_view{} : line.substr(end);
  return field;
}

}  // namespace

Result<Kallsyms> Kallsyms::Parse(std::string_view text, std::string source) {
  Kallsyms table;
  table.source_ = std::move(source);
  size_t line_no = 0;
  while (!text.empty()) {
    size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
    ++line_no;
    if (line.find_first_not_of(" \t\r") == std::string_view::npos) continue;

    std::string_view addr_text = NextField(line);
    std::string_view type = NextField(line);
    std::string_view name = NextField(line);
    uint64_t addr = 0;
    auto [end, ec] =
        std::from_chars(addr_text.data(), addr_text.data() + addr_text.size(), addr, 16);
    if (ec != std::errc() || end != addr_text.data() + addr_text.size() || type.size() != 1 ||
        name.empty()) {
      return MakeError(ErrorCode::kInvalidArgument,
                       table.source_ + ":" + std::to_string(line_no) +
                           ": not a kallsyms line (want \"ADDRESS TYPE NAME [MODULE]\")");
    }
    if (addr != 0) table.all_zero_ = false;
    auto [it, inserted] = table.addrs_.emplace(std::string(name), addr);
    if (!inserted && it->second != addr) table.second_addr_.emplace(std::string(name), addr);
  }
  return table;
}

Result<Kallsyms> Kallsyms::Load(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    // Not kNotFound: that code means "no such symbol", which a __weak
    // extern turns into 0; a missing table must stay an error.
    return MakeError(ErrorCode::kFailedPrecondition, "cannot open kallsyms file " + path);
  }
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return MakeError(ErrorCode::kInternal, "cannot read kallsyms file " + path);
  return Parse(text.str(), path);
}

Result<uint64_t> Kallsyms::Resolve(std::string_view name) {
  auto it = addrs_.find(std::string(name));
  if (it == addrs_.end()) {
    return MakeError(ErrorCode::kNotFound, "'" + std::string(name) + "' not found in " + source_);
  }
  if (auto dup = second_addr_.find(it->first); dup != second_addr_.end()) {
    char buf[96];
    snprintf(buf, sizeof buf, "0x%llx or 0x%llx", static_cast<unsigned long long>(it->second),
             static_cast<unsigned long long>(dup->second));
    return MakeError(ErrorCode::kFailedPrecondition,
                     "'" + it->first + "' is ambiguous in " + source_ + ": " + buf);
  }
  if (all_zero_) {
    return MakeError(ErrorCode::kPermissionDenied,
                     "'" + it->first + "' has address 0 in " + source_ +
                         ": the kernel hides addresses from this user (run as root, or set "
                         "kernel.kptr_restrict=0)");
  }
  return it->second;
}

Result<uint64_t> LazyKallsyms::Resolve(std::string_view name) {
  if (!table_ && !load_error_) {
    auto loaded = Kallsyms::Load(path_);
    if (loaded) {
      table_ = std::make_unique<Kallsyms>(std::move(loaded).value());
    } else {
      load_error_ = std::make_unique<Error>(loaded.error());
    }
  }
  if (load_error_) return *load_error_;
  return table_->Resolve(name);
}

}  // namespace hu::guest
