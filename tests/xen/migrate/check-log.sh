#!/usr/bin/env bash
# Judges the serial log of `make -f Makefile.xen e2e-migrate`:
#   check-log.sh LOG
# Every check dom0-init makes must be there and pass (a run that stops early
# misses some), and dom0 must report fail=0.
set -euo pipefail
log=${1:?usage: check-log.sh LOG}
checks=(daemon-up guest-loads round-1 reclaim-before
	saved-two-programs saved-note saved-counts saved-engine load-twice-same load-translates-again
	load-refuses-cut load-refuses-magic load-refuses-version damage-changed-nothing
	xl-save save-record saved-rows-closed xl-restore restore-adopted restored-state-same
	restored-rows counts-after-restore restored-runs-as-code reclaim-after-restore
	xl-migrate migrate-adopted migrated-rows-closed migrated-rows counts-after-migrate
	migrated-runs-as-code
	reclaim-after-migrate
	unpatched-refused unpatched-still-here unpatched-programs-stay unpatched-rows-stay
	counts-after-unpatched
	policy-refused policy-still-here policy-programs-stay counts-after-refusal
	plain-no-programs plain-migrated plain-no-record plain-guest-runs)
[ -r "$log" ] || { echo "e2e-migrate: no log $log" >&2; exit 1; }
grep -a 'HU-E2E: check\|HU-E2E: result\|HU-E2E: hook counts\|HU-E2E: saved:\|HU-E2E: restored:\|HU-HOST:' "$log" || true
bad=0
for c in "${checks[@]}"; do
	grep -aq "HU-E2E: check $c ok" "$log" || { echo "e2e-migrate: check $c did not pass" >&2; bad=1; }
done
grep -aqE "HU-E2E: result pass=[0-9]+ fail=0" "$log" || { echo "e2e-migrate: checks failed" >&2; bad=1; }
[ $bad = 0 ] && echo "e2e-migrate: passed; log $log"
exit $bad
