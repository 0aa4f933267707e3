// Guest-physical memory of one simulated guest, with every access
// bounds-checked because addresses come from guest programs. It is
// allocated on touch, as a real guest's RAM is backed by the host: an
// anonymous mapping whose pages become resident only when the model
// writes them (a read of an untouched page sees zeros and costs nothing),
// and a frame the host reclaims is given back (MADV_DONTNEED). So a
// thousand 64 MiB guests cost what they touched, not 64 GiB.
#pragma once

#include <sys/mman.h>

#include <cstdint>
#include <cstring>
#include <new>

namespace hu::daemon::sim {

inline constexpr uint64_t kPageSize = 4096;
inline constexpr uint64_t kPageShift = 12;

class GuestMemory {
 public:
  explicit GuestMemory(uint64_t bytes) : size_(bytes) {
    void* p = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED) throw std::bad_alloc();
    base_ = static_cast<uint8_t*>(p);
  }
  ~GuestMemory() { ::munmap(base_, size_); }
  GuestMemory(const GuestMemory&) = delete;
  GuestMemory& operator=(const GuestMemory&) = delete;

  uint64_t size() const { return size_; }
  uint64_t frames() const { return size_ >> kPageShift; }

  bool Contains(uint64_t gpa, uint64_t len) const { return len <= size_ && gpa <= size_ - len; }
  bool Read(uint64_t gpa, void* dst, uint64_t len) const {
    if (!Contains(gpa, len)) return false;
    std::memcpy(dst, base_ + gpa, len);
    return true;
  }
  bool Write(uint64_t gpa, const void* src, uint64_t len) {
    if (!Contains(gpa, len)) return false;
    std::memcpy(base_ + gpa, src, len);
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
  // Zero, and no longer resident: the next touch gets a fresh zero page.
  void ZeroFrame(uint64_t gfn) {
    if (Contains(gfn << kPageShift, kPageSize)) {
      ::madvise(base_ + (gfn << kPageShift), kPageSize, MADV_DONTNEED);
    }
  }

 private:
  uint8_t* base_ = nullptr;
  uint64_t size_ = 0;
};

}  // namespace hu::daemon::sim
