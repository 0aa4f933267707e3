#include "page_tables.hpp"

#include <fmt/format.h>

namespace hu::daemon::sim {
namespace {

constexpr const char* kLevelName[] = {"PML4E", "PDPTE", "PDE", "PTE"};

bool Canonical(uint64_t va) {
  const uint64_t top = va >> 47;
  return top == 0 || top == 0x1ffff;
}

unsigned Index(uint64_t va, int level) {  // level 0 = PML4
  return static_cast<unsigned>((va >> (39 - 9 * level)) & 511);
}

}  // namespace

Result<Translation> WalkPageTables(const GuestMemory& mem, uint64_t cr3, uint64_t gva) {
  if (!Canonical(gva))
    return MakeError(ErrorCode::kInvalidArgument, fmt::format("gva {:#x} is not canonical", gva));
  uint64_t table = cr3 & kPteAddrMask;
  bool writable = true, user = true;
  for (int level = 0; level < 4; ++level) {
    const uint64_t entry_gpa = table + 8ull * Index(gva, level);
    uint64_t entry = 0;
    if (!mem.Read(entry_gpa, &entry, sizeof entry))
      return MakeError(ErrorCode::kOutOfRange,
                       fmt::format("gva {:#x}: {} at gpa {:#x} is outside guest memory", gva,
                                   kLevelName[level], entry_gpa));
    if (!(entry & kPtePresent))
      return MakeError(ErrorCode::kNotFound,
                       fmt::format("gva {:#x}: {} not present", gva, kLevelName[level]));
    writable = writable && (entry & kPteWrite);
    user = user && (entry & kPteUser);
    const bool leaf = level == 3 || ((level == 1 || level == 2) && (entry & kPteHuge));
    if (leaf) {
      const uint64_t size = 1ull << (39 - 9 * level);
      const uint64_t base = entry & kPteAddrMask & ~(size - 1);
      Translation t;
      t.gpa = base | (gva & (size - 1));
      t.page_size = size;
      t.writable = writable;
      t.user = user;
      if (!mem.Contains(t.gpa, 1))
        return MakeError(
            ErrorCode::kOutOfRange,
            fmt::format("gva {:#x} maps to gpa {:#x}, outside guest memory", gva, t.gpa));
      return t;
    }
    table = entry & kPteAddrMask;
  }
  return MakeError(ErrorCode::kInternal, "page walk fell through");  // unreachable
}

uint64_t PageTableBuilder::NewRoot() { return alloc_() << kPageShift; }

uint64_t PageTableBuilder::Next(uint64_t table_gpa, unsigned index, uint64_t flags) {
  const uint64_t entry_gpa = table_gpa + 8ull * index;
  uint64_t entry = mem_.Get<uint64_t>(entry_gpa);
  if (!(entry & kPtePresent)) {
    // Intermediate levels are permissive; the leaf decides, as in Linux.
    entry = (alloc_() << kPageShift) | kPtePresent | kPteWrite | kPteAccessed | (flags & kPteUser);
    mem_.Put(entry_gpa, entry);
  }
  return entry & kPteAddrMask;
}

void PageTableBuilder::Map4K(uint64_t root, uint64_t gva, uint64_t gpa, uint64_t len,
                             uint64_t flags) {
  for (uint64_t off = 0; off < len; off += kPageSize) {
    const uint64_t va = gva + off;
    uint64_t t = root;
    for (int level = 0; level < 3; ++level) t = Next(t, Index(va, level), flags);
    mem_.Put(t + 8ull * Index(va, 3), ((gpa + off) & kPteAddrMask) | flags | kPtePresent);
  }
}

void PageTableBuilder::Map2M(uint64_t root, uint64_t gva, uint64_t gpa, uint64_t len,
                             uint64_t flags) {
  constexpr uint64_t k2M = 2ull << 20;
  for (uint64_t off = 0; off < len; off += k2M) {
    const uint64_t va = gva + off;
    uint64_t t = root;
    for (int level = 0; level < 2; ++level) t = Next(t, Index(va, level), flags);
    mem_.Put(t + 8ull * Index(va, 2),
             ((gpa + off) & kPteAddrMask) | flags | kPtePresent | kPteHuge);
  }
}

void PageTableBuilder::ShareUpper(uint64_t from, uint64_t to, unsigned first) {
  for (unsigned i = first; i < 512; ++i)
    mem_.Put(to + 8ull * i, mem_.Get<uint64_t>(from + 8ull * i));
}

}  // namespace hu::daemon::sim
