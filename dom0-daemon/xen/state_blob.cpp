#include "state_blob.hpp"

#include <fmt/format.h>

#include <cstring>
#include <string>

namespace hu::xen {
namespace {

constexpr size_t Pad8(size_t n) { return (n + 7) & ~size_t{7}; }

class Reader {
 public:
  explicit Reader(std::span<const uint8_t> b) : b_(b) {}
  size_t pos() const { return pos_; }
  size_t left() const { return b_.size() - pos_; }

  // Copies len bytes at the cursor into dst; `what` names them on error.
  Status Get(void* dst, size_t len, const std::string& what) {
    if (len > left()) {
      return MakeError(ErrorCode::kInvalidArgument,
                       fmt::format("state blob: {} ({} bytes at offset {}) runs past its end ({})",
                                   what, len, pos_, b_.size()));
    }
    if (len) std::memcpy(dst, b_.data() + pos_, len);
    pos_ += len;
    return Status::Ok();
  }
  Status Bytes(std::vector<uint8_t>& out, size_t len, const std::string& what) {
    out.resize(len);
    return Get(out.data(), len, what);
  }
  Status Pad(const std::string& what) {
    size_t n = Pad8(pos_) - pos_;
    uint8_t pad[8] = {};
    if (auto st = Get(pad, n, what + " padding"); !st) return st;
    for (size_t i = 0; i < n; i++) {
      if (pad[i]) {
        return MakeError(
            ErrorCode::kInvalidArgument,
            fmt::format("state blob: {} padding at offset {} is not zero", what, pos_ - n + i));
      }
    }
    return Status::Ok();
  }

