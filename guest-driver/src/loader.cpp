#include "hyperupcall/guest/loader.hpp"

#include <elf.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <map>
#include <optional>

#include "btf_lines.hpp"
#include "btf_maps.hpp"
#include "elf_object.hpp"
#include "hyperupcall/guest/hooks.hpp"

namespace hu::guest {

using detail::ElfObject;
using detail::ElfReloc;
using detail::ElfSection;
using detail::ElfSymbol;

namespace {

constexpr uint32_t kRelBpf64_64 = 1;   // lddw: 64-bit immediate
constexpr uint32_t kRelBpf64_32 = 10;  // call: 32-bit pc-relative
constexpr uint8_t kLddw = HU_CLS_LD | HU_MODE_IMM | HU_SIZE_DW;
constexpr uint8_t kCall = HU_CLS_JMP | HU_JMP_CALL;
constexpr std::string_view kProgPrefix = "hyperupcall";

static_assert(sizeof(hu_insn) == 8, "hu_insn must be one 8-byte slot");

const char* RelocTypeName(uint32_t type) {
  switch (type) {
    case 0:
      return "R_BPF_NONE";
    case 1:
      return "R_BPF_64_64";
    case 2:
      return "R_BPF_64_ABS64";
    case 3:
      return "R_BPF_64_ABS32";
    case 4:
      return "R_BPF_64_NODYLD32";
    case 10:
      return "R_BPF_64_32";
    default:
      return "unknown";
  }
}

std::string Hex(uint64_t v) {
  char buf[24];
  snprintf(buf, sizeof buf, "0x%llx", static_cast<unsigned long long>(v));
  return buf;
}

struct Function {
  size_t section = 0;
  size_t symbol = 0;
  std::string name;
  size_t start = 0;  // in instructions, within the section
  size_t count = 0;
};

struct CodeSection {
  size_t index = 0;
  std::string name;
  bool is_program = false;
  hu_hook_id hook = HU_HOOK_NONE;
  std::vector<hu_insn> insns;
  std::map<size_t, ElfReloc> relocs;  // by instruction index
};

}  // namespace

struct BpfObject::Impl {
  ElfObject elf;
  detail::BtfFacts btf;
  detail::LineTable lines;
  std::string license;
  std::map<size_t, CodeSection> code;  // by section index
  std::vector<Function> functions;
  size_t text = 0;  // index of .text, 0 when absent

  Error Bad(const std::string& what) const {
    return MakeError(ErrorCode::kInvalidArgument, elf.origin + ": " + what);
  }
  std::string Where(const CodeSection& sec, size_t insn) const {
    return "insn " + std::to_string(insn) + " of section '" + sec.name + "' (offset " +
           Hex(insn * sizeof(hu_insn)) + ")";
  }
  const Function* FunctionAt(size_t section, size_t start) const {
    for (const auto& f : functions) {
      if (f.section == section && f.start == start) return &f;
    }
    return nullptr;
  }

