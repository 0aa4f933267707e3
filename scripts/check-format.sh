#!/usr/bin/env bash
# Fails when a C or C++ file of ours differs from clang-format's layout.
# Code shared with Xen (engine/include, engine/core/*.c) follows Xen's
# CODING_STYLE instead and carries a .clang-format that disables this.
set -euo pipefail
cd "$(dirname "$0")/.."
mapfile -t files < <(git ls-files '*.c' '*.h' '*.cc' '*.cpp' '*.hpp' | grep -v '^xen-patches/')
[ "${#files[@]}" -eq 0 ] && { echo "format: no files"; exit 0; }
clang-format --dry-run -Werror "${files[@]}"
echo "format: ${#files[@]} files checked"
