#!/bin/sh
# qemu-watch.sh with a shell standing in for QEMU: a boot that ends, one
# that moves on slowly past the stall limit's length, one that stops
# printing, one past its limit. Exits 0 when every check holds.
set -u
here=$(cd "$(dirname "$0")" && pwd)
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
export QEMU_WATCH_POLL=1
fails=0
check() { # NAME STATUS
	if [ "$2" = 0 ]; then echo "ok: $1"; else echo "FAIL: $1"; fails=$((fails + 1)); fi
}
# boot N GAP [RC]: N lines "HU-E2E: i", GAP seconds apart, then exit RC;
# other lines (a kernel's) every second meanwhile do not count.
boot() {
	i=0
	while [ "$i" -lt "$1" ]; do
		echo "HU-E2E: $i" >>"$T/log"
		j=0
		while [ "$j" -lt "$2" ]; do echo "(XEN) rcu stall" >>"$T/log" && sleep 1 && j=$((j + 1)); done
		i=$((i + 1))
	done
	return "${3:-0}"
}
watch() { # LIMIT STALL CMD...
	: >"$T/log"
	t0=$(date +%s) l=$1 s=$2
	shift 2
	sh "$here/qemu-watch.sh" "$l" "$s" "$T/log" "$@" >/dev/null 2>&1
	rc=$? took=$(($(date +%s) - t0))
}
# The command is this script's boot(): run it through sh -c with the
# function's text.
fn=$(sed -n '/^boot() {/,/^}/p' "$0")
run() { echo "T=$T; $fn; boot $*"; }

watch 30 5 sh -c "$(run 3 1 7)"
[ "$rc" = 7 ] && [ "$took" -lt 15 ]
check "a boot that ends keeps its status (rc $rc, $took s)" $?
watch 60 4 sh -c "$(run 4 3)"
[ "$rc" = 0 ]
check "a slow boot whose lines keep coming runs on past the stall's length (rc $rc, $took s)" $?
watch 60 4 sh -c "$(run 1 100)"
[ "$rc" = 125 ] && [ "$took" -lt 20 ] && grep -q '^HU-HOST: QEMU stopped: no HU-E2E line for 4 s' "$T/log"
check "a boot that stops printing HU-E2E lines is stopped as hung (rc $rc, $took s)" $?
watch 5 100 sh -c "$(run 50 1)"
[ "$rc" = 124 ] && [ "$took" -lt 15 ] && grep -q '^HU-HOST: QEMU stopped at its limit of 5 s' "$T/log"
check "a boot past its limit is stopped there (rc $rc, $took s)" $?

echo "qemu_watch_test: $fails failed"
[ "$fails" = 0 ]
