#include "btf_maps.hpp"

#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <elf.h>

#include <cstdarg>
#include <cstdio>
#include <memory>
#include <optional>

namespace hu::guest::detail {
namespace {

struct BtfFree {
  void operator()(btf* b) const { btf__free(b); }
};

Error Bad(const ElfObject& elf, const std::string& what) {
  return MakeError(ErrorCode::kInvalidArgument, elf.origin + ": " + what);
}

// Follows typedefs and const/volatile/restrict; BTF can describe a cycle,
// so the walk is bounded.
const btf_type* SkipModsAndTypedefs(const btf* b, uint32_t id) {
  for (int depth = 0; depth < 32; ++depth) {
    const btf_type* t = btf__type_by_id(b, id);
    if (!t) return nullptr;
    if (!btf_is_mod(t) && !btf_is_typedef(t)) return t;
    id = t->type;
  }
  return nullptr;
}

// libbpf explains a parse failure only through its print callback; keep
// the last line so the error message can say what was malformed.
thread_local std::string g_libbpf_last;

int CaptureLibbpf(enum libbpf_print_level, const char* fmt, va_list args) {
  char buf[256];
  int n = vsnprintf(buf, sizeof buf, fmt, args);
  g_libbpf_last.assign(buf);
  while (!g_libbpf_last.empty() && g_libbpf_last.back() == '\n') g_libbpf_last.pop_back();
  if (g_libbpf_last.starts_with("libbpf: ")) g_libbpf_last.erase(0, 8);
  return n;
}

const char* Name(const btf* b, uint32_t off) {
  const char* name = btf__name_by_offset(b, off);
  return name ? name : "";
}

// __uint(name, N): `int (*name)[N]`.
Result<uint32_t> UintAttr(const ElfObject& elf, const btf* b, const std::string& map,
                          const std::string& attr, uint32_t type_id) {
  const btf_type* ptr = SkipModsAndTypedefs(b, type_id);
  const btf_type* arr = ptr && btf_is_ptr(ptr) ? btf__type_by_id(b, ptr->type) : nullptr;
  if (!arr || !btf_is_array(arr)) {
    return Bad(elf, "map '" + map + "': attribute '" + attr + "' is not declared with __uint(" +
                        attr + ", N)");
  }
  return btf_array(arr)->nelems;
}

// __type(name, T): `T *name`; the attribute's value is sizeof(T).
Result<uint32_t> TypeSizeAttr(const ElfObject& elf, const btf* b, const std::string& map,
                              const std::string& attr, uint32_t type_id) {
  const btf_type* ptr = SkipModsAndTypedefs(b, type_id);
  if (!ptr || !btf_is_ptr(ptr)) {
    return Bad(elf, "map '" + map + "': attribute '" + attr + "' is not declared with __type(" +
                        attr + ", T)");
  }
  int64_t size = btf__resolve_size(b, ptr->type);
  if (size <= 0 || size > UINT32_MAX) {
    return Bad(elf, "map '" + map + "': cannot determine the size of the " + attr + " type");
  }
  return static_cast<uint32_t>(size);
}

Status CheckMap(const ElfObject& elf, const std::string& name, const hu_map_def& d) {
  auto bad = [&](const std::string& why) { return Bad(elf, "map '" + name + "': " + why); };
  if (d.type != HU_MAP_HASH && d.type != HU_MAP_ARRAY && d.type != HU_MAP_PERVCPU_ARRAY) {
    return bad("type " + std::to_string(d.type) +
               " is not supported (1 hash, 2 array, 6 per-vCPU array)");
  }
  if (d.key_size == 0 || d.key_size > HU_MAP_MAX_KEY) {
    return bad("key size " + std::to_string(d.key_size) + " is outside 1.." +
               std::to_string(HU_MAP_MAX_KEY));
  }
  if (d.type != HU_MAP_HASH && d.key_size != 4) {
    return bad("array maps take a 4-byte key, not " + std::to_string(d.key_size));
  }
  if (d.value_size == 0 || d.value_size > HU_MAP_MAX_VALUE) {
    return bad("value size " + std::to_string(d.value_size) + " is outside 1.." +
               std::to_string(HU_MAP_MAX_VALUE));
  }
  if (d.max_entries == 0 || d.max_entries > HU_MAP_MAX_ENTRIES) {
    return bad("max_entries " + std::to_string(d.max_entries) + " is outside 1.." +
               std::to_string(HU_MAP_MAX_ENTRIES));
  }
  return Status::Ok();
}

// For the loader's warning when a program's context is not its hook's:
// each function's first parameter, if it points to a named struct.
std::map<std::string, std::string> ContextStructs(const btf* b) {
  std::map<std::string, std::string> out;
  const uint32_t n = btf__type_cnt(b);
  for (uint32_t id = 1; id < n; ++id) {
    const btf_type* fn = btf__type_by_id(b, id);
    if (!fn || !btf_is_func(fn)) continue;
    const btf_type* proto = btf__type_by_id(b, fn->type);
    std::string ctx;
    if (proto && btf_is_func_proto(proto) && btf_vlen(proto) > 0) {
      const btf_type* p = SkipModsAndTypedefs(b, btf_params(proto)[0].type);
      const btf_type* s = p && btf_is_ptr(p) ? SkipModsAndTypedefs(b, p->type) : nullptr;
      if (s && btf_is_struct(s)) ctx = Name(b, s->name_off);
    }
    out[Name(b, fn->name_off)] = ctx;
  }
  return out;
}

Result<MapDecl> DecodeMap(const ElfObject& elf, const btf* b, const btf_var_secinfo& vi,
                          size_t maps_shndx) {
  const btf_type* var = btf__type_by_id(b, vi.type);
  if (!var || !btf_is_var(var)) return Bad(elf, "BTF of .maps names a type that is not a variable");
  MapDecl decl;
  decl.name = Name(b, var->name_off);
  if (decl.name.empty()) return Bad(elf, "a map in .maps has no name in BTF");
  const btf_type* def = SkipModsAndTypedefs(b, var->type);
  if (!def || !btf_is_struct(def)) {
    return Bad(elf, "map '" + decl.name + "' is not a struct of __uint/__type attributes");
  }
  std::optional<uint32_t> key_type_size, value_type_size;
  bool have_type = false, have_entries = false;
  const btf_member* members = btf_members(def);
  for (uint16_t i = 0; i < btf_vlen(def); ++i) {
    const std::string attr = Name(b, members[i].name_off);
    const uint32_t tid = members[i].type;
    Result<uint32_t> v = 0u;
    if (attr == "type" || attr == "key_size" || attr == "value_size" || attr == "max_entries" ||
        attr == "map_flags") {
      v = UintAttr(elf, b, decl.name, attr, tid);
    } else if (attr == "key" || attr == "value") {
      v = TypeSizeAttr(elf, b, decl.name, attr, tid);
    } else {
      return Bad(elf, "map '" + decl.name + "': attribute '" + attr +
                          "' is not supported (type, key, value, key_size, value_size, "
                          "max_entries)");
    }
    if (!v) return v.error();
    if (attr == "type") {
      decl.def.type = *v, have_type = true;
    } else if (attr == "max_entries") {
      decl.def.max_entries = *v, have_entries = true;
    } else if (attr == "map_flags") {
      if (*v != 0) {
        return Bad(elf, "map '" + decl.name + "': map_flags " + std::to_string(*v) +
                            " are not supported (only 0)");
      }
    } else {
      bool is_key = attr.starts_with("key");
      uint32_t& field = is_key ? decl.def.key_size : decl.def.value_size;
      std::optional<uint32_t>& typed = is_key ? key_type_size : value_type_size;
      if (attr == "key" || attr == "value") {
        typed = *v;
        (is_key ? decl.key_type_id : decl.value_type_id) = SkipModsAndTypedefs(b, tid)->type;
      }
      if (field != 0 && field != *v) {
        return Bad(elf, "map '" + decl.name + "': " + (is_key ? "key" : "value") +
                            " size given twice, as " + std::to_string(field) + " and " +
                            std::to_string(*v));
      }
      field = *v;
    }
  }
  if (!have_type) return Bad(elf, "map '" + decl.name + "' has no __uint(type, ...)");
  if (!have_entries) return Bad(elf, "map '" + decl.name + "' has no __uint(max_entries, ...)");
  if (Status s = CheckMap(elf, decl.name, decl.def); !s) return s.error();

  // The instructions refer to the map through its ELF symbol.
  bool found = false;
  for (const auto& sym : elf.symbols) {
    if (sym.shndx == maps_shndx && sym.name == decl.name && sym.type == STT_OBJECT) {
      decl.symbol = sym.index;
      found = true;
      break;
    }
  }
  if (!found) return Bad(elf, "map '" + decl.name + "' has BTF but no symbol in .maps");
  return decl;
}

}  // namespace

Result<BtfFacts> ReadBtfFacts(const ElfObject& elf) {
  BtfFacts facts;
  const ElfSection* maps = elf.FindSection(".maps");
  const ElfSection* legacy = elf.FindSection("maps");
  if (legacy && legacy->size != 0) {
    return Bad(elf,
               "legacy SEC(\"maps\") with struct bpf_map_def is not supported; declare maps "
               "BTF-style in SEC(\".maps\") with __uint/__type");
  }
  const ElfSection* btf_sec = elf.FindSection(".BTF");
  if (!btf_sec) {
    if (maps && maps->size != 0) {
      return Bad(elf, "section '.maps' needs BTF to describe its maps: compile with clang -g");
    }
    return facts;
  }
  if (btf_sec->data.empty() || btf_sec->data.size() > UINT32_MAX) {
    return Bad(elf, "section '.BTF' is empty or too large");
  }
  g_libbpf_last.clear();
  libbpf_print_fn_t old_print = libbpf_set_print(CaptureLibbpf);
  std::unique_ptr<btf, BtfFree> b(
      btf__new(btf_sec->data.data(), static_cast<uint32_t>(btf_sec->data.size())));
  libbpf_set_print(old_print);
  if (libbpf_get_error(b.get()) || !b) {
    b.release();  // an error pointer or null, nothing to free
    return Bad(elf, "section '.BTF' is not valid BTF" +
                        (g_libbpf_last.empty() ? "" : ": " + g_libbpf_last));
  }

  facts.raw = btf_sec->data;
  facts.ctx_struct = ContextStructs(b.get());

  if (int32_t id = btf__find_by_name_kind(b.get(), ".kconfig", BTF_KIND_DATASEC); id > 0) {
    const btf_type* sec = btf__type_by_id(b.get(), id);
    const btf_var_secinfo* vi = btf_var_secinfos(sec);
    for (uint16_t i = 0; i < btf_vlen(sec); ++i) {
      const btf_type* var = btf__type_by_id(b.get(), vi[i].type);
      if (var) facts.kconfig_externs.insert(Name(b.get(), var->name_off));
    }
  }

  if (!maps) return facts;
  int32_t id = btf__find_by_name_kind(b.get(), ".maps", BTF_KIND_DATASEC);
  if (id <= 0) {
    if (maps->size != 0) return Bad(elf, "section '.maps' has no BTF description (DATASEC)");
    return facts;
  }
  const btf_type* sec = btf__type_by_id(b.get(), id);
  const btf_var_secinfo* vi = btf_var_secinfos(sec);
  for (uint16_t i = 0; i < btf_vlen(sec); ++i) {
    auto decl = DecodeMap(elf, b.get(), vi[i], maps->index);
    if (!decl) return decl.error();
    facts.maps.push_back(std::move(decl).value());
  }
  return facts;
}

}  // namespace hu::guest::detail
