#include "value.hpp"

namespace hu::verifier {

const char* KindName(Kind k) {
  switch (k) {
    case Kind::kUninit:
      return "uninit";
    case Kind::kScalar:
      return "scalar";
    case Kind::kCtx:
      return "ctx";
    case Kind::kStack:
      return "fp";
    case Kind::kMapPtr:
      return "map";
    case Kind::kMapValue:
      return "map_value";
    case Kind::kMapValueOrNull:
      return "map_value_or_null";
    case Kind::kMem:
      return "mem";
    case Kind::kMixed:
      return "mixed";
  }
  return "?";
}

bool Value::In(const Value& o) const {
  if (o.kind == Kind::kUninit || o.kind == Kind::kMixed) return true;
  if (kind != o.kind || ref != o.ref) return false;
  if (kind == Kind::kMapValueOrNull && id != o.id) return false;
  // `o` promises its holders of an id are equal; *this must promise it too.
  if (o.id != 0 && id != o.id) return false;
  return s.In(o.s);
}

std::string Value::ToString() const {
  switch (kind) {
    case Kind::kUninit:
    case Kind::kMixed:
      return KindName(kind);
    case Kind::kScalar:
      return s.ToString();
    default:
      break;
  }
  std::string r = KindName(kind);
  if (kind == Kind::kStack) {
    if (ref != 0) r += "[frame " + std::to_string(ref) + "]";
  } else if (kind != Kind::kCtx) {
    r += "(" + std::to_string(ref);
    if (kind == Kind::kMapValueOrNull && id) r += ", id " + std::to_string(id);
    r += ")";
  }
  if (kind == Kind::kMapPtr) return r;
  if (s.IsConst()) {
    int64_t off = static_cast<int64_t>(s.Value());
    return r + (off < 0 ? "" : "+") + std::to_string(off);
  }
  return r + "+" + s.ToString();
}

namespace {

Value Combine(const Value& a, const Value& b) {
  if (a.kind == Kind::kUninit || b.kind == Kind::kUninit) return Value::Uninit();
  Kind ka = a.kind, kb = b.kind;
  // An id survives a merge only where both paths promise it: one path's
  // promise does not hold on the other (a register that is non-NULL on one
  // path must not have its NULL check resolve another register that may
  // still be NULL there).
  uint32_t id = a.id == b.id ? a.id : 0;
  // A checked and an unchecked lookup result of the same map join to
  // "maybe null".
  if (a.ref == b.ref && ((ka == Kind::kMapValue && kb == Kind::kMapValueOrNull) ||
                         (ka == Kind::kMapValueOrNull && kb == Kind::kMapValue)))
    return Value{Kind::kMapValueOrNull, a.ref, id, Join(a.s, b.s)};
  if (ka != kb || ka == Kind::kMixed || a.ref != b.ref) return Value{Kind::kMixed, 0, 0, {}};
  return Value{ka, a.ref, id, Join(a.s, b.s)};
}

}  // namespace

bool SameObject(const Value& a, const Value& b) {
  auto is_map_value = [](Kind k) { return k == Kind::kMapValue || k == Kind::kMapValueOrNull; };
  if (is_map_value(a.kind) && is_map_value(b.kind))
    return a.ref == b.ref && a.id != 0 && a.id == b.id;
  return a.kind == b.kind && a.ref == b.ref && a.IsPointer();
}

Value Join(const Value& a, const Value& b) {
  if (a == b) return a;
  return Combine(a, b);
}

}  // namespace hu::verifier
