#include "suite_helpers.hpp"

namespace hu::conformance {
namespace {

uint8_t* Ptr(uint64_t addr) { return reinterpret_cast<uint8_t*>(static_cast<uintptr_t>(addr)); }

// Packs five bytes into one value: a is the most significant.
uint64_t GatherBytes(hu_run*, uint64_t a, uint64_t b, uint64_t c, uint64_t d, uint64_t e) {
  return (a & 0xff) << 32 | (b & 0xff) << 24 | (c & 0xff) << 16 | (d & 0xff) << 8 | (e & 0xff);
}

// XORs n bytes at p with 42, as glibc's memfrob.
uint64_t MemFrob(hu_run* run, uint64_t p, uint64_t n, uint64_t, uint64_t, uint64_t) {
  if (hu_interp_check(run, p, n, 1) != HU_RUN_OK) return static_cast<uint64_t>(-1);
  for (uint64_t i = 0; i < n; ++i) Ptr(p)[i] ^= 42;
  return 0;
}

uint64_t NoOp(hu_run*, uint64_t, uint64_t, uint64_t, uint64_t, uint64_t) { return 0; }

// Integer square root of the low 32 bits, rounded down.
uint64_t Sqrti(hu_run*, uint64_t x, uint64_t, uint64_t, uint64_t, uint64_t) {
  uint64_t v = static_cast<uint32_t>(x), r = 0;
  for (uint64_t bit = 1ull << 32; bit != 0; bit >>= 2) {
    if (v >= r + bit) {
      v -= r + bit;
      r = (r >> 1) + bit;
    } else {
      r >>= 1;
    }
  }
  return r;
}

// strcmp over two NUL-terminated strings, every byte checked before use.
uint64_t StrcmpExt(hu_run* run, uint64_t a, uint64_t b, uint64_t, uint64_t, uint64_t) {
  for (uint64_t i = 0;; ++i) {
    if (hu_interp_check(run, a + i, 1, 0) != HU_RUN_OK ||
        hu_interp_check(run, b + i, 1, 0) != HU_RUN_OK) {
      return static_cast<uint64_t>(-1);
    }
    int ca = Ptr(a)[i], cb = Ptr(b)[i];
    if (ca != cb || ca == 0) return static_cast<uint64_t>(static_cast<int64_t>(ca - cb));
  }
}

// Returns its argument; 0 ends the program at once with r0 = 0.
uint64_t Unwind(hu_run* run, uint64_t x, uint64_t, uint64_t, uint64_t, uint64_t) {
  if (x == 0) run->stop = 1;
  return x;
}

}  // namespace

const hu_helper_fn kSuiteHelpers[kSuiteHelperCount] = {GatherBytes, MemFrob,   NoOp,
                                                       Sqrti,       StrcmpExt, Unwind};

}  // namespace hu::conformance
