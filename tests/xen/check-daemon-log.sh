#!/usr/bin/env bash
# Judges a serial log of the daemon end-to-end test (tests/xen/image/
# dom0-init-daemon, make -f Makefile.xen e2e-daemon).
#   check-daemon-log.sh patched LOG    every check below passed, none failed
#   check-daemon-log.sh unpatched LOG  the domU came up and the checks failed
#                                      because Xen lacks XEN_DOMCTL_hyperupcall
# Prints what it found; exits 0 when the log is as wanted, 1 otherwise.
set -euo pipefail

mode=$1 log=$2
# Every check dom0-init-daemon makes; one missing from a patched log is a failure.
checks=(daemon-up load-trace-accepted load-reclaim-accepted trace-installed reclaim-installed
	unsafe-load-failed unsafe-guest-told unsafe-listed-rejected unsafe-listed-message
	xen-programs xen-holds-trace xen-holds-reclaim xen-lacks-unsafe
	trace-runs trace-records-exact trace-map-counts reclaim-matches-guest reclaim-mixed
	gone-trace-detached gone-reclaim-detached gone-xen-list gone-xen-released)
who=check-daemon-log
. "$(dirname "$0")/want.sh"

[ -r "$log" ] || { echo "check-daemon-log: no log $log"; exit 1; }
grep -a -E 'HU-HOST: (boot took|retry)' "$log" || true
want "dom0 ran the test to its end" '^HU-E2E: result pass=[0-9]+ fail=[0-9]+'
want "the domU booted" '^HU-E2E: domU: hu-guest: init, kernel '
case $mode in
patched)
	for c in "${checks[@]}"; do want "check $c" "^HU-E2E: check $c ok"; done
	want "no check failed" '^HU-E2E: result pass=[0-9]+ fail=0'
	want "trace.exit hook counts" '^HU-E2E: hook counts trace.exit via hyperupcallctl: runs=[0-9]+'
	want "mem.reclaim hook counts" '^HU-E2E: hook counts mem.reclaim via hyperupcallctl: frames=[0-9]+ free=[1-9]'
	grep -a '^HU-E2E: hook counts' "$log" || true
	;;
unpatched)
	want "checks failed" '^HU-E2E: result pass=[0-9]+ fail=[1-9]'
	want "the trace policy was not accepted" '^HU-E2E: check load-trace-accepted FAIL'
	want "the reclaim scan found nothing" '^HU-E2E: check reclaim-matches-guest FAIL'
	want "because Xen lacks the domctl" 'Function not implemented \(hypervisor without the hyperupcall patches\?\)'
	;;
*)
	echo "usage: check-daemon-log.sh patched|unpatched LOG" >&2
	exit 2
	;;
esac
context_on_failure
exit $bad
