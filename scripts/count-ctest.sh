#!/usr/bin/env bash
# count-ctest.sh CTEST_LOG [ALLOWED_SKIPS_FILE]: reads one ctest run's
# output and prints "PASSED FAILED" on its last line. A skipped test (exit
# 77; ctest counts it as passed) did not run: it is counted as failed unless
# ALLOWED_SKIPS_FILE (default tests/allowed-skips.txt) lists it ("NAME
# reason" lines, # comments). A run with no summary line counts as one
# failure, unless ctest found no tests at all.
set -uo pipefail
log=${1:?usage: count-ctest.sh CTEST_LOG [ALLOWED_SKIPS_FILE]}
allowed_file=${2:-$(dirname "$0")/../tests/allowed-skips.txt}
allowed=$(grep -vE '^[[:space:]]*(#|$)' "$allowed_file" 2>/dev/null | awk '{print $1}')
line=$(grep -E 'tests passed, [0-9]+ tests failed out of [0-9]+' "$log" | tail -1)
if [ -z "$line" ]; then
	if grep -q 'No tests were found' "$log"; then echo "0 0"; else echo "0 1"; fi
	exit 0
fi
total=$(sed -E 's/.* out of ([0-9]+).*/\1/' <<<"$line")
failed=$(sed -E 's/.*, ([0-9]+) tests failed.*/\1/' <<<"$line")
pass=$((total - failed))
fail=$failed
while read -r name; do
	[ -n "$name" ] || continue
	pass=$((pass - 1))
	if grep -qxF "$name" <<<"$allowed"; then
		echo "skipped (allowed by tests/allowed-skips.txt): $name"
	else
		echo "SKIPPED, counted as failed (not in tests/allowed-skips.txt): $name"
		fail=$((fail + 1))
	fi
done < <(sed -nE 's/^[[:space:]]*[0-9]+ - (.+) \(Skipped\)$/\1/p' "$log")
echo "$pass $fail"
