#!/usr/bin/env bash
# The fleet on one machine: a three-member etcd cluster (Debian's
# etcd-server) and three hyperupcalld hosts on the sim backend, started
# here, driven through `hyperupcallctl fleet` and the guests' own
# `hyperupcall` tool. Every scenario of issue 18: a policy set once is
# enforced by all hosts; an approval on one host lets the same program
# through on another; one etcd member killed changes nothing; all of etcd
# killed leaves the last policy enforced and the health service degraded;
# a change made while a host could not reach etcd arrives when it can;
# compaction forces a full read; a domain UUID moving between hosts keeps
# its policy; compare-and-swap refuses a stale write.
set -uo pipefail
build=$1
src=$(cd "$(dirname "$0")" && pwd)
tool=$build/guest-driver/hyperupcall
probe=$build/tests/integration/hu_guest_probe
pol=$build/policies
for f in "$build/dom0-daemon/hyperupcalld" "$build/dom0-daemon/hyperupcallctl" "$tool" "$probe" \
	"$pol/reclaim.bpf.o" "$pol/trace.bpf.o"; do
	for _ in $(seq 1 120); do [ -e "$f" ] && break; sleep 1; done
	[ -e "$f" ] || { echo "FAIL: $f was not built"; exit 1; }
done
work=$(mktemp -d /tmp/hu-fleet.XXXXXX)
source "$src/fleet-lib.sh"

pass=0 fail=0
ok() { pass=$((pass + 1)); echo "ok   $*"; }
bad() { fail=$((fail + 1)); echo "FAIL $*"; }
expect() { if grep -qF -- "$3" <<<"$2"; then ok "$1"; else bad "$1: expected '$3' in: $2"; fi; }
json() { python3 -c 'import json,sys; d=json.load(sys.stdin); print(eval(sys.argv[1]))' "$1"; }
cleanup() {
	fleet_cleanup
	if [ "$fail" -ne 0 ]; then
		for l in "$work"/h*/daemon.log; do echo "--- $l"; tail -40 "$l"; done
	fi
	rm -rf "$work"
}
trap cleanup EXIT

# sim_config HOST DOMID:UUID...: guests with these UUIDs (names HOST-gN).
sim_config() {
	local h=$1 g guests=
	shift
	for g in "$@"; do
		guests+="${guests:+,}{\"domid\": ${g%%:*}, \"name\": \"$h-g${g%%:*}\", \"uuid\": \"${g#*:}\"}"
	done
	echo "{\"guests\": [$guests]}" >"$work/$h.sim.json"
	echo "$work/$h.sim.json"
}
load() { # load HOST DOMID POLICY: the guest tool's JSON answer
	"$tool" --connect "unix:$work/$1/guests/$2.sock" \
		--kallsyms "$work/$1/state/kallsyms/$2/kallsyms" --timeout 10 \
		load "$pol/$3.bpf.o" --manifest "$pol/$3.manifest.json" --json
}
verdict() { json 'd["programs"][0]["verdict"]'; }
status() { hctl "$1" --json fleet status | json "$2"; }
# policy_is HOST DOMID HOOKS: the host's effective policy for the domain allows exactly HOOKS
policy_is() { [ "$(hctl "$1" --json policy get --domain "$2" | json '",".join(d["allowed_hooks"])')" = "$3" ]; }
degraded_is() { [ "$(status "$1" 'd["degraded"]')" = "$2" ]; }
health_of() { "$probe" --socket "$work/$1/op.sock" health --service hyperupcall.fleet; }
# fset ARGS: `fleet policy set ARGS`, retried while the cluster elects a
# leader after a member was killed (each try a compare-and-swap on the
# revision it read).
fset() { wait_for 20 fctl policy set "$@" >/dev/null; }
prog_state() { hctl "$1" --json prog show "$2" | json 'd["state"]'; }
state_is() { [ "$(prog_state "$1" "$2")" = "$3" ]; }
approval_is() { [ "$(hctl "$1" --json policy get | json 'd["require_approval"]')" = True ]; }

U1=11111111-1111-4111-8111-000000000001 U2=11111111-1111-4111-8111-000000000002
U3=22222222-2222-4222-8222-000000000003 U4=22222222-2222-4222-8222-000000000004
U5=33333333-3333-4333-8333-000000000005 U6=33333333-3333-4333-8333-000000000006

