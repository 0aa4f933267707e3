// A BPF relocatable object read through libelf into plain, owned, checked
// structures: every offset, index and size is validated here once, so the
// loader above works on data it can trust to be in bounds.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "hyperupcall/result.hpp"

namespace hu::guest::detail {

struct ElfSection {
  size_t index = 0;
  std::string name;
  uint32_t type = 0;   // SHT_*
  uint64_t flags = 0;  // SHF_*
  uint32_t link = 0;
  uint32_t info = 0;
  uint64_t size = 0;          // sh_size; also for SHT_NOBITS
  std::vector<uint8_t> data;  // empty for SHT_NOBITS
};

struct ElfSymbol {
  size_t index = 0;
  std::string name;
  uint64_t value = 0;
  uint64_t size = 0;
  uint16_t shndx = 0;  // SHN_UNDEF, SHN_ABS, ... or a valid section index
  uint8_t type = 0;    // STT_*
  uint8_t bind = 0;    // STB_*
};

struct ElfReloc {
  uint64_t offset = 0;  // in the target section, < its size
  uint32_t sym = 0;     // < number of symbols
  uint32_t type = 0;    // R_BPF_*
};

struct ElfRelocSection {
  size_t section = 0;  // index of the relocation section itself
  size_t target = 0;   // section the relocations apply to
  std::vector<ElfReloc> relocs;
};

struct ElfObject {
  std::string origin;  // file name for messages
  std::vector<ElfSection> sections;
  std::vector<ElfSymbol> symbols;
  std::vector<ElfRelocSection> reloc_sections;

  const ElfSection* FindSection(std::string_view name) const;
};

// Accepts only 64-bit little-endian ET_REL objects for EM_BPF, i.e. what
// `clang -target bpf -c` writes.
Result<ElfObject> ReadElf(std::span<const uint8_t> bytes, std::string origin);

}  // namespace hu::guest::detail
