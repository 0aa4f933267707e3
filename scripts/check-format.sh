#!/usr/bin/env bash
# Fails when a C or C++ file of ours differs from clang-format's layout.
# C under engine/ is shared with Xen and follows Xen's CODING_STYLE instead
# (checked against the patch series, not here); xen-patches/ likewise.
set -euo pipefail
cd "$(dirname "$0")/.."
mapfile -t files < <(git ls-files '*.c' '*.h' '*.cc' '*.cpp' '*.hpp' | grep -Ev '^xen-patches/|^engine/.*\.[ch]$')
[ "${#files[@]}" -eq 0 ] && { echo "format: no files"; exit 0; }
clang-format --dry-run -Werror "${files[@]}"
echo "format: ${#files[@]} files checked"
