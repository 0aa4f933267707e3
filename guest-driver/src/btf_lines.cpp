#include "btf_lines.hpp"

#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>

#include <algorithm>
#include <cstring>
#include <memory>

namespace hu::guest::detail {
namespace {

struct BtfFree {
  void operator()(btf* b) const { btf__free(b); }
};
struct BtfExtFree {
  void operator()(btf_ext* e) const { btf_ext__free(e); }
};

// The fixed part of the .BTF.ext header (uapi has no struct for it; this is
// libbpf's struct btf_ext_header up to the line info).
struct ExtHeader {
  uint16_t magic;
  uint8_t version;
  uint8_t flags;
  uint32_t hdr_len;
  uint32_t func_info_off;
  uint32_t func_info_len;
  uint32_t line_info_off;
  uint32_t line_info_len;
};

uint32_t U32(const uint8_t* p) {
  uint32_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

int Quiet(enum libbpf_print_level, const char*, va_list) { return 0; }

LineTable Fail(std::string why) {
  LineTable t;
  t.problem = std::move(why);
  return t;
}

}  // namespace

const LineRecord* LineTable::At(const std::string& section, uint32_t insn) const {
  auto it = sections.find(section);
  if (it == sections.end() || it->second.empty()) return nullptr;
  const auto& recs = it->second;
  auto after = std::upper_bound(recs.begin(), recs.end(), insn,
                                [](uint32_t i, const LineRecord& r) { return i < r.insn; });
  return after == recs.begin() ? nullptr : &*(after - 1);
}

LineTable ReadLineInfo(const ElfObject& elf) {
  const ElfSection* btf_sec = elf.FindSection(".BTF");
  const ElfSection* ext_sec = elf.FindSection(".BTF.ext");
  if (!btf_sec || !ext_sec) return {};
  const auto& ext = ext_sec->data;
  if (btf_sec->data.size() > UINT32_MAX || ext.size() > UINT32_MAX ||
      ext.size() < sizeof(ExtHeader))
    return Fail("section '.BTF.ext' is too small or too large");

  // libbpf checks both sections (magic, version, header and record sizes);
  // its complaints would go to stderr, the reason is ours to give.
  libbpf_print_fn_t old = libbpf_set_print(Quiet);
  std::unique_ptr<btf, BtfFree> b(
      btf__new(btf_sec->data.data(), static_cast<uint32_t>(btf_sec->data.size())));
  if (libbpf_get_error(b.get())) b.release();
  std::unique_ptr<btf_ext, BtfExtFree> e(
      btf_ext__new(ext.data(), static_cast<uint32_t>(ext.size())));
  if (libbpf_get_error(e.get())) e.release();
  libbpf_set_print(old);
  if (!b) return Fail("section '.BTF' is not valid BTF");
  if (!e) return Fail("section '.BTF.ext' is not valid BTF.ext");

  ExtHeader h;
  std::memcpy(&h, ext.data(), sizeof h);
  if (h.hdr_len < sizeof h || h.hdr_len > ext.size())
    return Fail("section '.BTF.ext': header length " + std::to_string(h.hdr_len));
  const uint64_t begin = uint64_t{h.hdr_len} + h.line_info_off;
  const uint64_t end = begin + h.line_info_len;
  if (h.line_info_len == 0) return {};
  if (end > ext.size() || h.line_info_len < 4)
    return Fail("section '.BTF.ext': line info outside the section");
  const uint8_t* p = ext.data() + begin;
  const uint8_t* const stop = ext.data() + end;
  const uint32_t rec_size = U32(p);
  p += 4;
  if (rec_size < sizeof(bpf_line_info))
    return Fail("section '.BTF.ext': line info records of " + std::to_string(rec_size) + " bytes");

  auto str = [&](uint32_t off) {
    const char* s = btf__name_by_offset(b.get(), off);
    return std::string(s ? s : "");
  };
  LineTable t;
  while (p < stop) {
    if (stop - p < 8) return Fail("section '.BTF.ext': truncated line info");
    const std::string section = str(U32(p));
    const uint32_t n = U32(p + 4);
    p += 8;
    if (static_cast<uint64_t>(stop - p) < uint64_t{n} * rec_size)
      return Fail("section '.BTF.ext': line info of '" + section + "' runs past its end");
    auto& recs = t.sections[section];
    for (uint32_t i = 0; i < n; i++, p += rec_size) {
      bpf_line_info li;
      std::memcpy(&li, p, sizeof li);
      // Line 0: code clang made up (no line of its own); the line before
      // stays in effect.
      if (li.insn_off % 8 != 0 || BPF_LINE_INFO_LINE_NUM(li.line_col) == 0) continue;
      recs.push_back({li.insn_off / 8, BPF_LINE_INFO_LINE_NUM(li.line_col),
                      BPF_LINE_INFO_LINE_COL(li.line_col), str(li.file_name_off),
                      str(li.line_off)});
    }
    std::stable_sort(recs.begin(), recs.end(),
                     [](const LineRecord& a, const LineRecord& c) { return a.insn < c.insn; });
  }
  return t;
}

}  // namespace hu::guest::detail
