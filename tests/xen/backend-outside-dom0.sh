#!/bin/sh
# hyperupcalld --backend xen outside dom0 must stop at once (exit 1) and say
# what is missing and where it runs. Exit 77 (skip) on a Xen dom0.
#   backend-outside-dom0.sh HYPERUPCALLD
[ -e /dev/xen/privcmd ] && { echo "this is a Xen dom0: skipped"; exit 77; }
d=$(mktemp -d)
trap 'rm -rf "$d"' EXIT
timeout 60 "$1" --backend xen --state "$d/state" --operator-socket "$d/op.sock" \
	--guest-socket-dir "$d/guests" >"$d/out" 2>&1
rc=$?
cat "$d/out"
[ "$rc" = 1 ] || { echo "FAIL: exit $rc, want 1"; exit 1; }
grep -q 'backend xen: cannot use Xen: xencall_open: .*privcmd.*runs in dom0' "$d/out" ||
	{ echo "FAIL: no clear message"; exit 1; }
[ ! -e "$d/op.sock" ] || { echo "FAIL: operator socket left behind"; exit 1; }
echo "ok"
