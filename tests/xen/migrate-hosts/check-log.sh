#!/usr/bin/env bash
# Judges the serial logs of `make -f Makefile.xen e2e-migrate-hosts`:
#   check-log.sh A-LOG B-LOG C-LOG
# Every check each host's dom0 makes must be there and pass (a run that
# stops early misses some), each host must report fail=0, and what host B
# found on arrival must continue host A's state before the move: every map
# entry A's Xen held is there, counted at least as far.
set -euo pipefail
a=${1:?usage: check-log.sh A-LOG B-LOG C-LOG} b=${2:?usage} c=${3:?usage}
a_checks=(libvirtd-up daemon-up domU-create guest-loads programs-by-uuid round-1
	c-reachable c-refused c-still-running c-programs-stay c-rows-stay c-counts-go-on
	b-reachable b-migrated b-gone-here b-xen-programs-gone b-rows-closed b-running-there b-same-uuid
	plain-ready plain-no-programs plain-migrated plain-running-there)
b_checks=(libvirtd-up daemon-up arrived arrived-counts xen-programs adopted-by-uuid adopted-from-a
	domain-named runs-as-code counts-go-on)
c_checks=(debian-libxenguest unpatched-xen libvirtd-up refused-record refused-nothing-left
	plain-arrived plain-runs-here)
bad=0
judge() { # HOST LOG CHECK...
	local host=$1 log=$2 c
	shift 2
	echo "--- host $host: $log"
	if [ ! -r "$log" ]; then
		echo "e2e-migrate-hosts: no log $log" >&2
		bad=1
		return
	fi
	grep -a 'HU-E2E: check\|HU-E2E: result\|HU-E2E: hook counts\|HU-E2E: virsh migrate\|HU-HOST:' "$log" || true
	for c in "$@"; do
		grep -aq "HU-E2E: check $c ok" "$log" || { echo "e2e-migrate-hosts: host $host: check $c did not pass" >&2; bad=1; }
	done
	grep -aqE "HU-E2E: result pass=[0-9]+ fail=0" "$log" ||
		{ echo "e2e-migrate-hosts: host $host: checks failed or no result" >&2; bad=1; }
}
judge A "$a" "${a_checks[@]}"
judge B "$b" "${b_checks[@]}"
judge C "$c" "${c_checks[@]}"
# The map entries: "hu-xenctl: state map map=M key=K value=V".
entries() { sed -n "s/^HU-E2E: $2: hu-xenctl: state map \(map=[0-9]* key=[0-9a-f]*\) value=\([0-9]*\).*/\1 \2/p" "$1" | tr -d '\r'; }
if [ -r "$a" ] && [ -r "$b" ]; then
	entries "$a" before-b >/tmp/mh-before.$$
	entries "$b" arrived >/tmp/mh-arrived.$$
	behind=$(awk 'FNR == NR { v[$1 " " $2] = $3; next } { k = $1 " " $2; if (!(k in v) || v[k] + 0 < $3 + 0) print k " " $3 " -> " (k in v ? v[k] : "missing") }' \
		/tmp/mh-arrived.$$ /tmp/mh-before.$$)
	n=$(wc -l </tmp/mh-before.$$)
	rm -f /tmp/mh-before.$$ /tmp/mh-arrived.$$
	if [ "$n" -gt 0 ] && [ -z "$behind" ]; then
		echo "e2e-migrate-hosts: B's arrival continues A's state: $n map entries, none lost or behind"
	else
		echo "e2e-migrate-hosts: B's arrival does not continue A's state ($n entries before): $behind" >&2
		bad=1
	fi
fi
[ $bad = 0 ] && echo "e2e-migrate-hosts: passed; logs $a $b $c"
exit $bad