etcd_start 3 || { bad "etcd cluster"; exit 1; }
ok "three-member etcd cluster up ($(etcd_endpoints))"
# h1 and h2 know every member, h3 only the third: killing that one cuts
# h3 off while the cluster keeps serving the others.
host_start h1 "$(etcd_endpoints)" --sim-config "$(sim_config h1 1:$U1 2:$U2)" || exit 1
host_start h2 "$(etcd_endpoints 2 1 3)" --sim-config "$(sim_config h2 1:$U3 2:$U4)" || exit 1
# h3 serves metrics: its hyperupcall_fleet_degraded gauge follows the cut.
m3=127.0.0.1:$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
host_start h3 "$(etcd_endpoints 3)" --sim-config "$(sim_config h3 1:$U5 2:$U6)" --metrics-address "$m3" || exit 1
# degraded_gauge: h3's hyperupcall_fleet_degraded sample value
degraded_gauge() {
	python3 -c 'import sys,urllib.request
for l in urllib.request.urlopen(sys.argv[1], timeout=10).read().decode().splitlines():
    if l.startswith("hyperupcall_fleet_degraded "): print(int(float(l.split()[1])))' "http://$m3/metrics"
}

# --- registry and the one view
registered() { [ "$(fctl --json hosts | json '",".join(h["host"]+":"+h["state"] for h in d)')" = "h1:ok,h2:ok,h3:ok" ]; }
wait_for 30 registered && ok "fleet hosts: h1, h2, h3 registered and ok" ||
	bad "fleet hosts: $(fctl hosts)"
out=$(fctl domains)
expect "fleet domains lists h2's guests by UUID" "$out" "$U4"
out=$(health_of h1)
expect "health hyperupcall.fleet SERVING on h1" "$out" "SERVING"

# --- a policy set once is enforced by all three
out=$(fctl policy set --hooks mem.reclaim)
expect "fleet policy set" "$out" "fleet-wide policy set at revision"
rev=$(fctl --json policy get | json 'd["mod_revision"]')
for h in h1 h2 h3; do
	wait_for 10 policy_is $h 1 mem.reclaim && ok "$h applies the fleet policy (revision $rev)" ||
		bad "$h policy: $(hctl $h policy get --domain 1)"
	out=$(load $h 1 trace)
	expect "$h refuses trace.exit by the fleet policy" "$out" "hook trace.exit is not allowed"
	out=$(load $h 2 reclaim)
	expect "$h accepts mem.reclaim" "$(verdict <<<"$out")" "accepted"
done
out=$(hctl h1 --json fleet status)
expect "h1 fleet status at the policy's revision" "$(json 'd["revision"] >= '"$rev" <<<"$out")" True

# --- compare-and-swap on the revision the operator saw
out=$(fctl policy set --hooks mem.reclaim,trace.exit --revision $((rev - 1)) 2>&1)
rc=$?
expect "a write on a stale revision is refused" "$out" "ABORTED: fleet-wide policy changed since revision $((rev - 1))"
[ $rc -eq 1 ] && ok "refused write exits 1" || bad "refused write exit $rc"
expect "the refused write changed nothing" "$(fctl --json policy get | json 'd["mod_revision"]')" "$rev"
out=$(fctl policy set --hooks mem.reclaim,trace.exit --revision "$rev")
expect "a write on the current revision goes through" "$out" "set at revision"

# --- approvals: approve once on one host, honoured on the others
fctl policy set --require-approval yes >/dev/null
for h in h1 h2 h3; do wait_for 10 approval_is $h || bad "$h did not get require_approval"; done
out=$(load h1 1 trace)
expect "h1 holds trace for approval" "$(verdict <<<"$out")" "pending_approval"
id1=$(json 'd["programs"][0]["id"]' <<<"$out")
out=$(load h2 1 trace)
expect "h2 holds the same program" "$(verdict <<<"$out")" "pending_approval"
id2=$(json 'd["programs"][0]["id"]' <<<"$out")
hash=$(hctl h1 --json prog show "$id1" | json 'd["sha256"]')
expect "h1 and h2 name the same program hash" "$(hctl h2 --json prog show "$id2" | json 'd["sha256"]')" "$hash"
out=$(fctl approve --host h1 "$id1")
expect "fleet approve by host and id" "$out" "program sha256 $hash approved for the fleet"
wait_for 10 state_is h2 "$id2" installed &&
	ok "h1's approval installs h2's pending copy" || bad "h2 program $id2: $(hctl h2 prog show $id2)"
expect "h1's copy installed too" "$(prog_state h1 "$id1")" "installed"
out=$(load h3 1 trace)
expect "h3 accepts the approved program at once" "$(verdict <<<"$out")" "accepted"
expect "h3 says why" "$out" "approved for the fleet"
out=$(fctl approve "$hash")
expect "approving again says so" "$out" "already approved"
out=$(fctl --json programs)
expect "fleet programs: one hash on three hosts, approved" \
	"$(json '[(p["approved"], sorted(i["host"] for i in p["instances"])) for p in d if p["sha256"]=="'"$hash"'"]' <<<"$out")" \
	"[(True, ['h1', 'h2', 'h3'])]"
