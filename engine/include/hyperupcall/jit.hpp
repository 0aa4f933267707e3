// The JIT for user space: translates a program (hu_jit_plan/hu_jit_emit)
// into memory that is written through one mapping and executed through
// another that is never writable, placed within call rel32 reach of the
// helpers.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "hyperupcall/jit.h"
#include "hyperupcall/result.hpp"

namespace hu::jit {

struct Options {
  bool blind = true;  // constant blinding (hyperupcall/jit.h)
  uint64_t seed = 0;  // blinding key; 0: a fresh one from getrandom()
  // Returns jump to this thunk instead of `ret` (hu_jit_opts.ret_thunk);
  // it must be within 1.5 GiB of the helpers, as the image is.
  uint64_t ret_thunk = 0;
};

// One translated program; runs like hu_interp_run (hu_jit_run).
class Image {
 public:
  // Errors: kInvalidArgument for a request the JIT refuses (no program,
  // too large), kResourceExhausted when no executable memory could be
  // placed within reach of the helpers, kInternal for a JIT bug.
  static Result<Image> Compile(std::span<const hu_insn> prog, const hu_helper_fn* helpers,
                               uint32_t nhelpers, const Options& opts = {});

  Image(Image&& other) noexcept;
  Image& operator=(Image&& other) noexcept;
  Image(const Image&) = delete;
  Image& operator=(const Image&) = delete;
  ~Image();

  int Run(hu_run* run, uint64_t r1, uint64_t r2 = 0, uint64_t r3 = 0) const {
    return hu_jit_run(&img_, run, r1, r2, r3);
  }
  const hu_jit_image& image() const { return img_; }
  size_t code_size() const { return img_.size; }
  // The executable mapping (for tests that check its protection).
  const void* code() const { return img_.entry; }

 private:
  Image() = default;
  void* rx_ = nullptr;
  size_t map_size_ = 0;
  hu_jit_image img_{};
};

}  // namespace hu::jit