  Status ReadLicense();
  Status ReadCode();
  Status ReadFunctions();
  Status IndexRelocations();
};

Status BpfObject::Impl::ReadLicense() {
  const ElfSection* sec = elf.FindSection("license");
  if (!sec) return Status::Ok();
  const auto& d = sec->data;
  auto nul = std::find(d.begin(), d.end(), uint8_t{0});
  if (nul == d.end()) return Bad("section 'license' is not a NUL-terminated string");
  license.assign(d.begin(), nul);
  return Status::Ok();
}

Status BpfObject::Impl::ReadCode() {
  for (const auto& s : elf.sections) {
    if (s.index == 0) continue;
    const bool exec = s.type == SHT_PROGBITS && (s.flags & SHF_EXECINSTR);
    const bool prog_name = s.name == kProgPrefix ||
                           (s.name.starts_with(kProgPrefix) && s.name.size() > kProgPrefix.size() &&
                            s.name[kProgPrefix.size()] == '/');
    if (!exec) {
      if (prog_name) return Bad("section '" + s.name + "' holds data, not code");
      continue;
    }
    CodeSection cs;
    cs.index = s.index;
    cs.name = s.name;
    if (prog_name) {
      cs.is_program = true;
      if (s.name.size() > kProgPrefix.size()) {
        std::string hook = s.name.substr(kProgPrefix.size() + 1);
        cs.hook = HookFromName(hook);
        if (cs.hook == HU_HOOK_NONE) {
          return Bad("unknown hook '" + hook + "' in SEC(\"" + s.name + "\"); hooks are " +
                     HookNameList());
        }
      }
    } else if (s.name == ".text") {
      text = s.index;
    } else {
      return Bad("unknown section '" + s.name +
                 "' holds code; programs go in SEC(\"hyperupcall/<hook>\") with hook one of " +
                 HookNameList());
    }
    if (s.data.size() % sizeof(hu_insn) != 0) {
      return Bad("section '" + s.name + "' is " + std::to_string(s.data.size()) +
                 " bytes, not a multiple of 8-byte instructions");
    }
    cs.insns.resize(s.data.size() / sizeof(hu_insn));
    if (!s.data.empty()) memcpy(cs.insns.data(), s.data.data(), s.data.size());
    code.emplace(s.index, std::move(cs));
  }
  return Status::Ok();
}

Status BpfObject::Impl::ReadFunctions() {
  std::map<std::string, size_t> program_names;
  for (const auto& sym : elf.symbols) {
    // An undefined function is a kfunc extern; Link() names it if called.
    if (sym.type != STT_FUNC || sym.shndx == SHN_UNDEF) continue;
    auto it = code.find(sym.shndx);
    if (it == code.end()) {
      return Bad("function '" + sym.name + "' is not in a code section");
    }
    const CodeSection& cs = it->second;
    const uint64_t bytes = cs.insns.size() * sizeof(hu_insn);
    if (sym.value % sizeof(hu_insn) != 0 || sym.size % sizeof(hu_insn) != 0 || sym.size == 0 ||
        sym.value > bytes || sym.size > bytes - sym.value) {
      return Bad("function '" + sym.name + "' at offset " + Hex(sym.value) + ", size " +
                 std::to_string(sym.size) + " does not fit section '" + cs.name + "' (" +
                 std::to_string(bytes) + " bytes) in whole instructions");
    }
    Function f;
    f.section = sym.shndx;
    f.symbol = sym.index;
    f.name = sym.name;
    f.start = sym.value / sizeof(hu_insn);
    f.count = sym.size / sizeof(hu_insn);
    if (cs.is_program && !program_names.emplace(f.name, f.section).second) {
      return Bad("two programs are named '" + f.name + "'");
    }
    functions.push_back(std::move(f));
  }
  for (const auto& [index, cs] : code) {
    if (!cs.is_program || cs.insns.empty()) continue;
    bool any = false;
    for (const auto& f : functions) any = any || f.section == index;
    if (!any) return Bad("section '" + cs.name + "' has code but no function symbol");
  }
  return Status::Ok();
}

Status BpfObject::Impl::IndexRelocations() {
  for (const auto& rs : elf.reloc_sections) {
    const ElfSection& target = elf.sections[rs.target];
    if (target.name == ".maps" && !rs.relocs.empty()) {
      return Bad("relocations in '.maps' (maps of maps) are not supported");
    }
    auto it = code.find(rs.target);
    if (it == code.end()) continue;  // debug info, BTF: not ours to apply
    CodeSection& cs = it->second;
    for (const auto& r : rs.relocs) {
      if (r.offset % sizeof(hu_insn) != 0) {
        return Bad("relocation at offset " + Hex(r.offset) + " of section '" + cs.name +
                   "' is not on an instruction boundary");
      }
      if (r.type != kRelBpf64_64 && r.type != kRelBpf64_32) {
        return Bad("unsupported relocation type " + std::to_string(r.type) + " (" +
                   RelocTypeName(r.type) + ") at offset " + Hex(r.offset) + " of section '" +
                   cs.name + "' against '" + elf.symbols[r.sym].name + "'");
      }
      if (!cs.relocs.emplace(r.offset / sizeof(hu_insn), r).second) {
        return Bad("two relocations at offset " + Hex(r.offset) + " of section '" + cs.name + "'");
      }
    }
  }
  return Status::Ok();
}

Result<BpfObject> BpfObject::FromBytes(std::span<const uint8_t> bytes, std::string origin) {
  auto impl = std::make_shared<Impl>();
  auto elf = detail::ReadElf(bytes, std::move(origin));
  if (!elf) return elf.error();
  impl->elf = std::move(elf).value();
  auto btf = detail::ReadBtfFacts(impl->elf);
  if (!btf) return btf.error();
  impl->btf = std::move(btf).value();
  impl->lines = detail::ReadLineInfo(impl->elf);
  for (Status s : {impl->ReadLicense(), impl->ReadCode()}) {
    if (!s) return s.error();
  }
  if (Status s = impl->ReadFunctions(); !s) return s.error();
  if (Status s = impl->IndexRelocations(); !s) return s.error();
  return BpfObject(std::move(impl));
}

Result<BpfObject> BpfObject::FromFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return MakeError(ErrorCode::kNotFound, "cannot open " + path);
  std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)),
                             std::istreambuf_iterator<char>());
  if (in.bad()) return MakeError(ErrorCode::kInternal, "cannot read " + path);
  return FromBytes(bytes, path);
}