out=$(load h2 2 reclaim)
expect "an unapproved program still waits" "$(verdict <<<"$out")" "pending_approval"
fctl policy set --require-approval no >/dev/null

# --- one etcd member killed changes nothing
etcd_kill 1
ok "etcd member 1 killed"
# A write may meet the cluster electing a new leader: retried, each try a
# compare-and-swap on the revision it read.
fset --hooks mem.reclaim,sched.preempt ||
	bad "fleet write with one member down"
for h in h1 h2 h3; do
	wait_for 15 policy_is $h 1 mem.reclaim,sched.preempt &&
		ok "$h gets a change made with a member down" || bad "$h: $(hctl $h policy get --domain 1)"
	wait_for 15 degraded_is $h False && ok "$h not degraded" || bad "$h: $(hctl $h fleet status)"
done
etcd_restart 1 && ok "etcd member 1 back" || bad "etcd member 1 did not come back"

# --- a host cut off from etcd keeps its policy, and catches up
etcd_kill 3
wait_for 20 degraded_is h3 True && ok "h3 (only member 3) degraded" || bad "h3: $(hctl h3 fleet status)"
[ "$(degraded_gauge)" = 1 ] && ok "h3 metrics: hyperupcall_fleet_degraded 1" || bad "h3 gauge: $(degraded_gauge)"
out=$(health_of h3)
expect "h3 health hyperupcall.fleet NOT_SERVING" "$out" "NOT_SERVING"
expect "h3 health of the daemon itself still SERVING" "$("$probe" --socket "$work/h3/op.sock" health)" "SERVING"
out=$(hctl h3 fleet status)
expect "hyperupcallctl fleet status says DEGRADED" "$out" "DEGRADED"
fset --hooks mem.reclaim,tlb.flush || bad "fleet write with member 3 down"
wait_for 10 policy_is h1 1 mem.reclaim,tlb.flush && ok "h1 gets the change" || bad "h1 missed the change"
expect "h3 keeps the last policy it knew" "$(hctl h3 --json policy get --domain 1 | json '",".join(d["allowed_hooks"])')" "mem.reclaim,sched.preempt"
out=$(load h3 2 trace)
expect "h3 still refuses what that policy forbids" "$out" "hook trace.exit is not allowed"
h3_gone() { ! fctl --json hosts | json '[h["host"] for h in d]' | grep -q h3; }
wait_for 20 h3_gone && ok "h3's registry entry went with its lease" || bad "h3 still registered: $(fctl hosts)"
etcd_restart 3 && ok "etcd member 3 back" || bad "etcd member 3 did not come back"
wait_for 20 registered && ok "h3 registered again" || bad "fleet hosts: $(fctl hosts)"
wait_for 20 policy_is h3 1 mem.reclaim,tlb.flush && ok "h3 gets the change made meanwhile" ||
	bad "h3 after etcd came back: $(hctl h3 policy get --domain 1)"
wait_for 20 degraded_is h3 False && ok "h3 no longer degraded" || bad "h3: $(hctl h3 fleet status)"
[ "$(degraded_gauge)" = 0 ] && ok "h3 metrics: hyperupcall_fleet_degraded 0" || bad "h3 gauge: $(degraded_gauge)"
expect "h3 caught up from its revision, no full read" "$(status h3 'd["resyncs"]')" "1"

# --- all of etcd killed
for i in 1 2 3; do etcd_kill $i; done
for h in h1 h2; do
	wait_for 20 degraded_is $h True && ok "$h degraded with all of etcd gone" || bad "$h: $(hctl $h fleet status)"
	expect "$h health NOT_SERVING" "$(health_of $h)" "NOT_SERVING"
	out=$(load $h 2 trace)
	expect "$h still enforces the last fleet policy" "$out" "hook trace.exit is not allowed"
done
# A host restarted without etcd enforces the state it kept on disk.
host_stop h2
host_start h2 "$(etcd_endpoints 2 1 3)" --sim-config "$work/h2.sim.json" || bad "h2 restart"
wait_for 10 policy_is h2 1 mem.reclaim,tlb.flush && ok "h2 restarted without etcd enforces its kept state" ||
	bad "h2 after restart: $(hctl h2 policy get --domain 1)"
out=$(load h2 1 trace)
expect "restarted h2 refuses trace.exit" "$out" "hook trace.exit is not allowed"
# A new host that never reached etcd accepts nothing.
host_start h4 "$(etcd_endpoints)" --sim-guests 1 || bad "h4 start"
out=$(load h4 1 reclaim)
expect "a host that never synced refuses programs" "$out" "fleet policy not known yet"
host_stop h4
for i in 1 2 3; do etcd_run $i; done
wait_for 60 etcd_ok && ok "etcd cluster back" || bad "etcd did not come back"
for h in h1 h2 h3; do
	wait_for 20 degraded_is $h False && ok "$h reconnected" || bad "$h: $(hctl $h fleet status)"
