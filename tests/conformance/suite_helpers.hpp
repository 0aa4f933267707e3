// The helper functions the BPF conformance suite assumes, by id:
// 0 gather_bytes, 1 memfrob, 2 no_op, 3 sqrti, 4 strcmp_ext, 5 unwind.
// Pointer arguments are checked with hu_interp_check like any helper's.
#pragma once

#include <cstdint>

#include "hyperupcall/interp.h"

namespace hu::conformance {

inline constexpr uint32_t kSuiteHelperCount = 6;
extern const hu_helper_fn kSuiteHelpers[kSuiteHelperCount];

}  // namespace hu::conformance
