#!/usr/bin/env bash
# Reads the serial log of one QEMU boot of the end-to-end test.
#   check-log.sh patched LOG     every check passed, Xen logged the
#                                installs and the releases on destroy,
#                                and the PVH domU's VM-exit counts are in
#   check-log.sh unpatched LOG   dom0 and both domUs (PV, PVH) came up,
#                                and the test failed because Xen lacks
#                                the domctl
# Prints the hook counts and the verdict; exits 0 when the expectation
# holds.
set -uo pipefail
mode=$1 log=$2

[ -f "$log" ] || { echo "check-log: no log $log"; exit 1; }
grep -a -E 'HU-HOST: (boot took|retry)' "$log"
grep -a 'HU-E2E: hook counts' "$log" || true
grep -a 'HU-E2E: exit cost' "$log" || true
grep -a 'HU-E2E: trace.exit cycles per run' "$log" || true
# Domains that died before they were ready and were created again.
grep -a 'HU-E2E: retr' "$log" || true
result=$(grep -a 'HU-E2E: result ' "$log" | tail -1)
if [ -z "$result" ]; then
	echo "check-log: $mode: no result line (boot failed or timed out); last lines:"
	tail -30 "$log"
	exit 1
fi
echo "check-log: $mode: ${result#*HU-E2E: }"
pass=$(sed -n 's/.*pass=\([0-9]*\).*/\1/p' <<<"$result")
fail=$(sed -n 's/.*fail=\([0-9]*\).*/\1/p' <<<"$result")

case "$mode" in
patched)
	errs=()
	[ "$fail" = 0 ] || errs+=("$fail checks failed")
	[ "$pass" -ge 20 ] || errs+=("only $pass checks passed")
	grep -aq 'hyperupcall 0x1 installed on hook 4' "$log" || errs+=("Xen did not log the trace.exit install")
	grep -aq 'hyperupcall 0x5 installed on hook 4 (.*, jit)' "$log" || errs+=("Xen did not log the JIT install")
	grep -aq 'HU-E2E: check jit-ring-same ok' "$log" || errs+=("the JIT's trace records were not compared")
	grep -aq 'HU-E2E: trace.exit cycles per run (one boot, the same exits): interpreter=[1-9][0-9]* jit=[1-9]' "$log" ||
		errs+=("no cycles per run for both engines")
	grep -aq 'hyperupcall: released 3 programs' "$log" || errs+=("Xen did not log the release of 3 programs")
	# The HVM half: trace.exit at VM exit on the PVH domU, every tagged
	# hypercall seen as a VM exit, and its program released on destroy.
	grep -aq 'HU-E2E: check pvh-trace-tagged ok' "$log" || errs+=("no exact tagged count at HVM VM exit")
	grep -aq 'HU-E2E: hook counts trace.exit (HVM VM exit): vmexits=[1-9][0-9]* tagged_vmmcalls=[1-9]' "$log" ||
		errs+=("no HVM VM-exit hook counts")
	grep -aq 'hyperupcall 0x1 installed on hook 4 (61 insns, 2 maps' "$log" ||
		errs+=("Xen did not log the install of trace_vmexit.s")
	grep -aq 'hyperupcall: released 1 programs' "$log" || errs+=("Xen did not log the release of the PVH domU's program")
	if [ "${#errs[@]}" -gt 0 ]; then
		grep -a 'HU-E2E: check .* FAIL' "$log"
		printf 'check-log: patched: %s\n' "${errs[@]}"
		exit 1
	fi
	echo "check-log: patched Xen passed all $pass checks"
	;;
unpatched)
	# It must get far enough that the failure is ours: the domU ran.
	if ! grep -aq 'HU-E2E: guest ready' "$log"; then
		echo "check-log: unpatched: the domU never became ready; the run proves nothing"
		exit 1
	fi
	if ! grep -aq 'HU-E2E: pvh guest ready' "$log"; then
		echo "check-log: unpatched: the PVH domU never became ready; its half proves nothing"
		exit 1
	fi
	if ! grep -aq 'HU-E2E: check pvh-install-trace FAIL' "$log"; then
		echo "check-log: unpatched: installing the VM-exit program did not fail"
		exit 1
	fi
	if [ "$fail" = 0 ]; then
		echo "check-log: unpatched Xen passed the test: it does not test our code"
		exit 1
	fi
	grep -a 'HU-E2E: check install-trace FAIL\|HU-E2E: check pvh-install-trace FAIL' "$log" | head -2
	echo "check-log: unpatched Xen failed $fail checks, as it must"
	;;
*) echo "usage: $0 patched|unpatched LOG" >&2; exit 2 ;;
esac
