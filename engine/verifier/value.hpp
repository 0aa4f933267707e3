// The type domain: what a register or a spilled stack slot holds. Pointers
// carry their region (context, a stack frame, a map's value, a platform
// memory block) and their offset into it as a Scalar; scalars carry their
// value. Guest memory has no pointer type: it is reachable only by helpers.
#pragma once

#include <cstdint>
#include <string>

#include "scalar.hpp"

namespace hu::verifier {

enum class Kind : uint8_t {
  kUninit,          // never written, or clobbered by a call; unreadable
  kScalar,          // a number
  kCtx,             // the hook's context struct (read-only)
  kStack,           // a stack frame; ref = frame number
  kMapPtr,          // the map object itself (lddw src=1); ref = map index
  kMapValue,        // a map value; ref = map index
  kMapValueOrNull,  // map_lookup_elem's result before its null check
  kMem,             // a platform memory block (ref = block index)
  kMixed,           // different types on different paths; unusable
};

const char* KindName(Kind k);

// Ids: a lookup site's results are pc + 1; the value an `lddw map_value`
// names, kValueIdBase + map index; copies of a scalar, kCopyIdBase + pc.
constexpr uint32_t kValueIdBase = 1u << 29;
constexpr uint32_t kCopyIdBase = 1u << 30;

struct Value {
  Kind kind = Kind::kUninit;
  uint32_t ref = 0;
  // Registers that share an id hold the same thing on every path that
  // reaches this state (0: no such promise). For map values (checked or
  // not) it is one map element: a null check of one copy resolves every
  // copy, and two pointers into it may be subtracted or compared. For
  // scalars, one value: a bound learned on one copy bounds the others.
  uint32_t id = 0;
  Scalar s;  // the value of a scalar, the offset of a pointer

  static Value Uninit() { return {}; }
  static Value Num(const Scalar& s) { return {Kind::kScalar, 0, 0, s}; }
  static Value Ptr(Kind k, uint32_t ref, const Scalar& off = Scalar::Const(0)) {
    return {k, ref, 0, off};
  }

  bool IsPointer() const {
    return kind != Kind::kUninit && kind != Kind::kScalar && kind != Kind::kMixed;
  }
  bool operator==(const Value&) const = default;
  // Every concrete value of *this is one of `o` (for pruning).
  bool In(const Value& o) const;
  std::string ToString() const;
};

Value Join(const Value& a, const Value& b);

// Both point into one object the guest may see the layout of: the same
// stack frame, the context, the same platform block, or the same map
// element (one lookup's result and its copies, or one `lddw map_value`).
// Only then does their difference or order reveal nothing but offsets:
// two elements of a map lie wherever the host allocated them.
bool SameObject(const Value& a, const Value& b);

}  // namespace hu::verifier