const std::string& BpfObject::origin() const { return impl_->elf.origin; }
const std::string& BpfObject::license() const { return impl_->license; }

std::vector<ProgramInfo> BpfObject::programs() const {
  std::vector<ProgramInfo> out;
  for (const auto& f : impl_->functions) {
    const CodeSection& cs = impl_->code.at(f.section);
    if (cs.is_program) out.push_back({f.name, cs.name, cs.hook});
  }
  return out;
}

namespace {

// Builds one program: the main function, then every subprogram it reaches,
// each appended once, with relocations applied on the way.
class Linker {
 public:
  Linker(const BpfObject::Impl& obj, SymbolResolver* ksyms) : obj_(obj), ksyms_(ksyms) {}

  Result<Program> Run(const Function& main) {
    prog_.info = {main.name, obj_.code.at(main.section).name, obj_.code.at(main.section).hook};
    prog_.license = obj_.license;
    prog_.btf = obj_.btf.raw;
    if (auto it = obj_.btf.ctx_struct.find(main.name); it != obj_.btf.ctx_struct.end())
      prog_.ctx_struct = it->second;
    Append(main);
    for (size_t i = 0; i < prog_.insns.size(); ++i) {
      Status s = Fix(i);
      if (!s) return s.error();
    }
    RecordOrigins();
    return std::move(prog_);
  }

 private:
  struct Origin {
    size_t section;
    size_t insn;
    const Function* func;
  };

  // Program::origins: each slot's function and source line, each function
  // and line stored once.
  void RecordOrigins() {
    std::map<const Function*, uint32_t> func_index;
    std::map<const detail::LineRecord*, int32_t> line_index;
    prog_.line_info_problem = obj_.lines.problem;
    for (const Origin& o : origin_) {
      auto f = func_index.try_emplace(o.func, static_cast<uint32_t>(prog_.functions.size()));
      if (f.second) prog_.functions.push_back(o.func->name);
      Program::Origin out{f.first->second, -1};
      const std::string& section = obj_.code.at(o.section).name;
      if (const detail::LineRecord* r = obj_.lines.At(section, static_cast<uint32_t>(o.insn))) {
        auto l = line_index.try_emplace(r, static_cast<int32_t>(prog_.lines.size()));
        if (l.second) {
          std::string text = r->text;
          text.erase(0, text.find_first_not_of(" \t"));
          std::string file = r->file.substr(r->file.find_last_of('/') + 1);
          prog_.lines.push_back({file, r->line, r->column, text});
        }
        out.line = l.first->second;
      }
      prog_.origins.push_back(out);
    }
  }

  void Append(const Function& f) {
    appended_[&f] = prog_.insns.size();
    prog_.function_starts.push_back({f.name, static_cast<uint32_t>(prog_.insns.size())});
    const CodeSection& cs = obj_.code.at(f.section);
    for (size_t k = 0; k < f.count; ++k) {
      prog_.insns.push_back(cs.insns[f.start + k]);
      origin_.push_back({f.section, f.start + k, &f});
    }
  }

  Error Bad(size_t i, const std::string& what) const {
    const CodeSection& cs = obj_.code.at(origin_[i].section);
    return obj_.Bad("program '" + prog_.info.name + "': " + obj_.Where(cs, origin_[i].insn) + ": " +
                    what);
  }

