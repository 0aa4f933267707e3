#include "maps.hpp"

#include <fmt/format.h>

#include <cstring>

namespace hu::daemon::sim {

Result<Map> Map::Create(const MapSpec& spec, uint32_t nvcpus, uint32_t gap) {
  const hu_map_def& d = spec.def;
  auto bad = [&](const std::string& why) {
    return MakeError(ErrorCode::kInvalidArgument, fmt::format("map '{}': {}", spec.name, why));
  };
  if (d.type != HU_MAP_HASH && d.type != HU_MAP_ARRAY && d.type != HU_MAP_PERVCPU_ARRAY)
    return bad(fmt::format("type {} unsupported (hash 1, array 2, per-vCPU array 6)", d.type));
  if (d.key_size == 0 || d.key_size > HU_MAP_MAX_KEY)
    return bad(fmt::format("key_size {} not in 1..{}", d.key_size, HU_MAP_MAX_KEY));
  if (d.type != HU_MAP_HASH && d.key_size != 4)
    return bad(fmt::format("key_size {} for an array; arrays take a u32 key", d.key_size));
  if (d.value_size == 0 || d.value_size > HU_MAP_MAX_VALUE)
    return bad(fmt::format("value_size {} not in 1..{}", d.value_size, HU_MAP_MAX_VALUE));
  if (d.max_entries == 0 || d.max_entries > HU_MAP_MAX_ENTRIES)
    return bad(fmt::format("max_entries {} not in 1..{}", d.max_entries, HU_MAP_MAX_ENTRIES));
  const uint64_t copies = d.type == HU_MAP_PERVCPU_ARRAY ? nvcpus : 1;
  // Values 8-byte aligned, as the verifier assumes for value pointers.
  const uint64_t stride = ((uint64_t{d.value_size} + 7) & ~7ull) + 8ull * (gap % 64);
  const uint64_t bytes = stride * d.max_entries * copies;
  if (bytes > kMaxMapBytes)
    return bad(fmt::format("needs {} bytes of values, more than the {} a map may have", bytes,
                           kMaxMapBytes));
  Map m;
  m.nvcpus_ = static_cast<uint32_t>(copies);
  m.def_ = d;
  m.stride_ = stride;
  m.name_ = spec.name;
  m.arena_.assign(bytes, 0);
  if (d.type == HU_MAP_HASH)
    for (uint32_t i = d.max_entries; i-- > 0;) m.free_slots_.push_back(i);
  return m;
}

uint8_t* Map::Slot(uint32_t index, uint32_t vcpu) {
  if (vcpu >= nvcpus_) vcpu = 0;
  return arena_.data() + stride_ * (uint64_t{vcpu} * def_.max_entries + index);
}

uint8_t* Map::Lookup(const uint8_t* key, uint32_t vcpu) {
  if (def_.type == HU_MAP_HASH) {
    auto it = hash_.find(std::string(reinterpret_cast<const char*>(key), def_.key_size));
    return it == hash_.end() ? nullptr : Slot(it->second, 0);
  }
  uint32_t index;
  std::memcpy(&index, key, 4);
  return index < def_.max_entries ? Slot(index, vcpu) : nullptr;
}

int64_t Map::Update(const uint8_t* key, const uint8_t* value, uint64_t flags, uint32_t vcpu) {
  if (flags > HU_EXIST) return -HU_EINVAL;
  if (def_.type == HU_MAP_HASH) {
    std::string k(reinterpret_cast<const char*>(key), def_.key_size);
    auto it = hash_.find(k);
    if (it != hash_.end()) {
      if (flags == HU_NOEXIST) return -HU_EEXIST;
      std::memcpy(Slot(it->second, 0), value, def_.value_size);
      return 0;
    }
    if (flags == HU_EXIST) return -HU_ENOENT;
    if (free_slots_.empty()) return -HU_E2BIG;
    const uint32_t slot = free_slots_.back();
    free_slots_.pop_back();
    hash_.emplace(std::move(k), slot);
    std::memcpy(Slot(slot, 0), value, def_.value_size);
    return 0;
  }
  uint32_t index;
  std::memcpy(&index, key, 4);
  if (index >= def_.max_entries) return -HU_E2BIG;
  if (flags == HU_NOEXIST) return -HU_EEXIST;  // array elements always exist
  std::memcpy(Slot(index, vcpu), value, def_.value_size);
  return 0;
}

int64_t Map::Delete(const uint8_t* key) {
  if (def_.type != HU_MAP_HASH) return -HU_EINVAL;
  auto it = hash_.find(std::string(reinterpret_cast<const char*>(key), def_.key_size));
  if (it == hash_.end()) return -HU_ENOENT;
  std::memset(Slot(it->second, 0), 0, def_.value_size);
  free_slots_.push_back(it->second);
  hash_.erase(it);
  return 0;
}

std::vector<MapEntry> Map::Dump() const {
  auto* self = const_cast<Map*>(this);  // Slot() only computes an address
  std::vector<MapEntry> out;
  if (def_.type == HU_MAP_HASH) {
    for (const auto& [k, slot] : hash_) {
      const uint8_t* v = self->Slot(slot, 0);
      out.push_back(
          {std::vector<uint8_t>(k.begin(), k.end()), std::vector<uint8_t>(v, v + def_.value_size)});
    }
    return out;
  }
  for (uint32_t vcpu = 0; vcpu < nvcpus_; ++vcpu)
    for (uint32_t i = 0; i < def_.max_entries; ++i) {
      std::vector<uint8_t> key(4);
      std::memcpy(key.data(), &i, 4);
      if (def_.type == HU_MAP_PERVCPU_ARRAY) {
        key.resize(8);
        std::memcpy(key.data() + 4, &vcpu, 4);
      }
      const uint8_t* v = self->Slot(i, vcpu);
      out.push_back({std::move(key), std::vector<uint8_t>(v, v + def_.value_size)});
    }
  return out;
}

Status Map::Set(const MapEntry& e) {
  const size_t want_key = def_.type == HU_MAP_PERVCPU_ARRAY ? 8 : def_.key_size;
  if (e.key.size() != want_key || e.value.size() != def_.value_size)
    return MakeError(ErrorCode::kInvalidArgument,
                     fmt::format("map '{}': entry needs a {}-byte key and a {}-byte value, got "
                                 "{} and {}",
                                 name_, want_key, def_.value_size, e.key.size(), e.value.size()));
  uint32_t vcpu = 0;
  if (def_.type == HU_MAP_PERVCPU_ARRAY) {
    std::memcpy(&vcpu, e.key.data() + 4, 4);
    if (vcpu >= nvcpus_)
      return MakeError(
          ErrorCode::kOutOfRange,
          fmt::format("map '{}': vCPU {} out of range (domain has {})", name_, vcpu, nvcpus_));
  }
  const int64_t rc = Update(e.key.data(), e.value.data(), HU_ANY, vcpu);
  if (rc == -HU_E2BIG)
    return MakeError(
        ErrorCode::kResourceExhausted,
        fmt::format("map '{}': full, or index past max_entries {}", name_, def_.max_entries));
  if (rc != 0)
    return MakeError(ErrorCode::kInvalidArgument,
                     fmt::format("map '{}': update failed ({})", name_, rc));
  return Status::Ok();
}

Status Map::Remove(const std::vector<uint8_t>& key) {
  if (def_.type != HU_MAP_HASH)
    return MakeError(ErrorCode::kInvalidArgument,
                     fmt::format("map '{}' is an array: its entries cannot be deleted (update them "
                                 "to zero instead)",
                                 name_));
  if (key.size() != def_.key_size)
    return MakeError(
        ErrorCode::kInvalidArgument,
        fmt::format("map '{}': the key is {} bytes, not {}", name_, key.size(), def_.key_size));
  if (Delete(key.data()) != 0)
    return MakeError(ErrorCode::kNotFound, fmt::format("map '{}' has no such key", name_));
  return Status::Ok();
}

}  // namespace hu::daemon::sim
