// Shared by the guest driver tests: object paths and a small symbol table.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "hyperupcall/guest/kallsyms.hpp"

namespace hu::guest::testing {

inline std::string Obj(const std::string& name) {
  return std::string(HU_GUEST_BPF_DIR) + "/" + name + ".bpf.o";
}

// An in-memory kallsyms that also records what it was asked.
class TableResolver : public SymbolResolver {
 public:
  explicit TableResolver(std::map<std::string, uint64_t> table) : table_(std::move(table)) {}
  Result<uint64_t> Resolve(std::string_view name) override {
    ++asked;
    auto it = table_.find(std::string(name));
    if (it == table_.end()) {
      return MakeError(ErrorCode::kNotFound, "'" + std::string(name) + "' not found in test-table");
    }
    return it->second;
  }
  std::string Source() const override { return "test-table"; }
  int asked = 0;

 private:
  std::map<std::string, uint64_t> table_;
};

}  // namespace hu::guest::testing
