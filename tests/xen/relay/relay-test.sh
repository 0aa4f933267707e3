#!/bin/sh
# hu-xen-channel without Xen: hyperupcalld (sim, two guests), a stand-in for
# the channel's dom0 socket (channel_pty.py: a listening unix socket carried
# to a pty, as qemu's chardev does), the relay for domain 2, and the guest
# tool on the pty. The program must land in domain 2 (the channel's), not
# in domain 1, and a second tool run (a new console session) must work.
#   relay-test.sh HYPERUPCALLD HYPERUPCALLCTL HU_XEN_CHANNEL HYPERUPCALL POLICY_DIR SRC_POLICY_DIR
set -u
d=$(mktemp -d)
pids=""
cleanup() {
	for p in $pids; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
	rm -rf "$d"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; for f in "$d"/*.log; do echo "--- $f"; cat "$f"; done; exit 1; }

"$1" --backend sim --sim-guests 2 --state "$d/state" --operator-socket "$d/op.sock" \
	--guest-socket-dir "$d/guests" >"$d/daemon.log" 2>&1 &
pids="$pids $!"
python3 "$(dirname "$0")/channel_pty.py" "$d/ch.sock" >"$d/pty.log" 2>&1 &
pids="$pids $!"
i=0
while { [ ! -S "$d/op.sock" ] || [ ! -S "$d/ch.sock" ]; } && [ $i -lt 300 ]; do
	sleep 0.1; i=$((i + 1))
done
[ -S "$d/op.sock" ] && [ -S "$d/ch.sock" ] || fail "daemon or channel did not start"
pty=$(sed -n 's/^pty //p' "$d/pty.log")
"$3" --channel "$d/ch.sock" --domid 2 --guest-socket-dir "$d/guests" >"$d/relay.log" 2>&1 &
pids="$pids $!"

"$4" --connect "hvc:$pty" --kallsyms "$d/state/kallsyms/2/kallsyms" --timeout 60 \
	load "$5/trace.bpf.o" --manifest "$6/trace.manifest.json" >"$d/load.log" 2>&1 ||
	fail "load over the relayed channel"
cat "$d/load.log"
"$2" --socket "$d/op.sock" prog list --domain 2 >"$d/list2.log" 2>&1 || fail "prog list 2"
grep -q 'trace.exit' "$d/list2.log" || fail "program not in domain 2"
"$2" --socket "$d/op.sock" prog list --domain 1 >"$d/list1.log" 2>&1 || fail "prog list 1"
! grep -q 'trace.exit' "$d/list1.log" || fail "program showed up in domain 1"
# A second guest run is a new console session through the same relay.
"$4" --connect "hvc:$pty" --timeout 60 list >"$d/list-guest.log" 2>&1 || fail "second session"
grep -q 'trace.exit' "$d/list-guest.log" || fail "second session does not list the program"
cat "$d/list2.log" "$d/list-guest.log"
echo ok
