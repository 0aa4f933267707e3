// Guest-physical memory of one simulated guest: a byte array, with every
// access bounds-checked because addresses come from guest programs.
#pragma once

#include <cstdint>
#include <cstring>
#include <vector>

namespace hu::daemon::sim {

inline constexpr uint64_t kPageSize = 4096;
inline constexpr uint64_t kPageShift = 12;

class GuestMemory {
 public:
  explicit GuestMemory(uint64_t bytes) : bytes_(bytes, 0) {}

  uint64_t size() const { return bytes_.size(); }
  uint64_t frames() const { return bytes_.size() >> kPageShift; }

  bool Contains(uint64_t gpa, uint64_t len) const {
    return len <= bytes_.size() && gpa <= bytes_.size() - len;
  }
  bool Read(uint64_t gpa, void* dst, uint64_t len) const {
    if (!Contains(gpa, len)) return false;
    std::memcpy(dst, bytes_.data() + gpa, len);
    return true;
  }
  bool Write(uint64_t gpa, const void* src, uint64_t len) {
    if (!Contains(gpa, len)) return false;
    std::memcpy(bytes_.data() + gpa, src, len);
    return true;
  }
  // For the model's own, known-good addresses.
  template <class T>
  T Get(uint64_t gpa) const {
    T v{};
    Read(gpa, &v, sizeof v);
    return v;
  }
  template <class T>
  void Put(uint64_t gpa, T v) {
    Write(gpa, &v, sizeof v);
  }
  void ZeroFrame(uint64_t gfn) {
    if (Contains(gfn << kPageShift, kPageSize))
      std::memset(bytes_.data() + (gfn << kPageShift), 0, kPageSize);
  }

 private:
  std::vector<uint8_t> bytes_;
};

}  // namespace hu::daemon::sim
