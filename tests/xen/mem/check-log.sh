#!/usr/bin/env bash
# Judges a serial log of the memory hooks' boot (tests/xen/mem/dom0-init,
# make -f Makefile.xen e2e-mem).
#   check-log.sh patched LOG    every check passed, FLASK enforcing, the
#                               benefit lines present
#   check-log.sh unpatched LOG  Debian's Xen: the guest came up and the
#                               checks failed for want of the domctl
# Prints what it found and the HU-BENEFIT lines; exits 0 when the log is as
# wanted, 1 otherwise.
set -euo pipefail

mode=${1:-} log=${2:-}
# Every check dom0-init makes; one missing from a patched log is a failure.
checks=(flask-enforcing daemon-up load-reclaim-accepted load-protect-accepted reclaim-installed
	protect-installed xen-holds-reclaim xen-holds-protect guest-domctl-denied
	flask-avc-hyperupcall-query protect-expected-allowed protect-stray-denied
	protect-page-keeps-allowed-value protect-write-gva-log protect-denied-rip-is-stray-writer
	protect-program-counts helpers-bounded-and-zeroed write-gva-size-zero protect-bench reclaim-128mib
	reclaim-back-in-xen reclaim-domain-smaller reclaim-kept-pages-intact reclaim-alloc-after reclaim-frames-repopulated
	balloon-reached-target
	move-protected-before move-save move-saved-protected-range move-restore
	move-restored-protected-paused move-restored-state-same move-restore-memory-whole
	move-restore-guest-writes move-restore-counts-continue move-restore-pages-intact move-restore-alloc
	move-migrate move-migrated-protected-paused move-migrated-state-same
	move-migrate-guest-writes move-migrate-counts-continue move-migrate-pages-intact
	protect-detached protect-restored gone-xen-released protect-xen-cycles)
who=check-mem-log
. "$(dirname "$0")/../want.sh"

[ -r "$log" ] || { echo "check-mem-log: no log '$log'" >&2; exit 1; }
grep -a -E 'HU-HOST: (boot took|retry)' "$log" || true
grep -a "^HU-E2E: retries" "$log" || true
want "dom0 ran the test to its end" '^HU-E2E: result pass=[0-9]+ fail=[0-9]+'
want "the PVH domU booted" '^HU-E2E: mem: hu-mem: init, kernel '
case $mode in
patched)
	want "Xen enforced FLASK" '\(XEN\) .*Flask:  Starting in enforcing mode'
	for c in "${checks[@]}"; do want "check $c" "^HU-E2E: check $c ok"; done
	want "no check failed" '^HU-E2E: result pass=[0-9]+ fail=0'
	want "benefit: hyperupcall reclaim" '^HU-E2E: HU-BENEFIT: reclaim method=hyperupcall asked_mib=128 seconds=[0-9.]+ '
	want "benefit: balloon" '^HU-E2E: HU-BENEFIT: reclaim method=balloon asked_mib=128 '
	want "benefit: protected write" '^HU-E2E: HU-BENEFIT: protect write_cycles plain=[0-9]+ protected=[0-9]+'
	want "benefit: Xen's cycles per fault" '^HU-E2E: HU-BENEFIT: protect xen_cycles_per_fault=[0-9]+'
	grep -a 'HU-BENEFIT:' "$log" || true
	grep -a "^HU-E2E: \(Xen's account of domain\|xl save took\|xl restore -p took\|xl migrate -p took\)" "$log" || true
	;;
unpatched)
	want "checks failed" '^HU-E2E: result pass=[0-9]+ fail=[1-9]'
	want "no program was accepted" '^HU-E2E: check load-protect-accepted FAIL'
	want "nothing was reclaimed" '^HU-E2E: check reclaim-128mib FAIL'
	# The restore's checks only: an emulator fault (tests/xen/README.md)
	# that ends a domU later can stop an unpatched run before the migration.
	want "no protected range after the restore" '^HU-E2E: check move-restored-protected-paused FAIL'
	want "a stray write went through after the restore" '^HU-E2E: check move-restore-guest-writes FAIL'
	want "because Xen lacks the domctl" 'Function not implemented \(hypervisor without the hyperupcall patches\?\)'
	;;
*)
	echo "usage: check-log.sh patched|unpatched LOG" >&2
	exit 2
	;;
esac
context_on_failure
exit $bad
