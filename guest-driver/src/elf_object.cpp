#include "elf_object.hpp"

#include <gelf.h>
#include <libelf.h>

#include <memory>

namespace hu::guest::detail {
namespace {

#ifndef EM_BPF
#define EM_BPF 247
#endif

struct ElfCloser {
  void operator()(Elf* elf) const { elf_end(elf); }
};

Error Bad(const std::string& origin, const std::string& what) {
  return MakeError(ErrorCode::kInvalidArgument, origin + ": " + what);
}

std::string LibelfMessage() {
  const char* msg = elf_errmsg(-1);
  return msg ? msg : "unknown libelf error";
}

std::string SectionLabel(size_t index, const std::string& name) {
  return "section " + std::to_string(index) + (name.empty() ? "" : " '" + name + "'");
}

Result<std::vector<ElfSymbol>> ReadSymbols(Elf* elf, const ElfObject& obj, const ElfSection& sec,
                                           Elf_Scn* scn) {
  const std::string label = SectionLabel(sec.index, sec.name);
  if (sec.link == 0 || sec.link >= obj.sections.size() ||
      obj.sections[sec.link].type != SHT_STRTAB) {
    return Bad(obj.origin,
               label + ": sh_link " + std::to_string(sec.link) + " is not a string table");
  }
  GElf_Shdr shdr;
  if (!gelf_getshdr(scn, &shdr)) return Bad(obj.origin, label + ": " + LibelfMessage());
  if (shdr.sh_entsize != sizeof(Elf64_Sym) || shdr.sh_size % sizeof(Elf64_Sym) != 0) {
    return Bad(obj.origin, label + ": symbol entry size " + std::to_string(shdr.sh_entsize) +
                               " or table size " + std::to_string(shdr.sh_size) +
                               " is not a whole number of Elf64_Sym");
  }
  Elf_Data* data = elf_getdata(scn, nullptr);
  if (!data || data->d_size != shdr.sh_size) {
    return Bad(obj.origin, label + ": cannot read symbols: " + LibelfMessage());
  }
  std::vector<ElfSymbol> out;
  const size_t count = shdr.sh_size / sizeof(Elf64_Sym);
  out.reserve(count);
  for (size_t i = 0; i < count; ++i) {
    GElf_Sym sym;
    if (!gelf_getsym(data, static_cast<int>(i), &sym)) {
      return Bad(obj.origin, "symbol " + std::to_string(i) + ": " + LibelfMessage());
    }
    ElfSymbol s;
    s.index = i;
    const char* name = elf_strptr(elf, sec.link, sym.st_name);
    if (!name) {
      return Bad(obj.origin, "symbol " + std::to_string(i) + ": name offset " +
                                 std::to_string(sym.st_name) + " is outside the string table");
    }
    s.name = name;
    s.value = sym.st_value;
    s.size = sym.st_size;
    s.shndx = sym.st_shndx;
    s.type = GELF_ST_TYPE(sym.st_info);
    s.bind = GELF_ST_BIND(sym.st_info);
    if (s.shndx != SHN_UNDEF && s.shndx < SHN_LORESERVE && s.shndx >= obj.sections.size()) {
      return Bad(obj.origin, "symbol " + std::to_string(i) + " '" + s.name + "': section index " +
                                 std::to_string(s.shndx) + " does not exist");
    }
    out.push_back(std::move(s));
  }
  return out;
}

Result<ElfRelocSection> ReadRelocs(const ElfObject& obj, const ElfSection& sec, Elf_Scn* scn,
                                   size_t symtab_index) {
  const std::string label = SectionLabel(sec.index, sec.name);
  if (sec.link != symtab_index) {
    return Bad(obj.origin,
               label + ": sh_link " + std::to_string(sec.link) + " is not the symbol table");
  }
  if (sec.info == 0 || sec.info >= obj.sections.size()) {
    return Bad(obj.origin,
               label + ": target section " + std::to_string(sec.info) + " does not exist");
  }
  GElf_Shdr shdr;
  if (!gelf_getshdr(scn, &shdr)) return Bad(obj.origin, label + ": " + LibelfMessage());
  if (shdr.sh_entsize != sizeof(Elf64_Rel) || shdr.sh_size % sizeof(Elf64_Rel) != 0) {
    return Bad(obj.origin, label + ": relocation entry size " + std::to_string(shdr.sh_entsize) +
                               " is not sizeof(Elf64_Rel)");
  }
  Elf_Data* data = elf_getdata(scn, nullptr);
  if (!data || data->d_size != shdr.sh_size) {
    return Bad(obj.origin, label + ": cannot read relocations: " + LibelfMessage());
  }
  ElfRelocSection out;
  out.section = sec.index;
  out.target = sec.info;
  const ElfSection& target = obj.sections[sec.info];
  const size_t count = shdr.sh_size / sizeof(Elf64_Rel);
  for (size_t i = 0; i < count; ++i) {
    GElf_Rel rel;
    if (!gelf_getrel(data, static_cast<int>(i), &rel)) {
      return Bad(obj.origin, label + ": relocation " + std::to_string(i) + ": " + LibelfMessage());
    }
    ElfReloc r;
    r.offset = rel.r_offset;
    r.sym = static_cast<uint32_t>(GELF_R_SYM(rel.r_info));
    r.type = static_cast<uint32_t>(GELF_R_TYPE(rel.r_info));
    if (r.offset >= target.size) {
      return Bad(obj.origin, label + ": relocation " + std::to_string(i) + " at offset " +
                                 std::to_string(r.offset) + " is past the end of section '" +
                                 target.name + "' (" + std::to_string(target.size) + " bytes)");
    }
    if (r.sym >= obj.symbols.size()) {
      return Bad(obj.origin, label + ": relocation " + std::to_string(i) + " names symbol " +
                                 std::to_string(r.sym) + ", but there are only " +
                                 std::to_string(obj.symbols.size()));
    }
    out.relocs.push_back(r);
  }
  return out;
}

}  // namespace

const ElfSection* ElfObject::FindSection(std::string_view name) const {
  for (const auto& s : sections) {
    if (s.index != 0 && s.name == name) return &s;
  }
  return nullptr;
}

Result<ElfObject> ReadElf(std::span<const uint8_t> bytes, std::string origin) {
  ElfObject obj;
  obj.origin = std::move(origin);
  if (elf_version(EV_CURRENT) == EV_NONE) {
    return MakeError(ErrorCode::kInternal, "libelf: " + LibelfMessage());
  }
  if (bytes.size() < EI_NIDENT || bytes[EI_MAG0] != ELFMAG0 || bytes[EI_MAG1] != ELFMAG1 ||
      bytes[EI_MAG2] != ELFMAG2 || bytes[EI_MAG3] != ELFMAG3) {
    return Bad(obj.origin, "not an ELF file");
  }
  if (bytes[EI_CLASS] != ELFCLASS64 || bytes[EI_DATA] != ELFDATA2LSB) {
    return Bad(obj.origin,
               "not a 64-bit little-endian ELF object (compile with clang -target bpf)");
  }
  // libelf wants a mutable buffer even for reading; give it its own copy.
  std::vector<char> image(bytes.begin(), bytes.end());
  std::unique_ptr<Elf, ElfCloser> elf(elf_memory(image.data(), image.size()));
  if (!elf || elf_kind(elf.get()) != ELF_K_ELF) {
    return Bad(obj.origin, "cannot parse ELF: " + LibelfMessage());
  }
  GElf_Ehdr ehdr;
  if (!gelf_getehdr(elf.get(), &ehdr)) return Bad(obj.origin, "bad ELF header: " + LibelfMessage());
  if (ehdr.e_machine != EM_BPF) {
    return Bad(obj.origin, "ELF machine " + std::to_string(ehdr.e_machine) +
                               " is not BPF (247): compile with clang -target bpf");
  }
  if (ehdr.e_type != ET_REL) {
    return Bad(obj.origin, "ELF type " + std::to_string(ehdr.e_type) +
                               " is not a relocatable object (clang -c output)");
  }
  size_t shnum = 0, shstrndx = 0;
  if (elf_getshdrnum(elf.get(), &shnum) != 0 || elf_getshdrstrndx(elf.get(), &shstrndx) != 0) {
    return Bad(obj.origin, "bad section header table: " + LibelfMessage());
  }
  if (shstrndx == 0 || shstrndx >= shnum) {
    return Bad(obj.origin, "section name table index " + std::to_string(shstrndx) +
                               " is out of range (" + std::to_string(shnum) + " sections)");
  }

  std::vector<Elf_Scn*> scns(shnum, nullptr);
  obj.sections.resize(shnum);
  for (size_t i = 1; i < shnum; ++i) {
    Elf_Scn* scn = elf_getscn(elf.get(), i);
    GElf_Shdr shdr;
    if (!scn || !gelf_getshdr(scn, &shdr)) {
      return Bad(obj.origin, "section " + std::to_string(i) + ": " + LibelfMessage());
    }
    scns[i] = scn;
    ElfSection& s = obj.sections[i];
    s.index = i;
    const char* name = elf_strptr(elf.get(), shstrndx, shdr.sh_name);
    if (!name) {
      return Bad(obj.origin, "section " + std::to_string(i) + ": name offset " +
                                 std::to_string(shdr.sh_name) + " is outside the name table");
    }
    s.name = name;
    s.type = shdr.sh_type;
    s.flags = shdr.sh_flags;
    s.link = shdr.sh_link;
    s.info = shdr.sh_info;
    s.size = shdr.sh_size;
    if (s.type == SHT_NOBITS) continue;
    if (shdr.sh_offset > bytes.size() || shdr.sh_size > bytes.size() - shdr.sh_offset) {
      return Bad(obj.origin, SectionLabel(i, s.name) + ": bytes " + std::to_string(shdr.sh_offset) +
                                 "+" + std::to_string(shdr.sh_size) + " lie outside the file (" +
                                 std::to_string(bytes.size()) + " bytes)");
    }
    // Raw bytes straight from the image we checked above: no libelf
    // type conversion, and the loader decodes them itself.
    s.data.assign(bytes.begin() + static_cast<ptrdiff_t>(shdr.sh_offset),
                  bytes.begin() + static_cast<ptrdiff_t>(shdr.sh_offset + shdr.sh_size));
  }

  size_t symtab_index = 0;
  for (const auto& s : obj.sections) {
    if (s.index == 0 || s.type != SHT_SYMTAB) continue;
    if (symtab_index != 0) return Bad(obj.origin, "more than one symbol table");
    symtab_index = s.index;
  }
  if (symtab_index == 0) return Bad(obj.origin, "no symbol table (was the object stripped?)");
  auto syms = ReadSymbols(elf.get(), obj, obj.sections[symtab_index], scns[symtab_index]);
  if (!syms) return syms.error();
  obj.symbols = std::move(syms).value();

  for (const auto& s : obj.sections) {
    if (s.index == 0) continue;
    if (s.type == SHT_RELA) {
      return Bad(obj.origin,
                 SectionLabel(s.index, s.name) + ": RELA relocations are not used by BPF objects");
    }
    if (s.type != SHT_REL) continue;
    auto rel = ReadRelocs(obj, s, scns[s.index], symtab_index);
    if (!rel) return rel.error();
    obj.reloc_sections.push_back(std::move(rel).value());
  }
  return obj;
}

}  // namespace hu::guest::detail
