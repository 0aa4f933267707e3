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
tool=$build/guest-driver/hyperupcall
pol=$build/policies
source "$(dirname "$0")/harness.sh" rscan "$tool" "$pol/reclaim.bpf.o"
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
start_daemon --wait-guest 1 --sim-config "$work/sim.json" || exit 1

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

finish "reclaim scan"
