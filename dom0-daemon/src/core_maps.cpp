// The operator's map tools: dump, lookup, update, delete on any domain's
// installed program. Backends store per-vCPU arrays their own way (the sim
// answers one entry per index and vCPU with the vCPU number after the key,
// Xen one entry per index with every vCPU's value in a row); operators see
// one row per index with a value per vCPU, and an update of one vCPU's
// value is written back in the form the backend answered.
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstring>

#include "core.hpp"
#include "names.hpp"

namespace hu::daemon {

namespace {

std::string HexOf(const std::vector<uint8_t>& b) {
  std::string s;
  for (uint8_t c : b) s += fmt::format("{:02x}", c);
  return s;
}

bool PerVcpu(const MapSpec& m) { return m.def.type == HU_MAP_PERVCPU_ARRAY; }

// The sim's form: key = index (4 bytes) + vCPU (4 bytes).
bool KeyCarriesVcpu(const MapSpec& m, const MapEntry& e) {
  return PerVcpu(m) && e.key.size() == m.def.key_size + 4;
}

std::vector<MapRow> Rows(const MapSpec& m, const std::vector<MapEntry>& entries) {
  std::vector<MapRow> rows;
  if (!PerVcpu(m)) {
    for (const auto& e : entries) rows.push_back(MapRow{e.key, e.value, {}});
    return rows;
  }
  const size_t vs = m.def.value_size;
  for (const auto& e : entries) {
    if (KeyCarriesVcpu(m, e)) {
      std::vector<uint8_t> key(e.key.begin(), e.key.begin() + m.def.key_size);
      uint32_t vcpu = 0;
      std::memcpy(&vcpu, e.key.data() + m.def.key_size, 4);
      auto it =
          std::find_if(rows.begin(), rows.end(), [&](const MapRow& r) { return r.key == key; });
      if (it == rows.end()) {
        rows.push_back(MapRow{key, {}, {}});
        it = rows.end() - 1;
      }
      if (it->vcpu_values.size() <= vcpu) it->vcpu_values.resize(vcpu + 1);
      it->vcpu_values[vcpu] = e.value;
    } else {
      MapRow r{e.key, {}, {}};
      for (size_t off = 0; vs && off + vs <= e.value.size(); off += vs)
        r.vcpu_values.emplace_back(e.value.begin() + off, e.value.begin() + off + vs);
      rows.push_back(std::move(r));
    }
  }
  return rows;
}

}  // namespace

Result<MapView> Core::DumpView(const MapSelector& sel) {
  auto found = FindMap(std::nullopt, sel.prog_id, sel.name, sel.index);
  if (!found) return found.error();
  auto entries = backend_.MapDump(found->domid, sel.prog_id, found->index);
  if (!entries) return entries.error();
  MapView v;
  v.domid = found->domid;
  v.prog_id = sel.prog_id;
  v.index = found->index;
  v.spec = found->spec;
  v.btf = std::move(found->btf);
  v.rows = Rows(v.spec, *entries);
  return v;
}

Result<MapView> Core::MapDump(const MapSelector& sel) { return DumpView(sel); }

Result<MapView> Core::MapLookup(const MapSelector& sel, const std::vector<uint8_t>& key) {
  auto v = DumpView(sel);
  if (!v) return v.error();
  if (key.size() != v->spec.def.key_size) {
    return MakeError(ErrorCode::kInvalidArgument,
                     fmt::format("map '{}' has {}-byte keys; the key given has {} bytes",
                                 v->spec.name, v->spec.def.key_size, key.size()));
  }
  std::vector<MapRow> hit;
  for (auto& r : v->rows)
    if (r.key == key) hit.push_back(std::move(r));
  if (hit.empty()) {
    return MakeError(ErrorCode::kNotFound,
                     fmt::format("map '{}' has no key {}", v->spec.name, HexOf(key)));
  }
  v->rows = std::move(hit);
  return v;
}

Result<MapView> Core::MapUpdate(const MapSelector& sel, const std::vector<uint8_t>& key,
                                const std::vector<uint8_t>& value, std::optional<uint32_t> vcpu) {
  auto found = FindMap(std::nullopt, sel.prog_id, sel.name, sel.index);
  if (!found) return found.error();
  const MapSpec& m = found->spec;
  if (key.size() != m.def.key_size || value.size() != m.def.value_size) {
    return MakeError(
        ErrorCode::kInvalidArgument,
        fmt::format("map '{}' takes a {}-byte key and a {}-byte value; given {} and {}", m.name,
                    m.def.key_size, m.def.value_size, key.size(), value.size()));
  }
  if (vcpu && !PerVcpu(m)) {
    return MakeError(ErrorCode::kInvalidArgument,
                     fmt::format("map '{}' is not per-vCPU: no vCPU to choose", m.name));
  }
  std::vector<MapEntry> writes;
  if (!PerVcpu(m)) {
    writes.push_back(MapEntry{key, value});
  } else {
    // Per-vCPU: written back in the form the backend answers in.
    auto entries = backend_.MapDump(found->domid, sel.prog_id, found->index);
    if (!entries) return entries.error();
    bool any = false;
    for (const auto& e : *entries) {
      if (!std::equal(key.begin(), key.end(), e.key.begin(),
                      e.key.begin() + std::min(e.key.size(), key.size())) ||
          e.key.size() < key.size()) {
        continue;
      }
      any = true;
      if (KeyCarriesVcpu(m, e)) {
        uint32_t v = 0;
        std::memcpy(&v, e.key.data() + key.size(), 4);
        if (!vcpu || *vcpu == v) writes.push_back(MapEntry{e.key, value});
      } else {
        MapEntry all = e;
        const size_t n = m.def.value_size ? all.value.size() / m.def.value_size : 0;
        if (vcpu && *vcpu >= n) break;
        for (size_t i = 0; i < n; ++i)
          if (!vcpu || *vcpu == i)
            std::copy(value.begin(), value.end(), all.value.begin() + i * m.def.value_size);
        writes.push_back(std::move(all));
      }
    }
    if (!any) {
      return MakeError(ErrorCode::kOutOfRange,
                       fmt::format("map '{}' has no index {} (max_entries {})", m.name, HexOf(key),
                                   m.def.max_entries));
    }
    if (writes.empty()) {
      return MakeError(ErrorCode::kOutOfRange, fmt::format("map '{}': no vCPU {} in domain {}",
                                                           m.name, *vcpu, found->domid));
    }
  }
  for (const auto& w : writes) {
    if (auto st = backend_.MapUpdate(found->domid, sel.prog_id, found->index, w); !st)
      return st.error();
  }
  AuditOnly(found->domid, sel.prog_id, found->prog_name, "map-update",
            fmt::format("map '{}' key {} = {}{}", m.name, HexOf(key), HexOf(value),
                        vcpu ? fmt::format(" on vCPU {}", *vcpu) : std::string()));
  return MapLookup(sel, key);
}

Status Core::MapDelete(const MapSelector& sel, const std::vector<uint8_t>& key) {
  auto found = FindMap(std::nullopt, sel.prog_id, sel.name, sel.index);
  if (!found) return found.error();
  if (auto st = backend_.MapDelete(found->domid, sel.prog_id, found->index, key); !st) return st;
  AuditOnly(found->domid, sel.prog_id, found->prog_name, "map-delete",
            fmt::format("map '{}' key {}", found->spec.name, HexOf(key)));
  return Status::Ok();
}

}  // namespace hu::daemon
