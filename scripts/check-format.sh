#!/usr/bin/env bash
# Fails when a C or C++ file of ours differs from clang-format's layout.
# C under engine/ is shared with Xen and follows Xen's CODING_STYLE instead
# (checked against the patch series, not here); xen-patches/ likewise. Linux
# kernel modules (guest-driver/kmod, tests/xen/sched/lockbench) follow the
# kernel's coding style.
set -euo pipefail
cd "$(dirname "$0")/.."
list() {
	# Outside a git checkout (a tarball) list the files from disk, so the
	# check never passes by checking nothing.
	if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
		git ls-files '*.c' '*.h' '*.cc' '*.cpp' '*.hpp'
	else
		find . -path './build*' -prune -o -path './out' -prune -o \
			-type f \( -name '*.c' -o -name '*.h' -o -name '*.cc' -o -name '*.cpp' -o -name '*.hpp' \) \
			-print | sed 's|^\./||'
	fi
}
mapfile -t files < <(list | grep -Ev '^xen-patches/|^engine/.*\.[ch]$|^guest-driver/kmod/|^tests/xen/sched/lockbench/' | sort)
if [ "${#files[@]}" -eq 0 ]; then
	echo "format: no C or C++ files found" >&2
	exit 1
fi
clang-format --dry-run -Werror "${files[@]}"
echo "format: ${#files[@]} files checked"
