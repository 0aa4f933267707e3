// x86-64 four-level page tables in guest memory: built the way a Linux guest
// lays them out, and walked the way the MMU (and Xen's guest_walk_tables)
// does, for the read_gva/write_gva helpers.
#pragma once

#include <cstdint>
#include <functional>

#include "guest_memory.hpp"
#include "hyperupcall/result.hpp"

namespace hu::daemon::sim {

inline constexpr uint64_t kPtePresent = 1ull << 0;
inline constexpr uint64_t kPteWrite = 1ull << 1;
inline constexpr uint64_t kPteUser = 1ull << 2;
inline constexpr uint64_t kPteAccessed = 1ull << 5;
inline constexpr uint64_t kPteDirty = 1ull << 6;
inline constexpr uint64_t kPteHuge = 1ull << 7;  // PS in a PDPTE or PDE
inline constexpr uint64_t kPteGlobal = 1ull << 8;
inline constexpr uint64_t kPteNx = 1ull << 63;
inline constexpr uint64_t kPteAddrMask = 0x000f'ffff'ffff'f000ull;

struct Translation {
  uint64_t gpa = 0;
  uint64_t page_size = kPageSize;  // 4 KiB, 2 MiB or 1 GiB
  bool writable = false;
  bool user = false;
};

// Walks the tables rooted at cr3. Errors say which level failed and why.
Result<Translation> WalkPageTables(const GuestMemory& mem, uint64_t cr3, uint64_t gva);

// Builds tables into guest memory; frames for tables come from alloc_frame
// (returns a gfn of a zeroed frame).
class PageTableBuilder {
 public:
  PageTableBuilder(GuestMemory& mem, std::function<uint64_t()> alloc_frame)
      : mem_(mem), alloc_(std::move(alloc_frame)) {}

  uint64_t NewRoot();  // a zeroed PML4; returns its gpa (a CR3 value)
  // Maps [gva, gva+len) -> [gpa, ...) with 4 KiB pages.
  void Map4K(uint64_t root, uint64_t gva, uint64_t gpa, uint64_t len, uint64_t flags);
  // Same with 2 MiB pages; gva, gpa and len must be 2 MiB aligned.
  void Map2M(uint64_t root, uint64_t gva, uint64_t gpa, uint64_t len, uint64_t flags);
  // Copies PML4 entries [first, 512) of `from` into `to` (kernel half).
  void ShareUpper(uint64_t from, uint64_t to, unsigned first);

 private:
  uint64_t Next(uint64_t table_gpa, unsigned index, uint64_t flags);
  GuestMemory& mem_;
  std::function<uint64_t()> alloc_;
};

}  // namespace hu::daemon::sim
