#!/usr/bin/env bash
# `hyperupcallctl reclaim scan` against the sim: guest 1 loads the reclaim
# policy (compiled from C); the operator asks it about every frame of the
# guest. The sim's reclaim loop is kept idle (pressure_percent 100), so the
# policy's own decision counters (its reclaim_decisions map, read by the
# guest) move only because of the scan: FREE by exactly the frames the scan
# returned, KEEP by the rest.
#   reclaim_scan_test.sh BUILD_DIR
set -uo pipefail
build=${1:?usage: reclaim_scan_test.sh BUILD_DIR}
daemon=$build/dom0-daemon/hyperupcalld
ctl_bin=$build/dom0-daemon/hyperupcallctl
tool=$build/guest-driver/hyperupcall
pol=$build/policies
for f in "$daemon" "$ctl_bin" "$tool" "$pol/reclaim.bpf.o"; do
	for _ in $(seq 1 120); do [ -e "$f" ] && break; sleep 1; done
	[ -e "$f" ] || { echo "FAIL: $f was not built"; exit 1; }
done

work=$(mktemp -d /tmp/hu-rscan.XXXXXX)
op=$work/op.sock
gdir=$work/guests
log=$work/daemon.log
daemon_pid=
pass=0 fail=0
cleanup() {
	[ -n "$daemon_pid" ] && kill "$daemon_pid" 2>/dev/null && wait "$daemon_pid" 2>/dev/null
	if [ "$fail" -ne 0 ]; then echo "--- daemon log"; cat "$log" 2>/dev/null; fi
	rm -rf "$work"
}
trap cleanup EXIT
ok() { pass=$((pass + 1)); echo "ok   $*"; }
bad() { fail=$((fail + 1)); echo "FAIL $*"; }
expect() {
	if grep -qF -- "$3" <<<"$2"; then ok "$1"; else bad "$1: expected '$3' in: $2"; fi
}
json() { python3 -c 'import json,sys; d=json.load(sys.stdin); print(eval(sys.argv[1]))' "$1"; }
ctl() { "$ctl_bin" --socket "$op" "$@"; }
guest() {
	local d=$1; shift
	"$tool" --connect "unix:$gdir/$d.sock" --kallsyms "$work/state/kallsyms/$d/kallsyms" --timeout 10 "$@"
}
# counters ID -> "KEEP FREE" from the guest's view of its map
counters() {
	guest 1 map dump "$1" reclaim_decisions --json |
		json '" ".join(str(e["value_int"]) for e in sorted(d["entries"], key=lambda e: e["key_int"]))'
}

cat >"$work/sim.json" <<'J'
{"pressure_percent": 100, "guests": [{"domid": 1, "name": "alpha", "memory_mib": 64}, {"domid": 2, "name": "beta", "memory_mib": 64}]}
J
"$daemon" --state "$work/state" --operator-socket "$op" --guest-socket-dir "$gdir" \
	--sim-config "$work/sim.json" >>"$log" 2>&1 &
daemon_pid=$!
for _ in $(seq 1 300); do
	[ -S "$gdir/1.sock" ] && ctl domain list >/dev/null 2>&1 && break
	sleep 0.1
done

out=$(ctl reclaim scan --domain alpha --first 0 --count 16 2>&1)
expect "no mem.reclaim program: FAILED_PRECONDITION" "$out" "FAILED_PRECONDITION: domain 1 has no mem.reclaim program to ask"

out=$(guest 1 load "$pol/reclaim.bpf.o" --manifest "$pol/reclaim.manifest.json" --json)
expect "guest 1 loads reclaim" "$out" '"verdict": "accepted"'
id=$(json 'd["programs"][0]["id"]' <<<"$out")

read -r keep0 free0 <<<"$(counters "$id")"
frames=$((64 * 256))
ctl --json reclaim scan --domain alpha --first 0 --count "$frames" >"$work/scan.json"
rc=$?
[ $rc -eq 0 ] && ok "reclaim scan of all $frames frames" || bad "reclaim scan rc $rc"
read -r keep1 free1 <<<"$(counters "$id")"
n=$(json 'len(d["free_gfns"])' <"$work/scan.json")
shape=$(json 'd["domid"] == 1 and d["free_gfns"] == sorted(set(d["free_gfns"])) and all(0 <= g < '"$frames"' for g in d["free_gfns"])' <"$work/scan.json")
[ "$shape" = True ] && ok "answer: domain 1, ascending, in range" || bad "answer shape: $(head -c 300 "$work/scan.json")"
[ "$n" -gt 0 ] && [ "$n" -lt "$frames" ] && ok "guest reports some frames free, not all ($n of $frames)" ||
	bad "$n of $frames frames free"
[ $((free1 - free0)) -eq "$n" ] && ok "FREE counter moved by exactly the $n frames returned" ||
	bad "FREE counter $free0 -> $free1, scan returned $n"
[ $((keep1 - keep0)) -eq $((frames - n)) ] && ok "KEEP counter moved by the other $((frames - n)) frames" ||
	bad "KEEP counter $keep0 -> $keep1, expected +$((frames - n))"

out=$(ctl reclaim scan --domain 1 --first 0x10 --count 32)
expect "text form names the domain and range" "$out" "dom1: "
expect "text form counts the range" "$out" "of 32 frames from 0x10 reported free"
out=$(ctl reclaim scan --domain alpha --first 0 --count 0 2>&1)
expect "count 0: INVALID_ARGUMENT" "$out" "INVALID_ARGUMENT: count 0 is out of range: scan 1..65536 frames per call"
out=$(ctl reclaim scan --domain alpha --first $((frames - 8)) --count 16 2>&1)
expect "beyond the guest's memory: OUT_OF_RANGE" "$out" "OUT_OF_RANGE: gfns [0x3ff8, 0x4008) beyond domain 1's 0x4000 frames"
out=$(ctl reclaim scan --domain beta --first 0 --count 16 2>&1)
expect "another domain's scan does not use guest 1's program" "$out" "FAILED_PRECONDITION: domain 2 has no mem.reclaim program"
out=$(ctl reclaim scan --domain gamma --first 0 --count 16 2>&1)
expect "unknown domain: NOT_FOUND" "$out" "NOT_FOUND: no domain with id, name or UUID 'gamma'"

echo "reclaim scan: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
