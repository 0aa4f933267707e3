// Map definitions declared BTF-style, as libbpf reads them:
//   struct { __uint(type, BPF_MAP_TYPE_ARRAY); __type(key, u32);
//            __type(value, u64); __uint(max_entries, 16); } counts SEC(".maps");
// The values live only in the object's BTF (__uint(name, N) is a pointer to
// an array of N ints, __type(name, T) a pointer to T), so this decodes them
// with libbpf's BTF API.
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

#include "elf_object.hpp"
#include "hyperupcall/abi.h"
#include "hyperupcall/result.hpp"

namespace hu::guest::detail {

struct MapDecl {
  std::string name;
  hu_map_def def{};
  size_t symbol = 0;  // its ELF symbol in .maps
  // BTF ids of the __type(key, T) and __type(value, T) types; 0 when the
  // map gave only key_size/value_size.
  uint32_t key_type_id = 0, value_type_id = 0;
};

struct BtfFacts {
  std::vector<MapDecl> maps;              // in .maps order
  std::set<std::string> kconfig_externs;  // `extern ... __kconfig`: unsupported
  // Per function (BTF FUNC): the struct its first argument points to, ""
  // when the argument is not a pointer to a named struct.
  std::map<std::string, std::string> ctx_struct;
  std::vector<uint8_t> raw;  // the .BTF section, as the daemon gets it
};

// Decodes and checks every map against the ABI limits (abi.h).
Result<BtfFacts> ReadBtfFacts(const ElfObject& elf);

}  // namespace hu::guest::detail
