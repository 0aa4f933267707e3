// The platform: everything the verifier knows about where a program runs.
// Per hook: the context layout and what r1..r5 hold at entry; the helper
// prototypes and which helpers a hook may call. The hook ABI (abi.h) is one
// platform (HookPlatform); tests supply others. The analyzer never names a
// hook or a helper itself.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "hyperupcall/abi.h"
#include "hyperupcall/verifier.hpp"

namespace hu::verifier {

struct CtxField {
  uint32_t offset;
  uint32_t size;
  const char* name;
};

struct ContextLayout {
  const char* name = "";  // e.g. "struct hu_ctx_mem_reclaim"
  uint32_t size = 0;
  std::vector<CtxField> fields;  // read-only, naturally aligned
};

// What a register holds when the program starts.
struct EntryArg {
  enum class Type { kNone, kCtx, kMem, kScalar } type = Type::kNone;
  uint64_t size = 0;      // kMem: bytes
  bool writable = false;  // kMem
  uint64_t value = 0;     // kScalar: known value
};

enum class Arg : uint8_t {
  kNone,
  kAnything,  // any scalar (a pointer would leak its address)
  kMapPtr,    // lddw src=1 map
  kMapKey,    // readable, initialised: the map's key_size bytes
  kMapValue,  // readable, initialised: the map's value_size bytes
  kMemRead,   // readable, initialised; size in the next argument (or fixed)
  kMemWrite,  // writable, may be uninitialised; size in the next argument
  kSize,      // size of the previous argument, bounded
};

enum class Ret : uint8_t { kScalar, kMapValueOrNull };

struct HelperProto {
  const char* name = nullptr;  // null: no such helper
  Ret ret = Ret::kScalar;
  Arg args[5] = {};
  uint32_t fixed_size = 0;  // kMemRead without a kSize argument
  uint64_t max_size = 0;    // kSize bound (0: the pointed-to region bounds it)
  bool may_stop = false;    // may end the program with r0 = its result
};

class Platform {
 public:
  virtual ~Platform() = default;
  virtual const char* Name(hu_hook_id hook) const = 0;
  // r1..r5 at entry; missing entries are uninitialised.
  virtual std::vector<EntryArg> Entry(hu_hook_id hook) const = 0;
  // The context layout, or null if the hook has no context.
  virtual const ContextLayout* Context(hu_hook_id hook) const = 0;
  // Prototype of helper `id`, or null if there is none.
  virtual const HelperProto* Helper(int32_t id) const = 0;
  virtual bool HelperAllowed(hu_hook_id hook, int32_t id) const = 0;
};

// The hook ABI of abi.h.
const Platform& HookPlatform();

}  // namespace hu::verifier