done
fset --hooks mem.reclaim,trace.exit
for h in h1 h2 h3; do
	wait_for 10 policy_is $h 1 mem.reclaim,trace.exit && ok "$h follows changes again" || bad "$h stuck"
done

# --- restart catch-up from the revision, and compaction -> full read
host_stop h3
fctl policy set --hooks mem.reclaim >/dev/null
host_start h3 "$(etcd_endpoints 3)" --sim-config "$work/h3.sim.json" || bad "h3 restart"
wait_for 10 policy_is h3 1 mem.reclaim && ok "h3 restarted catches up a change made while it was down" ||
	bad "h3: $(hctl h3 policy get --domain 1)"
expect "h3 caught up from its kept revision (no full read)" "$(status h3 'd["resyncs"]')" "0"
host_stop h3
fctl policy set --hooks mem.reclaim,mem.protect >/dev/null
etcdctl put /hyperupcall/unrelated x >/dev/null
crev=$(etcdctl get /hyperupcall/unrelated -w json | json 'd["header"]["revision"]')
etcdctl compact "$crev" >/dev/null && ok "etcd compacted at revision $crev" || bad "compaction"
host_start h3 "$(etcd_endpoints 3)" --sim-config "$work/h3.sim.json" || bad "h3 restart"
wait_for 10 policy_is h3 1 mem.reclaim,mem.protect && ok "h3 gets the state after compaction" ||
	bad "h3: $(hctl h3 policy get --domain 1)"
expect "h3 read the whole state once (compacted revision)" "$(status h3 'd["resyncs"]')" "1"

# --- a domain UUID moving from host A to host B keeps its policy
out=$(fctl policy set --domain "$U2" --hooks trace.exit)
expect "fleet policy for domain $U2" "$out" "domain $U2 policy set at revision"
wait_for 10 policy_is h1 2 trace.exit && ok "h1 applies it to the domain with that UUID" || bad "h1 dom2"
expect "h1's other domain keeps the fleet-wide policy" "$(hctl h1 --json policy get --domain 1 | json '",".join(d["allowed_hooks"])')" "mem.reclaim,mem.protect"
out=$(load h1 2 reclaim)
expect "h1 refuses mem.reclaim for $U2" "$out" "hook mem.reclaim is not allowed"
# The domain leaves h1 and starts on h2 as domid 3.
host_stop h1
host_stop h2
host_start h2 "$(etcd_endpoints 2 1 3)" --sim-config "$(sim_config h2 1:$U3 2:$U4 3:$U2)" || bad "h2 with the moved domain"
wait_for 10 policy_is h2 3 trace.exit && ok "on h2 the moved domain keeps its fleet policy" ||
	bad "h2 dom3: $(hctl h2 policy get --domain 3)"
out=$(load h2 3 reclaim)
expect "h2 refuses mem.reclaim for the moved domain" "$out" "hook mem.reclaim is not allowed"
out=$(load h2 3 trace)
expect "h2 accepts trace.exit for it" "$(verdict <<<"$out")" "accepted"
out=$(fctl --json domains)
expect "fleet domains: the UUID on h2, governed by the fleet" \
	"$(json '[(r["host"], r["policy"]) for r in d if r.get("uuid")=="'"$U2"'"]' <<<"$out")" "[('h2', 'fleet')]"
gone() { ! fctl --json hosts | json '[h["host"] for h in d]' | grep -q h1; }
wait_for 10 gone && ok "h1 left the registry when it stopped" || bad "h1 still registered"

# --- hostile values and names
etcdctl put /hyperupcall/state/policy/host/h3 '{"allowed_hooks": ["mem.reclaim"' >/dev/null
wait_for 10 policy_is h3 1 "" && ok "a malformed host policy is enforced as nothing allowed" ||
	bad "h3: $(hctl h3 policy get --domain 1)"
expect "fleet status names the bad key" "$(hctl h3 fleet status)" "INVALID       /hyperupcall/state/policy/host/h3"
out=$(fctl policy set --host h3 --hooks no.such.hook 2>&1)
expect "ctl refuses an unknown hook before writing" "$out" "unknown hook 'no.such.hook'"
fctl policy clear --host h3 >/dev/null
wait_for 10 policy_is h3 1 mem.reclaim,mem.protect && ok "clearing the host key restores the fleet policy" || bad "h3 after clear"
FLEET_HOST_NAME=h3 host_start h5 "$(etcd_endpoints)" --sim-guests 1
refused() { hctl h5 fleet status | grep -q "already registered"; }
wait_for 10 refused &&
	ok "a second daemon with the same host name is refused and degraded" || bad "h5: $(hctl h5 fleet status)"
host_stop h5

echo "fleet: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
