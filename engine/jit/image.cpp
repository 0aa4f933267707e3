// User-space home of JIT images: a memfd mapped twice, read+write to write
// the code and read+execute to run it, so no mapping is ever both writable
// and executable and the executable one is never writable. The executable
// mapping is placed near the helpers so every call is a direct rel32.
#include <sys/mman.h>
#include <sys/random.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "hyperupcall/jit.hpp"

namespace hu::jit {

namespace {

constexpr uintptr_t kStep = uintptr_t{64} << 20;  // 64 MiB between tries
constexpr int kTries = 24;                        // up to 1.5 GiB away

// The middle of every call target, so the image can reach all of them.
uintptr_t Anchor(const hu_helper_fn* helpers, uint32_t n) {
  uintptr_t lo = reinterpret_cast<uintptr_t>(&hu_jit_run), hi = lo;
  for (uint32_t i = 0; i < n; ++i) {
    if (helpers[i] == nullptr) continue;
    auto a = reinterpret_cast<uintptr_t>(helpers[i]);
    lo = std::min(lo, a);
    hi = std::max(hi, a);
  }
  return lo + (hi - lo) / 2;
}

// Maps `fd` read+execute at a free address near `anchor`; nullptr if none.
void* MapNear(int fd, size_t size, uintptr_t anchor) {
  const uintptr_t base = anchor & ~((uintptr_t{1} << 21) - 1);
  for (int i = 1; i <= kTries; ++i) {
    for (int sign : {-1, 1}) {
      uintptr_t at = base + static_cast<uintptr_t>(sign) * kStep * static_cast<uintptr_t>(i);
      void* p = mmap(reinterpret_cast<void*>(at), size, PROT_READ | PROT_EXEC,
                     MAP_SHARED | MAP_FIXED_NOREPLACE, fd, 0);
      if (p == MAP_FAILED) continue;
      if (p == reinterpret_cast<void*>(at)) return p;
      munmap(p, size);  // an old kernel ignoring NOREPLACE put it elsewhere
    }
  }
  return nullptr;
}

uint64_t FreshSeed() {
  uint64_t seed = 0;
  while (getrandom(&seed, sizeof seed, 0) != static_cast<ssize_t>(sizeof seed)) {
  }
  return seed;
}

}  // namespace

Result<Image> Image::Compile(std::span<const hu_insn> prog, const hu_helper_fn* helpers,
                             uint32_t nhelpers, const Options& opts) {
  hu_jit_opts o{};
  o.helpers = helpers;
  o.nhelpers = nhelpers;
  o.flags = opts.blind ? HU_JIT_BLIND : 0;
  o.seed = opts.blind ? (opts.seed ? opts.seed : FreshSeed()) : 0;
  o.ret_thunk = opts.ret_thunk;

  std::vector<uint32_t> scratch(HU_JIT_SCRATCH_WORDS(prog.size()));
  hu_jit j{};
  int rc = hu_jit_plan(&j, prog.data(), static_cast<uint32_t>(prog.size()), &o, scratch.data());
  if (rc != HU_JIT_OK) {
    return MakeError(rc == HU_JIT_E_CONFIG ? ErrorCode::kInvalidArgument : ErrorCode::kInternal,
                     std::string("jit: ") + hu_jit_strerror(rc) + " (" +
                         std::to_string(prog.size()) + " instructions)");
  }

  const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  const size_t size = (j.size + page - 1) / page * page;
  int fd = memfd_create("hu-jit", MFD_CLOEXEC);
  if (fd < 0 || ftruncate(fd, static_cast<off_t>(size)) != 0) {
    int e = errno;
    if (fd >= 0) close(fd);
    return MakeError(ErrorCode::kResourceExhausted,
                     "jit: memfd for " + std::to_string(size) + " bytes: " + std::strerror(e));
  }
  void* rw = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  void* rx = rw == MAP_FAILED ? nullptr : MapNear(fd, size, Anchor(helpers, nhelpers));
  close(fd);
  if (rx == nullptr) {
    if (rw != MAP_FAILED) munmap(rw, size);
    return MakeError(ErrorCode::kResourceExhausted,
                     "jit: no executable memory within 2 GiB of the helpers");
  }

  // Anything past the code traps.
  std::memset(rw, 0xcc, size);
  Image img;
  img.rx_ = rx;
  img.map_size_ = size;
  rc = hu_jit_emit(&j, static_cast<uint8_t*>(rw), reinterpret_cast<uintptr_t>(rx), &img.img_);
  munmap(rw, size);
  if (rc != HU_JIT_OK) {
    return MakeError(rc == HU_JIT_E_RANGE ? ErrorCode::kResourceExhausted : ErrorCode::kInternal,
                     std::string("jit: ") + hu_jit_strerror(rc));
  }
  return img;
}

Image::Image(Image&& other) noexcept { *this = std::move(other); }

Image& Image::operator=(Image&& other) noexcept {
  if (this != &other) {
    if (rx_ != nullptr) munmap(rx_, map_size_);
    rx_ = std::exchange(other.rx_, nullptr);
    map_size_ = std::exchange(other.map_size_, 0);
    img_ = std::exchange(other.img_, hu_jit_image{});
  }
  return *this;
}

Image::~Image() {
  if (rx_ != nullptr) munmap(rx_, map_size_);
}

}  // namespace hu::jit