 private:
  std::span<const uint8_t> b_;
  size_t pos_ = 0;
};

Error Bad(const std::string& msg) {
  return MakeError(ErrorCode::kInvalidArgument, "state blob: " + msg);
}

Status ParseMap(Reader& r, const std::string& where, SavedMap& m) {
  hu_xen_state_map h{};
  if (auto st = r.Get(&h, sizeof(h), where + " header"); !st) return st;
  if (h.pad) return Bad(where + ": reserved field is not zero");
  if (h.key_size != m.def.key_size) {
    return Bad(fmt::format("{}: key size {} differs from its definition's {}", where, h.key_size,
                           m.def.key_size));
  }
  if (m.def.value_size == 0 || h.value_size == 0 || h.value_size % m.def.value_size) {
    return Bad(fmt::format("{}: value size {} is not a multiple of its definition's {}", where,
                           h.value_size, m.def.value_size));
  }
  if (h.nentries > m.def.max_entries) {
    return Bad(fmt::format("{}: {} entries, more than its {} slots", where, h.nentries,
                           m.def.max_entries));
  }
  uint64_t need = uint64_t{h.nentries} * (h.key_size + h.value_size);
  if (need > r.left()) {
    return Bad(fmt::format("{}: {} entries of {} bytes run past the end", where, h.nentries,
                           h.key_size + h.value_size));
  }
  m.value_size = h.value_size;
  m.entries.resize(h.nentries);
  for (uint32_t i = 0; i < h.nentries; i++) {
    auto e = fmt::format("{} entry {}", where, i);
    if (auto st = r.Bytes(m.entries[i].key, h.key_size, e + " key"); !st) return st;
    if (auto st = r.Bytes(m.entries[i].value, h.value_size, e + " value"); !st) return st;
  }
  return r.Pad(where);
}

Status ParseProgram(Reader& r, uint32_t index, SavedProgram& p) {
  auto where = fmt::format("program {}", index);
  size_t start = r.pos();
  hu_xen_state_prog h{};
  if (auto st = r.Get(&h, sizeof(h), where + " header"); !st) return st;
  if (h.size % 8 || h.size < sizeof(h) || h.size > r.left() + sizeof(h)) {
    return Bad(fmt::format("{}: size {} is not a multiple of 8 within the blob", where, h.size));
  }
  if (h.id == 0) return Bad(where + ": id 0");
  if (h.hook == HU_HOOK_NONE || h.hook >= HU_HOOK_MAX) {
    return Bad(fmt::format("{}: unknown hook {}", where, h.hook));
  }
  if (h.ninsns == 0 || h.ninsns > HU_MAX_INSNS_DEFAULT) {
    return Bad(fmt::format("{}: {} instructions (1..{})", where, h.ninsns, HU_MAX_INSNS_DEFAULT));
  }
  if (h.nmaps > HU_MAX_MAPS || h.nregions > HU_MAX_REGIONS ||
      h.annotation_len > HU_XEN_ANNOTATION_MAX) {
    return Bad(fmt::format("{}: {} maps, {} regions, {} annotation bytes exceed {}, {}, {}", where,
                           h.nmaps, h.nregions, h.annotation_len, HU_MAX_MAPS, HU_MAX_REGIONS,
                           HU_XEN_ANNOTATION_MAX));
  }
  if (h.jit & ~(HU_XEN_JIT | HU_XEN_JIT_PLAIN)) {
    return Bad(fmt::format("{}: unknown engine flags {:#x}", where, h.jit));
  }
  if (h.max_grace_us && h.hook != HU_HOOK_SCHED_PREEMPT) {
    return Bad(fmt::format("{}: a grace cap ({} us) on a hook other than sched.preempt", where,
                           h.max_grace_us));
  }
  p.id = h.id;
  p.hook = static_cast<hu_hook_id>(h.hook);
  p.budget = h.budget;
  p.max_grace_us = h.max_grace_us;
  p.jit = h.jit;
  p.stats = ProgStats{h.runs,   h.insns,       h.run_ns,   h.budget_aborts,
                      h.errors, h.last_result, h.last_err, h.last_err_pc};
  p.insns.resize(h.ninsns);
  std::vector<hu_xen_map_def> defs(h.nmaps);
  p.regions.resize(h.nregions);
  static_assert(sizeof(hu_insn) == 8 && sizeof(hu_region) == sizeof(hu_xen_region));
  if (auto st = r.Get(p.insns.data(), h.ninsns * sizeof(hu_insn), where + " instructions"); !st)
    return st;
  if (auto st = r.Get(defs.data(), h.nmaps * sizeof(hu_xen_map_def), where + " map definitions");
      !st)
    return st;
  if (auto st = r.Get(p.regions.data(), h.nregions * sizeof(hu_region), where + " regions"); !st)
    return st;
  if (auto st = r.Bytes(p.annotation, h.annotation_len, where + " annotation"); !st) return st;
  if (auto st = r.Pad(where + " annotation"); !st) return st;
  p.maps.resize(h.nmaps);
  for (uint32_t i = 0; i < h.nmaps; i++) {
    p.maps[i].def =
        hu_map_def{defs[i].type, defs[i].key_size, defs[i].value_size, defs[i].max_entries};
    if (auto st = ParseMap(r, fmt::format("{} map {}", where, i), p.maps[i]); !st) return st;
  }
  if (r.pos() - start != h.size) {
    return Bad(fmt::format("{}: says {} bytes, holds {}", where, h.size, r.pos() - start));
  }
  return Status::Ok();
}

void Put(std::vector<uint8_t>& out, const void* p, size_t n) {
  const auto* b = static_cast<const uint8_t*>(p);
  out.insert(out.end(), b, b + n);
}
void PutPad(std::vector<uint8_t>& out) { out.resize(Pad8(out.size()), 0); }

}  // namespace

Result<SavedState> ParseState(std::span<const uint8_t> blob) {
  if (blob.size() > HU_XEN_STATE_MAX) {
    return Bad(fmt::format("{} bytes, more than the {} Xen loads", blob.size(), HU_XEN_STATE_MAX));
  }
  Reader r(blob);
  hu_xen_state h{};
  if (auto st = r.Get(&h, sizeof(h), "header"); !st) return st.error();
  if (h.magic != HU_XEN_STATE_MAGIC) return Bad(fmt::format("bad magic {:#x}", h.magic));
  if (h.version != HU_XEN_STATE_VERSION) {
    return MakeError(ErrorCode::kUnimplemented,
                     fmt::format("state blob: version {}, this side reads version {}", h.version,
                                 HU_XEN_STATE_VERSION));
  }
  if (h.size != blob.size()) {
    return Bad(fmt::format("header says {} bytes, the blob has {}", h.size, blob.size()));
  }
  if (h.flags || h.pad) return Bad("reserved header fields are not zero");
  // Each program takes at least its header: a count beyond that is a lie.
  if (h.nprogs > blob.size() / sizeof(hu_xen_state_prog)) {
    return Bad(fmt::format("{} programs cannot fit in {} bytes", h.nprogs, blob.size()));
  }
  SavedState s;
  s.programs.resize(h.nprogs);
  for (uint32_t i = 0; i < h.nprogs; i++) {
    if (auto st = ParseProgram(r, i, s.programs[i]); !st) return st.error();
    for (uint32_t j = 0; j < i; j++) {
      if (s.programs[j].id == s.programs[i].id) {
        return Bad(fmt::format("programs {} and {} share id {}", j, i, s.programs[i].id));
      }
    }
  }
  if (r.left()) return Bad(fmt::format("{} bytes after the last program", r.left()));
  return s;
}

std::vector<uint8_t> SerializeState(const SavedState& s) {
  std::vector<uint8_t> out(sizeof(hu_xen_state), 0);
  for (const auto& p : s.programs) {
    size_t start = out.size();
    out.resize(start + sizeof(hu_xen_state_prog), 0);
    Put(out, p.insns.data(), p.insns.size() * sizeof(hu_insn));
    for (const auto& m : p.maps) {
      hu_xen_map_def d{m.def.type, m.def.key_size, m.def.value_size, m.def.max_entries};
      Put(out, &d, sizeof(d));
    }
    Put(out, p.regions.data(), p.regions.size() * sizeof(hu_region));
    Put(out, p.annotation.data(), p.annotation.size());
    PutPad(out);
    for (const auto& m : p.maps) {
      hu_xen_state_map mh{static_cast<uint32_t>(m.entries.size()), m.def.key_size, m.value_size, 0};
      Put(out, &mh, sizeof(mh));
      for (const auto& e : m.entries) {
        Put(out, e.key.data(), e.key.size());
        Put(out, e.value.data(), e.value.size());
      }
      PutPad(out);
    }
    hu_xen_state_prog h{};
    h.size = static_cast<uint32_t>(out.size() - start);
    h.hook = p.hook;
    h.id = p.id;
    h.budget = p.budget;
    h.max_grace_us = p.max_grace_us;
    h.jit = p.jit;
    h.ninsns = static_cast<uint32_t>(p.insns.size());
    h.nmaps = static_cast<uint32_t>(p.maps.size());
    h.nregions = static_cast<uint32_t>(p.regions.size());
    h.annotation_len = static_cast<uint32_t>(p.annotation.size());
    h.runs = p.stats.runs;
    h.insns = p.stats.insns;
    h.run_ns = p.stats.run_ns;
    h.budget_aborts = p.stats.budget_aborts;
    h.errors = p.stats.errors;
    h.last_result = p.stats.last_result;
    h.last_err = p.stats.last_err;
    h.last_err_pc = p.stats.last_err_pc;
    std::memcpy(out.data() + start, &h, sizeof(h));
  }
  hu_xen_state h{HU_XEN_STATE_MAGIC,
                 HU_XEN_STATE_VERSION,
                 static_cast<uint32_t>(out.size()),
                 static_cast<uint32_t>(s.programs.size()),
                 0,
                 0};
  std::memcpy(out.data(), &h, sizeof(h));
  return out;
}

}  // namespace hu::xen
