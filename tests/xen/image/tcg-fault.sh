#!/bin/sh
# tcg-fault.sh LOG: exit 0, printing which (one word), when Xen's serial
# log shows a fault of QEMU's TCG emulation of nested SVM (tests/xen/
# README.md, "Emulator faults") in a boot whose run did not pass:
#   vmrun        a domU "Triple fault" whose vCPU dump has Xen's code
#                segment (cs e008) and a rip in Xen's text: QEMU saved the
#                host's state at VMRUN as the guest's
#   guest-triple a domU "Triple fault" at a guest rip: the guest's own
#                exception handling faulted. Linux reports its own bugs by
#                an oops or a panic, never by a triple fault, and this
#                happens on Debian's unpatched Xen as on ours
#   clock-leap   Xen's own clock leapt hours ahead ("Platform timer appears
#                to have unexpectedly wrapped"); dom0 then stalls
# A run that still ended with no failed check (dom0's start_domain retried
# a domain that died before it was ready, or the sched test revived one)
# does not count. Makefile.xen's run_qemu boots once more on exit 0; a
# second boot must pass on its own, so a fault of ours that repeats still
# fails the test. With --any, a log of a single fault (the sched test's
# dump of one death) needs no result line.
[ "$1" = --any ] && { any=1; shift; }
log=${1:?usage: tcg-fault.sh [--any] LOG}
[ -n "$any" ] || ! grep -aqE '^HU-E2E: result pass=[0-9]+ fail=0' "$log" || exit 1
if grep -aq 'Platform timer appears to have unexpectedly wrapped' "$log"; then
	echo clock-leap
	exit 0
fi
# The dump follows its "Triple fault" line within six lines; dom0 (d0)
# triple-faulting would end the boot, not a domU.
awk '/d[1-9][0-9]*v[0-9]+ Triple fault/ { n = NR; tf = 1 }
	n && NR - n <= 6 && /RIP: +e008:\[<ffff82d0/ { xen = 1 }
	END { if (xen) print "vmrun"; else if (tf) print "guest-triple"; exit !tf }' "$log"
