#!/usr/bin/env bash
# scripts/count-ctest.sh on made-up ctest logs: a skip not on the allowed
# list is a failure, one on it is neither passed nor failed, a run without a
# summary is a failure.
set -uo pipefail
count=$1
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
printf '# comment\nallowed-one  the reason\n' >"$dir/allowed"
fails=0
check() { # WHAT LOG EXPECTED
	local got
	got=$(bash "$count" "$2" "$dir/allowed" | tail -n 1)
	if [ "$got" = "$3" ]; then echo "ok: $1 ($got)"; else echo "FAIL: $1: got '$got', want '$3'"; fails=$((fails + 1)); fi
}
cat >"$dir/log1" <<'L'
100% tests passed, 0 tests failed out of 5

Total Test time (real) =   1.00 sec

The following tests did not run:
	  3 - allowed-one (Skipped)
	  4 - daemon_libvirt_restart (Skipped)
L
check "an unlisted skip fails, a listed one does not pass" "$dir/log1" "3 1"
cat >"$dir/log2" <<'L'
80% tests passed, 1 tests failed out of 5
L
check "failures are failures" "$dir/log2" "4 1"
echo "ctest crashed" >"$dir/log3"
check "no summary line is a failure" "$dir/log3" "0 1"
echo "No tests were found!!!" >"$dir/log4"
check "no tests found is neither" "$dir/log4" "0 0"
# Captured first: grep -q closing the pipe early would fail it under pipefail.
out=$(bash "$count" "$dir/log1" "$dir/allowed")
grep -q 'SKIPPED, counted as failed (not in tests/allowed-skips.txt): daemon_libvirt_restart' <<<"$out" &&
	echo "ok: the unlisted skip is named" || { echo "FAIL: the unlisted skip is not named"; fails=$((fails + 1)); }
exit $fails
