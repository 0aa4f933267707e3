// Text that came from a guest, made safe to show: valid UTF-8, no control
// or bidirectional-formatting characters, and cut only between characters.
// Every guest string passes through here before it reaches an event, an
// audit row, a log line or an operator's terminal, so an invalid byte
// cannot break the serialisation of an Events stream and an escape
// sequence cannot drive a terminal.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace hu::daemon {

// `in` with every byte that is not part of valid UTF-8 written as \xHH,
// control characters (C0, DEL, C1) and the Unicode formatting characters
// that reorder or hide text (bidi overrides and isolates, line and
// paragraph separators, BOM) written as \xHH / \uHHHH, and backslash as
// \\ so the escapes are unambiguous. At most `max_bytes` bytes; when it
// had to be cut, it ends in "..." and no character or escape is split.
std::string SafeText(std::string_view in, size_t max_bytes);

// The same for text the daemon composed that may quote guest text already
// made safe: escapes what is unsafe but leaves backslashes alone, so text
// that is already safe comes out unchanged (unless longer than max_bytes).
std::string SafeComposedText(std::string_view in, size_t max_bytes);

// True when `in` is valid UTF-8 (no overlong forms, surrogates or values
// past U+10FFFF); `bad_at` gets the offset of the first invalid byte.
bool ValidUtf8(std::string_view in, size_t* bad_at = nullptr);

}  // namespace hu::daemon
