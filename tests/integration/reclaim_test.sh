#!/usr/bin/env bash
# `hyperupcallctl reclaim scan` and `reclaim run` against the sim: guest 1
# loads the reclaim policy (compiled from C); the operator asks it about
# every frame of the guest, then reclaims what it reports free. The sim's
# reclaim loop is kept idle (pressure_percent 100), so the policy's own
# decision counters (its reclaim_decisions map, read by the guest) move
# only because of the operator: FREE by exactly the frames the scan
# returned (the run reclaimed), KEEP by the rest (the frames kept).
#   reclaim_test.sh BUILD_DIR
set -uo pipefail
build=${1:?usage: reclaim_test.sh BUILD_DIR}
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
out=$(ctl reclaim run --domain alpha --mib 1 2>&1)
expect "run, no mem.reclaim program: FAILED_PRECONDITION" "$out" "FAILED_PRECONDITION: domain 1 has no mem.reclaim program installed"

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

# --- reclaim run: the frames the program reports free go, up to the limit
read -r keep0 free0 <<<"$(counters "$id")"
ctl --json reclaim run --domain alpha --mib 4 >"$work/run.json"
rc=$?
[ $rc -eq 0 ] && ok "reclaim run of 4 MiB" || bad "reclaim run rc $rc: $(cat "$work/run.json")"
read -r keep1 free1 <<<"$(counters "$id")"
got=$(json 'd["frames_reclaimed"]' <"$work/run.json")
kept=$(json 'd["frames_kept"]' <"$work/run.json")
mib=$(json 'd["mib_reclaimed"]' <"$work/run.json")
shape=$(json 'd["domid"] == 1 and d["errors"] == 0 and d["frames_walked"] >= d["frames_reclaimed"] + d["frames_kept"] and d["elapsed_ns"] > 0' <"$work/run.json")
[ "$shape" = True ] && ok "answer: domain 1, no errors, walked covers the rest" || bad "answer shape: $(cat "$work/run.json")"
expect "exactly 4 MiB back (1024 frames)" "$got $mib" "1024 4.0"
[ $((free1 - free0)) -eq "$got" ] && ok "FREE counter moved by exactly the $got frames reclaimed" ||
	bad "FREE counter $free0 -> $free1, reclaimed $got"
[ $((keep1 - keep0)) -eq "$kept" ] && ok "KEEP counter moved by the $kept frames kept" ||
	bad "KEEP counter $keep0 -> $keep1, kept $kept"

# The reclaimed frames are no longer the guest's free frames to report: a
# second reclaim finds others.
out=$(ctl reclaim run --domain 1 --frames 16)
expect "text form: what came back" "$out" "dom1: reclaimed 0.1 MiB (16 frames) in "
expect "text form: what stayed" "$out" ", errors 0, "

out=$(ctl reclaim run --domain alpha 2>&1)
expect "no amount: a usage error" "$out" "reclaim run needs --mib or --frames"
out=$(ctl reclaim run --domain alpha --frames 0 2>&1)
expect "0 frames: INVALID_ARGUMENT" "$out" "INVALID_ARGUMENT: max_bytes 0 is less than one 4096-byte frame"
out=$(ctl reclaim run --domain alpha --mib 1 --frames 8 2>&1)
expect "--mib and --frames exclude each other" "$out" "excludes"
out=$(ctl reclaim run --domain beta --mib 1 2>&1)
expect "another domain's reclaim does not use guest 1's program" "$out" "FAILED_PRECONDITION: domain 2 has no mem.reclaim program installed"
out=$(ctl reclaim run --domain gamma --mib 1 2>&1)
expect "unknown domain: NOT_FOUND" "$out" "NOT_FOUND: no domain with id, name or UUID 'gamma'"

finish "reclaim scan and run"
