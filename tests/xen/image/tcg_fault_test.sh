#!/bin/sh
# tcg-fault.sh on serial logs made for each case: which faults of the
# emulator send a boot round again, and which never do. Exits 0 when every
# check holds.
set -u
here=$(cd "$(dirname "$0")" && pwd)
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fails=0
# case NAME WANT-OUTPUT WANT-STATUS [--any] < LOG
case_() {
	name=$1 want=$2 wantrc=$3
	shift 3
	cat >"$T/log"
	got=$(sh "$here/tcg-fault.sh" "$@" "$T/log")
	rc=$?
	if [ "$got" = "$want" ] && [ "$rc" = "$wantrc" ]; then
		echo "ok: $name"
	else
		echo "FAIL: $name: got '$got' rc $rc, want '$want' rc $wantrc"
		fails=$((fails + 1))
	fi
}
tf='(XEN) [  618.325190] d3v0 Triple fault - invoking HVM shutdown action 1
(XEN) [  618.326032] *** Dumping Dom3 vcpu#0 state: ***
(XEN) [  618.326673] ----[ Xen-4.17.5  x86_64  debug=n  Not tainted ]----
(XEN) [  618.326997] CPU:    0'
xenrip='(XEN) [  618.327252] RIP:    e008:[<ffff82d040204505>] svm_asm_do_resume+0x125/0x170'
guestrip='(XEN) [  618.327252] RIP:    0010:[<ffffffff81a592eb>]'
failed='HU-E2E: result pass=15 fail=8'
passed='HU-E2E: result pass=23 fail=0'

printf '%s\n' "$tf" "$xenrip" "$failed" | case_ "Xen's rip after VMRUN" vmrun 0
printf '%s\n' "$tf" "$guestrip" "$failed" | case_ "a guest rip" guest-triple 0
printf '%s\n' "$tf" "$guestrip" | case_ "a boot that never finished" guest-triple 0
printf '%s\n' "$tf" "$guestrip" "$passed" | case_ "a boot that passed anyway" "" 1
printf '%s\n' "$tf" "$guestrip" "$passed" | case_ "one fault's dump (--any)" guest-triple 0 --any
printf '%s\n' "$tf" "$guestrip" "$tf" "$xenrip" "$failed" | case_ "both: Xen's rip named" vmrun 0
printf '%s\n' '(XEN) [  300.1] Platform timer appears to have unexpectedly wrapped 10 or more times.' |
	case_ "Xen's clock leapt" clock-leap 0
printf '%s\n' '(XEN) [ 9.0] d0v0 Triple fault - invoking HVM shutdown action 1' "$xenrip" "$failed" |
	case_ "dom0's triple fault is not the emulator's" "" 1
printf '%s\n' "$tf" '(XEN) 1' '(XEN) 2' '(XEN) 3' '(XEN) 4' '(XEN) 5' '(XEN) 6' "$xenrip" "$failed" |
	case_ "a Xen rip past the dump is not this fault's" guest-triple 0
printf '%s\n' 'HU-E2E: check reclaim-128mib FAIL' "$failed" | case_ "a failed check alone" "" 1

echo "tcg_fault_test: $fails failed"
[ "$fails" = 0 ]
