#include "mnemonics.hpp"

#include <array>

#include "hyperupcall/ebpf.h"

namespace hu::mnemonics {
namespace {

constexpr std::array<std::string_view, 16> kAlu = {"add",  "sub", "mul", "div", "or",  "and",
                                                   "lsh",  "rsh", "neg", "mod", "xor", "mov",
                                                   "arsh", "",    "",    ""};

constexpr std::array<std::string_view, 16> kJmp = {"",     "jeq",  "jgt", "jge", "jset", "jne",
                                                   "jsgt", "jsge", "",    "",    "jlt",  "jle",
                                                   "jslt", "jsle", "",    ""};

constexpr std::array<std::string_view, 4> kSize = {"w", "h", "b", "dw"};

struct AtomicEntry {
  std::string_view name;
  int32_t imm;
};
constexpr std::array<AtomicEntry, 6> kAtomic = {{
    {"add", HU_ATOMIC_ADD},
    {"or", HU_ATOMIC_OR},
    {"and", HU_ATOMIC_AND},
    {"xor", HU_ATOMIC_XOR},
    {"xchg", HU_ATOMIC_XCHG},
    {"cmpxchg", HU_ATOMIC_CMPXCHG},
}};

template <size_t N>
std::optional<uint8_t> Find(const std::array<std::string_view, N>& table, std::string_view name) {
  if (name.empty()) return std::nullopt;
  for (size_t i = 0; i < N; ++i) {
    if (table[i] == name) return static_cast<uint8_t>(i);
  }
  return std::nullopt;
}

}  // namespace

std::string_view AluName(uint8_t op) { return kAlu[op & 0xf]; }
std::optional<uint8_t> AluOp(std::string_view name) { return Find(kAlu, name); }
std::string_view JmpName(uint8_t op) { return kJmp[op & 0xf]; }
std::optional<uint8_t> JmpOp(std::string_view name) { return Find(kJmp, name); }
std::string_view SizeName(uint8_t size) { return kSize[size & 0x3]; }
std::optional<uint8_t> SizeBits(std::string_view name) { return Find(kSize, name); }

std::string_view AtomicName(int32_t imm) {
  int32_t key =
      (imm == HU_ATOMIC_XCHG || imm == HU_ATOMIC_CMPXCHG) ? imm : (imm & ~HU_ATOMIC_FETCH);
  for (const auto& e : kAtomic) {
    if (e.imm == key) return e.name;
  }
  return "";
}

std::optional<int32_t> AtomicImm(std::string_view name) {
  for (const auto& e : kAtomic) {
    if (e.name == name) return e.imm;
  }
  return std::nullopt;
}

}  // namespace hu::mnemonics
