// Map keys and values shown as C values, from the BTF a guest sent with
// its program (libbpf's btf_dump: `{.hits = (u64)7,.last = (u32)16,}`).
// The BTF is the guest's word: libbpf checks it is well formed, a type
// whose size is not the map's key or value size is not used, and the text
// is only ever shown to people, beside the bytes.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

struct btf;

namespace hu::daemon {

class BtfFormatter {
 public:
  // Empty or malformed BTF gives a formatter that formats nothing.
  explicit BtfFormatter(const std::vector<uint8_t>& raw);
  ~BtfFormatter();
  BtfFormatter(const BtfFormatter&) = delete;
  BtfFormatter& operator=(const BtfFormatter&) = delete;

  bool ok() const { return btf_ != nullptr; }
  // The type's C name ("struct stats", "u32"), "" when unknown.
  std::string TypeName(uint32_t type_id) const;
  // `data` as a value of the type; "" when the type is unknown or its size
  // is not data.size().
  std::string Format(uint32_t type_id, const std::vector<uint8_t>& data) const;

 private:
  struct btf* btf_ = nullptr;
};

}  // namespace hu::daemon
