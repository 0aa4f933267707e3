#!/usr/bin/env bash
# Judges the serial log of `make -f Makefile.xen e2e-libvirt`:
#   check-log.sh LOG MIN_CHECKS
# Prints the checks and the result; fails unless dom0's /init reported
# fail=0 with at least MIN_CHECKS passes (a run that stops early reports
# fewer) and no check line says FAIL.
set -euo pipefail
log=${1:?usage: check-log.sh LOG MIN_CHECKS}
min=${2:?usage: check-log.sh LOG MIN_CHECKS}
grep -a 'HU-E2E: check\|HU-E2E: result\|HU-HOST:' "$log" || true
res=$(grep -a 'HU-E2E: result pass=' "$log" | tail -1 | tr -d '\r')
[[ "$res" =~ pass=([0-9]+)\ fail=([0-9]+) ]] || { echo "e2e-libvirt: no result line in $log" >&2; exit 1; }
pass=${BASH_REMATCH[1]} fail=${BASH_REMATCH[2]}
if grep -aq 'HU-E2E: check .* FAIL' "$log" || [ "$fail" != 0 ] || [ "$pass" -lt "$min" ]; then
	echo "e2e-libvirt: FAILED (pass=$pass fail=$fail, need pass>=$min fail=0); log $log" >&2
	exit 1
fi
echo "e2e-libvirt: passed ($pass checks); log $log"
