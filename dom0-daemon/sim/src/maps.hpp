// A program's maps: array, hash and per-vCPU array, with fixed-size value
// arenas so a value pointer handed to the program stays valid for the
// program's life and can be registered as one interpreter region.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "hyperupcall/abi.h"
#include "hyperupcall/daemon/backend.hpp"
#include "hyperupcall/result.hpp"

namespace hu::daemon::sim {

inline constexpr uint64_t kMaxMapBytes = 64ull << 20;  // value memory per map

class Map {
 public:
  // Checks the definition (hostile: it came from a guest's ELF object).
  // `gap`: unused 8-byte words between values. Where the host puts each
  // value is none of a program's business; the soundness harness varies
  // the gap so a program that learns it is caught.
  static Result<Map> Create(const MapSpec& spec, uint32_t nvcpus, uint32_t gap = 0);

  const hu_map_def& def() const { return def_; }
  const std::string& name() const { return name_; }
  uint8_t* arena() { return arena_.data(); }
  uint64_t arena_size() const { return arena_.size(); }

  // Helper semantics (Linux's): lookup returns the value or nullptr; update
  // and delete return 0 or a negative HU_E* value. `vcpu` picks the copy of a
  // per-vCPU array.
  uint8_t* Lookup(const uint8_t* key, uint32_t vcpu);
  int64_t Update(const uint8_t* key, const uint8_t* value, uint64_t flags, uint32_t vcpu);
  int64_t Delete(const uint8_t* key);

  // Operator access: every entry (per-vCPU arrays: one entry per vCPU and
  // index, the key followed by the vCPU number as u32).
  std::vector<MapEntry> Dump() const;
  Status Set(const MapEntry& entry);
  // Hash maps only (array entries always exist): NOT_FOUND when absent.
  Status Remove(const std::vector<uint8_t>& key);

 private:
  uint8_t* Slot(uint32_t index, uint32_t vcpu);
  uint32_t nvcpus_ = 1;
  hu_map_def def_{};
  uint64_t stride_ = 0;  // bytes from one value to the next
  std::string name_;
  std::vector<uint8_t> arena_;
  // Hash maps: key bytes -> slot; free slots reused.
  std::unordered_map<std::string, uint32_t> hash_;
  std::vector<uint32_t> free_slots_;
};

}  // namespace hu::daemon::sim
