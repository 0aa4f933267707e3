#include "text.hpp"

#include <fmt/format.h>

#include <cstdint>

namespace hu::daemon {
namespace {

// Length of the valid UTF-8 sequence at in[i] and its code point, or 0.
size_t DecodeOne(std::string_view in, size_t i, uint32_t* cp) {
  const auto b = [&](size_t k) { return static_cast<unsigned char>(in[i + k]); };
  const unsigned char c = b(0);
  if (c < 0x80) {
    *cp = c;
    return 1;
  }
  size_t n;
  uint32_t v, min;
  if ((c & 0xe0) == 0xc0) {
    n = 2, v = c & 0x1f, min = 0x80;
  } else if ((c & 0xf0) == 0xe0) {
    n = 3, v = c & 0x0f, min = 0x800;
  } else if ((c & 0xf8) == 0xf0) {
    n = 4, v = c & 0x07, min = 0x10000;
  } else {
    return 0;
  }
  if (i + n > in.size()) return 0;
  for (size_t k = 1; k < n; ++k) {
    if ((b(k) & 0xc0) != 0x80) return 0;
    v = (v << 6) | (b(k) & 0x3f);
  }
  if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff)) return 0;
  *cp = v;
  return n;
}

// Characters that control a terminal or reorder, hide or break text.
bool Unsafe(uint32_t cp) {
  return cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp <= 0x9f) || cp == 0x200e || cp == 0x200f ||
         (cp >= 0x2028 && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069) || cp == 0xfeff;
}

std::string Sanitize(std::string_view in, size_t max_bytes, bool escape_backslash) {
  constexpr std::string_view kCut = "...";
  const size_t keep = max_bytes > kCut.size() ? max_bytes - kCut.size() : 0;
  std::string out;
  size_t fits = 0;  // length of out at the last boundary with room for kCut
  for (size_t i = 0; i < in.size();) {
    uint32_t cp = 0;
    size_t n = DecodeOne(in, i, &cp);
    if (n == 0) {
      out += fmt::format("\\x{:02x}", static_cast<unsigned char>(in[i]));
      n = 1;
    } else if (cp == '\\' && escape_backslash) {
      out += "\\\\";
    } else if (Unsafe(cp)) {
      out += cp <= 0xff ? fmt::format("\\x{:02x}", cp) : fmt::format("\\u{:04x}", cp);
    } else {
      out.append(in.substr(i, n));
    }
    i += n;
    if (out.size() <= keep) fits = out.size();
    if (out.size() > max_bytes) {
      out.resize(fits);
      if (max_bytes >= kCut.size()) out += kCut;
      return out;
    }
  }
  return out;
}

}  // namespace

std::string SafeText(std::string_view in, size_t max_bytes) {
  return Sanitize(in, max_bytes, true);
}

std::string SafeComposedText(std::string_view in, size_t max_bytes) {
  return Sanitize(in, max_bytes, false);
}

bool ValidUtf8(std::string_view in, size_t* bad_at) {
  for (size_t i = 0; i < in.size();) {
    uint32_t cp;
    size_t n = DecodeOne(in, i, &cp);
    if (n == 0) {
      if (bad_at) *bad_at = i;
      return false;
    }
    i += n;
  }
  return true;
}

}  // namespace hu::daemon