  Status Fix(size_t& i) {
    const Origin& o = origin_[i];
    const CodeSection& cs = obj_.code.at(o.section);
    auto rel_it = cs.relocs.find(o.insn);
    const ElfReloc* rel = rel_it == cs.relocs.end() ? nullptr : &rel_it->second;
    hu_insn& in = prog_.insns[i];

    if (in.code == kLddw) {
      if (o.insn + 1 >= o.func->start + o.func->count) {
        return Bad(i, "lddw has no second half inside function '" + o.func->name + "'");
      }
      Status s = FixLddw(i, rel);
      ++i;  // the second slot is data
      return s;
    }
    if (in.code == kCall) return FixCall(i, rel);
    if (rel) {
      return Bad(i, "relocation against '" + obj_.elf.symbols[rel->sym].name +
                        "' on an instruction that is neither lddw nor call (opcode " +
                        Hex(in.code) + ")");
    }
    return Status::Ok();
  }

  Status FixLddw(size_t i, const ElfReloc* rel) {
    hu_insn& lo = prog_.insns[i];
    hu_insn& hi = prog_.insns[i + 1];
    if (lo.src != HU_PSEUDO_NONE) {
      return Bad(i, "lddw with src=" + std::to_string(lo.src) +
                        " before relocation; the loader sets it, clang leaves it 0");
    }
    if (!rel) return Status::Ok();  // a plain 64-bit constant
    if (rel->type != kRelBpf64_64) {
      return Bad(i, std::string("relocation ") + RelocTypeName(rel->type) + " on lddw");
    }
    const ElfSymbol& sym = obj_.elf.symbols[rel->sym];
    const uint64_t addend = static_cast<uint32_t>(lo.imm) |
                            (static_cast<uint64_t>(static_cast<uint32_t>(hi.imm)) << 32);

    if (sym.shndx == SHN_UNDEF) return FixKsym(i, sym, addend);
    const ElfSection* sec =
        sym.shndx < obj_.elf.sections.size() ? &obj_.elf.sections[sym.shndx] : nullptr;
    if (sec && sec->name == ".maps") {
      for (const auto& m : obj_.btf.maps) {
        if (m.symbol != sym.index) continue;
        if (addend != 0) return Bad(i, "map '" + m.name + "' referenced at an offset");
        lo.src = HU_PSEUDO_MAP_IDX;
        lo.imm = static_cast<int32_t>(MapIndex(m));
        hi.imm = 0;
        if (prog_.maps.size() > HU_MAX_MAPS) {
          return Bad(i, "more than " + std::to_string(HU_MAX_MAPS) + " maps");
        }
        return Status::Ok();
      }
      return Bad(i, "'" + sym.name + "' in .maps is not a map with a BTF definition");
    }
    if (obj_.code.count(sym.shndx)) {
      return Bad(i, "address of function '" + sym.name +
                        "' (a callback) is not supported; call it directly");
    }
    std::string where = sec ? "section '" + sec->name + "'" : "special section";
    return Bad(i, "global variable '" + sym.name + "' in " + where +
                      ": global data (.data/.rodata/.bss) is not supported; keep state in a map");
  }

  size_t MapIndex(const detail::MapDecl& m) {
    for (size_t k = 0; k < prog_.maps.size(); ++k) {
      if (prog_.maps[k].name == m.name) return k;
    }
    prog_.maps.push_back({m.name, m.def, m.key_type_id, m.value_type_id});
    return prog_.maps.size() - 1;
  }

  Status FixKsym(size_t i, const ElfSymbol& sym, uint64_t addend) {
    if (obj_.btf.kconfig_externs.count(sym.name)) {
      return Bad(i, "__kconfig extern '" + sym.name + "' is not supported");
    }
    uint64_t addr = 0;
    if (!ksyms_) {
      return Bad(i, "ksym '" + sym.name + "' needs a kallsyms file, and none was given");
    }
    auto r = ksyms_->Resolve(sym.name);
    if (r) {
      addr = *r;
    } else if (sym.bind == STB_WEAK && r.error().code == ErrorCode::kNotFound) {
      addr = 0;  // libbpf's rule: an absent __weak ksym reads as 0
    } else {
      // "ksym 'x' not found in FILE"; other failures (no file, hidden or
      // ambiguous addresses) say which extern needed the table.
      const std::string what = r.error().code == ErrorCode::kNotFound
                                   ? "ksym " + r.error().message
                                   : "ksym '" + sym.name + "': " + r.error().message;
      return MakeError(r.error().code,
                       obj_.elf.origin + ": program '" + prog_.info.name + "': " + what);
    }
    const uint64_t value = addr + addend;
    prog_.insns[i].imm = static_cast<int32_t>(static_cast<uint32_t>(value));
    prog_.insns[i + 1].imm = static_cast<int32_t>(static_cast<uint32_t>(value >> 32));
    bool seen = false;
    for (const auto& k : prog_.ksyms) seen = seen || k.name == sym.name;
    if (!seen) prog_.ksyms.push_back({sym.name, addr});
    return Status::Ok();
  }

