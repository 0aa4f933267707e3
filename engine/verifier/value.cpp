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

template <class F>
Value Combine(const Value& a, const Value& b, F scalar_op) {
  if (a.kind == Kind::kUninit || b.kind == Kind::kUninit) return Value::Uninit();
  Kind ka = a.kind, kb = b.kind;
  // A checked and an unchecked lookup result of the same map join to "maybe
  // null", keeping the unchecked one's id so a later check still refines.
  if (a.ref == b.ref && ((ka == Kind::kMapValue && kb == Kind::kMapValueOrNull) ||
                         (ka == Kind::kMapValueOrNull && kb == Kind::kMapValue))) {
    Value r{Kind::kMapValueOrNull, a.ref, ka == Kind::kMapValueOrNull ? a.id : b.id,
            scalar_op(a.s, b.s)};
    return r;
  }
  if (ka != kb || ka == Kind::kMixed || a.ref != b.ref) return Value{Kind::kMixed, 0, 0, {}};
  Value r{ka, a.ref, a.id == b.id ? a.id : 0, scalar_op(a.s, b.s)};
  return r;
}

}  // namespace

Value Join(const Value& a, const Value& b) {
  if (a == b) return a;
  return Combine(a, b, [](const Scalar& x, const Scalar& y) { return Join(x, y); });
}

Value Widen(const Value& p, const Value& n) {
  if (p == n) return p;
  return Combine(p, n, [](const Scalar& x, const Scalar& y) { return Widen(x, y); });
}

}  // namespace hu::verifier
