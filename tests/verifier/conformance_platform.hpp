// The platform of the BPF conformance suite: r1 points to the test's memory
// block (readable and writable) and r2 holds its length, or both are 0
// without memory; helpers 0..5 are the suite's.
#pragma once

#include <cstdint>
#include <vector>

#include "platform.hpp"

namespace hu::verifier::testing {

class ConformancePlatform final : public Platform {
 public:
  explicit ConformancePlatform(std::size_t mem_len, bool has_mem) : len_(mem_len), mem_(has_mem) {
    using A = Arg;
    helpers_.resize(6);
    helpers_[0] = {"gather_bytes",
                   Ret::kScalar,
                   {A::kAnything, A::kAnything, A::kAnything, A::kAnything, A::kAnything}};
    helpers_[1] = {"memfrob", Ret::kScalar, {A::kMemWrite, A::kSize}};
    helpers_[2] = {"no_op", Ret::kScalar, {}};
    helpers_[3] = {"sqrti", Ret::kScalar, {A::kAnything}};
    helpers_[4] = {"strcmp_ext", Ret::kScalar, {A::kMemRead, A::kMemRead}};
    helpers_[4].fixed_size = 1;
    helpers_[5] = {"unwind", Ret::kScalar, {A::kAnything}};
    helpers_[5].may_stop = true;
  }
  const char* Name(hu_hook_id) const override { return "conformance"; }
  std::vector<EntryArg> Entry(hu_hook_id) const override {
    if (!mem_)
      return {{EntryArg::Type::kScalar, 0, false, 0}, {EntryArg::Type::kScalar, 0, false, 0}};
    return {{EntryArg::Type::kMem, len_, true, 0}, {EntryArg::Type::kScalar, 0, false, len_}};
  }
  const ContextLayout* Context(hu_hook_id) const override { return nullptr; }
  const HelperProto* Helper(int32_t id) const override {
    if (id < 0 || id >= static_cast<int32_t>(helpers_.size())) return nullptr;
    return &helpers_[id];
  }
  bool HelperAllowed(hu_hook_id, int32_t id) const override { return Helper(id) != nullptr; }

 private:
  std::size_t len_;
  bool mem_;
  std::vector<HelperProto> helpers_;
};

}  // namespace hu::verifier::testing