  Status FixCall(size_t i, const ElfReloc* rel) {
    hu_insn& in = prog_.insns[i];
    const Origin& o = origin_[i];
    if (in.src == HU_CALL_HELPER) {
      if (rel) {
        const ElfSymbol& sym = obj_.elf.symbols[rel->sym];
        return Bad(i, "call to kernel function '" + sym.name +
                          "' (kfunc) is not supported; only hyperupcall helpers can be called");
      }
      return Status::Ok();
    }
    if (in.src != HU_CALL_LOCAL) {
      return Bad(i, "call with src=" + std::to_string(in.src) + " is not supported");
    }
    // The callee's instruction index, computed the way libbpf does: a
    // relocation names a symbol in .text (the function, or .text itself
    // plus imm for static functions); without one, imm is relative to the
    // call inside its own section.
    size_t tsec = o.section;
    int64_t target = static_cast<int64_t>(o.insn) + in.imm + 1;
    if (rel) {
      if (rel->type != kRelBpf64_32) {
        return Bad(i, std::string("relocation ") + RelocTypeName(rel->type) + " on a call");
      }
      const ElfSymbol& sym = obj_.elf.symbols[rel->sym];
      if (sym.shndx == SHN_UNDEF) {
        return Bad(i, "call to kernel function '" + sym.name +
                          "' (kfunc) is not supported; only hyperupcall helpers can be called");
      }
      if (sym.shndx != obj_.text || obj_.text == 0) {
        return Bad(i, "call to '" + sym.name + "', which is not a function in .text");
      }
      if (sym.value % sizeof(hu_insn) != 0) {
        return Bad(i, "call to '" + sym.name + "' at unaligned offset " + Hex(sym.value));
      }
      tsec = obj_.text;
      target = static_cast<int64_t>(sym.value / sizeof(hu_insn)) + in.imm + 1;
    }
    const Function* callee =
        target >= 0 ? obj_.FunctionAt(tsec, static_cast<size_t>(target)) : nullptr;
    if (!callee) {
      return Bad(i, "call target insn " + std::to_string(target) + " of section '" +
                        obj_.code.at(tsec).name + "' is not the start of a function");
    }
    if (tsec != obj_.text && callee != origin_[0].func) {
      return Bad(i, "call to '" + callee->name + "' in section '" + obj_.code.at(tsec).name +
                        "': subprograms must be in .text");
    }
    auto it = appended_.find(callee);
    if (it == appended_.end()) {
      Append(*callee);
      it = appended_.find(callee);
    }
    // Append may have moved the instructions: index again.
    prog_.insns[i].imm =
        static_cast<int32_t>(static_cast<int64_t>(it->second) - static_cast<int64_t>(i) - 1);
    return Status::Ok();
  }

  const BpfObject::Impl& obj_;
  SymbolResolver* ksyms_;
  Program prog_;
  std::vector<Origin> origin_;
  std::map<const Function*, size_t> appended_;
};

}  // namespace

Result<Program> BpfObject::Link(std::string_view name, SymbolResolver* ksyms) const {
  for (const auto& f : impl_->functions) {
    if (f.name == name && impl_->code.at(f.section).is_program) {
      return Linker(*impl_, ksyms).Run(f);
    }
  }
  std::string have;
  for (const auto& p : programs()) have += (have.empty() ? "" : ", ") + p.name;
  return MakeError(ErrorCode::kNotFound, impl_->elf.origin + ": no program '" + std::string(name) +
                                             "' (programs: " + (have.empty() ? "none" : have) +
                                             ")");
}

}  // namespace hu::guest
