// Kernel symbol addresses for `extern ... __ksym` variables and for regions
// named by symbol, read from a file in /proc/kallsyms format:
//   ffffffff81000000 T _stext
//   ffffffffc0a01000 t ext4_fill_super	[ext4]
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>

#include "hyperupcall/result.hpp"

namespace hu::guest {

// Where kernel symbol names become addresses. The loader and the region
// code take this interface so tests can use a small in-memory table.
class SymbolResolver {
 public:
  virtual ~SymbolResolver() = default;
  // Error message form: "'NAME' not found in SOURCE" (callers prefix what
  // the name was for, e.g. "ksym").
  virtual Result<uint64_t> Resolve(std::string_view name) = 0;
  // The file the addresses come from, for messages.
  virtual std::string Source() const = 0;
};

class Kallsyms : public SymbolResolver {
 public:
  // `source` names the text in messages (usually its path).
  static Result<Kallsyms> Parse(std::string_view text, std::string source);
  static Result<Kallsyms> Load(const std::string& path);

  Result<uint64_t> Resolve(std::string_view name) override;
  std::string Source() const override { return source_; }
  size_t size() const { return addrs_.size(); }

 private:
  std::string source_;
  // A name with two different addresses (static symbols of the same name
  // in different files) maps to kAmbiguous; resolving it is an error,
  // as in libbpf.
  std::unordered_map<std::string, uint64_t> addrs_;
  std::unordered_map<std::string, uint64_t> second_addr_;
  bool all_zero_ = true;
};

// Reads the file only when a name is first asked for, so commands that
// need no kernel symbol work without read access to /proc/kallsyms.
class LazyKallsyms : public SymbolResolver {
 public:
  explicit LazyKallsyms(std::string path) : path_(std::move(path)) {}
  Result<uint64_t> Resolve(std::string_view name) override;
  std::string Source() const override { return path_; }

 private:
  std::string path_;
  std::unique_ptr<Kallsyms> table_;
  std::unique_ptr<Error> load_error_;
};

}  // namespace hu::guest
