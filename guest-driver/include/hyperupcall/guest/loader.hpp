// The guest-side ELF loader: turns `clang -target bpf -c policy.c` output
// into programs ready for RegisterProgram.
//
//  - programs are the functions in SEC("hyperupcall/<hook>") (or plain
//    SEC("hyperupcall"), whose hook the caller must supply);
//  - bpf-to-bpf calls to functions in .text are linked as libbpf does:
//    each called subprogram is appended once and call offsets fixed;
//  - lddw of a map declared in SEC(".maps") becomes src=HU_PSEUDO_MAP_IDX,
//    imm = index into Program::maps;
//  - lddw of an `extern ... __ksym` becomes a plain 64-bit immediate holding
//    the symbol's address from a kallsyms file.
// Everything else (global data, kfuncs, __kconfig, callbacks, unknown
// sections or relocation types) is refused with a message naming the
// section, instruction and symbol. The file is untrusted input: every
// offset is bounds-checked.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "hyperupcall/abi.h"
#include "hyperupcall/ebpf.h"
#include "hyperupcall/guest/kallsyms.hpp"
#include "hyperupcall/result.hpp"

namespace hu::guest {

struct MapInfo {
  std::string name;
  hu_map_def def{};
  uint32_t btf_key_type_id = 0, btf_value_type_id = 0;  // 0: none
};

// A function of the linked program: the main one at 0, then subprograms.
struct FunctionInfo {
  std::string name;
  uint32_t pc = 0;
};

struct KsymUse {
  std::string name;
  uint64_t addr = 0;  // 0 for an unresolved __weak extern
};

struct ProgramInfo {
  std::string name;                // the function's symbol
  std::string section;             // "hyperupcall/mem.reclaim"
  hu_hook_id hook = HU_HOOK_NONE;  // NONE for plain SEC("hyperupcall")
};

// A line of C source, from the object's BTF line info (clang -g).
struct SourceLine {
  std::string file;  // the file name clang recorded, without directories
  uint32_t line = 0, column = 0;
  std::string text;  // the line as written, leading blanks removed
};

struct Program {
  ProgramInfo info;
  std::vector<hu_insn> insns;  // main function first, then subprograms
  std::vector<MapInfo> maps;   // the maps it references, by first use
  std::vector<KsymUse> ksyms;  // resolved externs, for people
  std::string license;         // SEC("license"), "" when absent

  // Where each instruction slot came from: its function and, when the
  // object has line info, its source line (source.hpp turns these into
  // messages). origins has one entry per slot of insns.
  struct Origin {
    uint32_t function = 0;  // index into functions
    int32_t line = -1;      // index into lines, -1: none
  };
  std::vector<Origin> origins;
  std::vector<std::string> functions;
  std::vector<SourceLine> lines;
  std::string line_info_problem;  // the object had line info that could not be read
  // Where each function starts (main at 0), for people (prog dump).
  std::vector<FunctionInfo> function_starts;
  std::vector<uint8_t> btf;  // the object's .BTF section (empty: none)
  // The struct the main function's first argument points to, from BTF
  // ("" when unknown), to compare with the hook's context.
  std::string ctx_struct;
};

class BpfObject {
 public:
  // `origin` names the bytes in messages (usually the file name).
  static Result<BpfObject> FromBytes(std::span<const uint8_t> bytes, std::string origin);
  static Result<BpfObject> FromFile(const std::string& path);

  const std::string& origin() const;
  const std::string& license() const;
  std::vector<ProgramInfo> programs() const;

  // Links one program. `ksyms` is asked only for the externs the program
  // uses; it may be null when it uses none.
  Result<Program> Link(std::string_view name, SymbolResolver* ksyms) const;

  struct Impl;

 private:
  explicit BpfObject(std::shared_ptr<const Impl> impl) : impl_(std::move(impl)) {}
  std::shared_ptr<const Impl> impl_;
};

}  // namespace hu::guest
