#!/usr/bin/env bash
# Judges a serial log of the scheduling hooks' end-to-end test
# (tests/xen/sched/dom0-init, make -f Makefile.xen e2e-sched).
#   check-log.sh patched LOG    every check passed, the hook counts and the
#                               benchmark lines are there
#   check-log.sh unpatched LOG  both domUs came up and the checks failed
#                               because Xen lacks the hooks
# Prints the hook counts, the benchmark and the verdict; exits 0 when the
# log is as wanted, 1 otherwise.
set -uo pipefail

mode=$1 log=$2
# Every check dom0-init makes; one missing from a patched log is a failure.
checks=(daemon-up busy-up bench-up module-loaded load-tlb tlb-deferred tlb-errors tlb-host-acked
	load-preempt-credit2 credit2-grants preempt-errors-credit2 credit1-pool load-preempt-credit1
	credit1-grants preempt-errors-credit1
	install-defer-forever install-greedy hostile-shootdown-completes hostile-lockbench-completes
	hostile-tlb-nothing-lost greedy-capped greedy-budget greedy-overridden programs-gone)
bad=0
want() { # DESCRIPTION PATTERN (extended regexp on the log)
	if grep -aqE -- "$2" "$log"; then
		echo "check-log: $mode: $1: yes"
	else
		echo "check-log: $mode: $1: NO"
		bad=1
	fi
}

[ -r "$log" ] || { echo "check-log: no log $log"; exit 1; }
grep -a -E 'HU-HOST: (boot took|retry)' "$log" || true
grep -a '^HU-E2E: retr' "$log" || true
want "dom0 ran the test to its end" '^HU-E2E: result pass=[0-9]+ fail=[0-9]+'
want "the bench guest booted" '^HU-E2E: bench: hu-sched: bench guest up'
want "the busy domain booted" '^HU-E2E: busy: hu-sched: busy guest up'
case $mode in
patched)
	for c in "${checks[@]}"; do want "check $c" "^HU-E2E: check $c ok"; done
	want "no check failed" '^HU-E2E: result pass=[0-9]+ fail=0'
	want "tlb.flush hook counts" '^HU-E2E: hook counts tlb.flush: runs=[1-9][0-9]* deferred=[1-9][0-9]* .*cycles_per_run=[1-9]'
	want "sched.preempt hook counts (credit2)" '^HU-E2E: hook counts sched.preempt \(credit2\): runs=[1-9][0-9]* grants=[1-9]'
	want "sched.preempt hook counts (credit1)" '^HU-E2E: hook counts sched.preempt \(credit1\): runs=[1-9][0-9]* grants=[1-9]'
	grep -a '^HU-E2E: hook counts\|^HU-E2E: bench' "$log" || true
	;;
unpatched)
	want "checks failed" '^HU-E2E: result pass=[0-9]+ fail=[1-9]'
	want "loading the tlb.flush policy failed" '^HU-E2E: check load-tlb FAIL'
	;;
*)
	echo "usage: $0 patched|unpatched LOG" >&2
	exit 2
	;;
esac
if [ "$bad" = 0 ]; then
	echo "check-log: $mode: as wanted"
else
	grep -a 'HU-E2E: check .* FAIL' "$log" | head -20
	tail -20 "$log"
fi
exit "$bad"
