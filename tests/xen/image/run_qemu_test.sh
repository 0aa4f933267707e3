#!/bin/sh
# Makefile.xen's run_qemu without QEMU: a fake qemu-system-x86_64 writes
# the serial log each boot would, and the boot's judge passes a log with
# no failed check. Which boots run again after an emulator fault
# (tcg-fault.sh), which never do, and what the logs keep. Exits 0 when
# every check holds.
set -u
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../../.." && pwd)
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
mkdir -p "$T/bin"
# Boot N writes the log in $T/boot.N (the scenario's), else a passing one.
cat >"$T/bin/qemu-system-x86_64" <<'X'
#!/bin/sh
while [ $# -gt 0 ]; do case "$1" in -serial) log=${2#file:} ;; esac; shift; done
n=$(($(cat "$T/boots" 2>/dev/null || echo 0) + 1))
echo "$n" >"$T/boots"
if [ -f "$T/boot.$n" ]; then cat "$T/boot.$n" >"$log"; else echo "HU-E2E: result pass=3 fail=0" >"$log"; fi
X
cat >"$T/judge" <<'X'
#!/bin/sh
grep -q '^HU-E2E: result pass=[0-9]* fail=0' "$1"
X
cat >"$T/Makefile" <<X
include $top/Makefile.xen
selftest:
	\$(call run_qemu,$T/xen.elf,$T/serial.log,$T/dom0.img,sh $T/judge $T/serial.log)
X
chmod +x "$T/bin/"* "$T/judge"
export PATH="$T/bin:$PATH" T QEMU_WATCH_POLL=1

fails=0
check() { # NAME STATUS
	if [ "$2" = 0 ]; then echo "ok: $1"; else echo "FAIL: $1"; fails=$((fails + 1)); fi
}
guest_fault='(XEN) [ 61.0] d1v0 Triple fault - invoking HVM shutdown action 1
(XEN) [ 61.1] RIP:    0010:[<ffffffff81a592eb>]
HU-E2E: result pass=2 fail=21'
xen_fault='(XEN) [ 61.0] d2v1 Triple fault - invoking HVM shutdown action 1
(XEN) [ 61.1] RIP:    e008:[<ffff82d040204505>] svm_asm_do_resume+0x125/0x170'
plain_fail='HU-E2E: check reclaim-128mib FAIL
HU-E2E: result pass=22 fail=1'
# scenario NAME BOOT1 [BOOT2]: runs run_qemu; $boots, $rc after it.
scenario() {
	rm -f "$T"/boot.* "$T/boots" "$T"/serial.log*
	[ -n "${2:-}" ] && printf '%s\n' "$2" >"$T/boot.1"
	[ -n "${3:-}" ] && printf '%s\n' "$3" >"$T/boot.2"
	make -s -f "$T/Makefile" selftest QEMU_TIMEOUT=10 >"$T/make.out" 2>&1
	rc=$? boots=$(cat "$T/boots")
}

scenario "a boot that passes"
[ "$rc" = 0 ] && [ "$boots" = 1 ] && [ ! -e "$T/serial.log.tcg-fault" ]
check "a boot that passes boots once" $?
scenario "guest fault, then pass" "$guest_fault"
[ "$boots" = 2 ] && grep -q 'fail=21' "$T/serial.log.tcg-fault" && grep -q 'fail=0' "$T/serial.log"
check "a failed boot with a guest's triple fault boots again, the first log kept" $?
grep -q '^HU-HOST: retry 1: the first boot met an emulator fault, guest-triple (serial.log.tcg-fault)' "$T/serial.log"
check "and the second log says why" $?
scenario "Xen-rip fault, then pass" "$xen_fault"
[ "$boots" = 2 ] && grep -q 'emulator fault, vmrun' "$T/serial.log"
check "a boot that never finished after a VMRUN fault boots again" $?
scenario "plain failure" "$plain_fail"
[ "$boots" = 1 ] && [ ! -e "$T/serial.log.tcg-fault" ]
check "a failed check without a fault boots once" $?
scenario "fault twice" "$guest_fault" "$guest_fault"
[ "$boots" = 2 ] && grep -q 'fail=21' "$T/serial.log" && grep -q '^HU-HOST: retry 1' "$T/serial.log"
check "a second faulty boot is the last, its failure kept for the judge" $?
scenario "fault, passed anyway" "$guest_fault
HU-E2E: result pass=23 fail=0"
[ "$boots" = 1 ]
check "a boot that passed despite a fault is not booted again" $?

echo "run_qemu_test: $fails failed"
[ "$fails" = 0 ]
