#!/usr/bin/env bash
# The operator's and the guest admin's tools, as a bpftool/virsh user would
# try them, against a real daemon and the real policies:
#  - hyperupcallctl map dump|lookup|update|delete on another domain's
#    program: hex and BTF-typed entries, per-vCPU values per vCPU, update
#    of one vCPU, precise errors for a wrong size, a missing key, an array
#    delete; update and delete audited with the operator;
#  - prog dump names functions, helpers and maps, and shows regions with
#    the symbol the guest named and ro/rw;
#  - the guest's own `hyperupcall stats` and `trace` (and nothing of another
#    guest's), and the loader's warnings (a read with no region covering
#    its symbol, a BTF context type that is not the hook's).
#   operator_tools_test.sh BUILD_DIR
set -uo pipefail
build=${1:?usage: operator_tools_test.sh BUILD_DIR}
tool=$build/guest-driver/hyperupcall
pol=$build/policies
source "$(dirname "$0")/harness.sh" optools "$tool" "$pol/reclaim.bpf.o" "$pol/trace.bpf.o" \
	"$pol/preempt.bpf.o"

start_daemon --wait-guest 2 --sim-guests 2 || { finish optools; exit 1; }
guest() {
	local d=$1; shift
	"$tool" --connect "unix:$gdir/$d.sock" --kallsyms "$work/state/kallsyms/$d/kallsyms" --timeout 10 "$@"
}

guest 1 load "$pol/reclaim.bpf.o" --manifest "$pol/reclaim.manifest.json" >/dev/null || bad "load reclaim"
guest 1 load "$pol/preempt.bpf.o" --manifest "$pol/preempt.manifest.json" >/dev/null || bad "load preempt"
guest 2 load "$pol/trace.bpf.o" --manifest "$pol/trace.manifest.json" >/dev/null || bad "load trace"
rid=$(ctl --json prog list --domain 1 | json '[p["id"] for p in d if p["hook"] == "mem.reclaim"][0]')
pid=$(ctl --json prog list --domain 1 | json '[p["id"] for p in d if p["hook"] == "sched.preempt"][0]')
tid=$(ctl --json prog list --domain 2 | json 'd[0]["id"]')
sleep 1

# Map dump of an array: hex and the BTF types the guest declared.
out=$(ctl map dump "$rid" reclaim_decisions)
expect "map dump names the map and its BTF types" "$out" "map 0 'reclaim_decisions' of program $rid (dom 1): key __u32, value __u64"
expect "... keys shown as C values from BTF" "$out" "key: 00 00 00 00  (__u32)0"
n=$(ctl --json map dump "$rid" 0 | json 'len(d["entries"])')
[ "$n" -gt 0 ] && ok "map dump by index ($n entries)" || bad "map dump by index"

# Update, lookup: typed input, the entry as it is now, audited.
# (The program counts into entry 1 as it runs: at least 42 by the answer.)
out=$(ctl map update "$rid" reclaim_decisions --key u32:1 --value u64:0x2a)
expect "update answers the entry" "$out" "key: 01 00 00 00  (__u32)1"
v=$(grep -o '(__u64)[0-9]*' <<<"$out" | head -1)
[ -n "$v" ] && [ "${v#(__u64)}" -ge 42 ] && ok "... its value typed from BTF ($v)" || bad "update answer: $out"
out=$(ctl --json map lookup "$rid" reclaim_decisions --key "01 00 00 00")
# The program keeps counting into that entry, so it is at least 42 now.
[ "$(json 'd["entries"][0]["key"] == "01000000" and int.from_bytes(bytes.fromhex(d["entries"][0]["value"]), "little") >= 42' <<<"$out")" = True ] &&
	ok "lookup by hex key" || bad "lookup: $out"
expect "update is audited with the operator" "$(ctl audit --decision map-update)" "by uid:$(id -u)"

# Errors: precise, and exit codes from the table.
out=$(ctl map lookup "$rid" reclaim_decisions --key u64:1 2>&1)
[ $? -eq 1 ] && ok "a wrong key size is refused (1)" || bad "wrong key size: not 1"
expect "... naming both sizes" "$out" "has 4-byte keys; the key given has 8 bytes"
out=$(ctl map delete "$rid" reclaim_decisions --key u32:1 2>&1)
expect "an array entry cannot be deleted" "$out" "is an array: its entries cannot be deleted"
out=$(ctl map dump "$rid" nosuch 2>&1)
expect "an unknown map names the maps there" "$out" "has no map named 'nosuch' (maps: reclaim_decisions)"
ctl map lookup "$rid" reclaim_decisions --key zz >/dev/null 2>&1
[ $? -eq 64 ] && ok "a key that is not hex is usage (64)" || bad "bad key: not 64"

expect "a struct key is shown from BTF" "$(ctl map dump "$tid" exit_counts)" ".kind = (__u32)"

# A hash map: a key the program never writes (all 0xff) added, deleted,
# then gone (the program keeps adding its own keys, so one of those could
# come back at once).
ks=$(ctl --json map dump "$tid" exit_counts | json 'd["map"]["key_size"]')
vs=$(ctl --json map dump "$tid" exit_counts | json 'd["map"]["value_size"]')
key=$(printf 'ff%.0s' $(seq 1 "$ks"))
ctl map update "$tid" exit_counts --key "$key" --value "$(printf '00%.0s' $(seq 1 "$vs"))" >/dev/null ||
	bad "hash map update of a new key"
ctl map lookup "$tid" exit_counts --key "$key" >/dev/null && ok "hash map update adds a key" ||
	bad "added key not found"
ctl map delete "$tid" exit_counts --key "$key" >/dev/null && ok "hash map delete" || bad "hash delete"
ctl map lookup "$tid" exit_counts --key "$key" >/dev/null 2>&1
[ $? -eq 1 ] && ok "deleted key is NOT_FOUND" || bad "deleted key still there"
ctl map delete "$tid" exit_counts --key "$key" >/dev/null 2>&1
[ $? -eq 1 ] && ok "deleting it again is NOT_FOUND (1)" || bad "second delete not refused"
expect "the delete is audited" "$(ctl audit --decision map-delete)" "map 'exit_counts' key $key"

# Per-vCPU array: each vCPU's value; one vCPU updated.
out=$(ctl --json map update "$pid" grace_requests --key u32:0 --value u64:7 --vcpu 2)
vals=$(json '[v["value"] for v in d["entries"][0]["values"]]' <<<"$out")
[ "$(json 'len(d["entries"][0]["values"])' <<<"$out")" -eq 4 ] && ok "per-vCPU: a value per vCPU (4)" ||
	bad "per-vCPU values: $vals"
[ "$(json 'd["entries"][0]["values"][2]["value"]' <<<"$out")" = 0700000000000000 ] &&
	ok "per-vCPU: vCPU 2 updated" || bad "per-vCPU update: $vals"
expect "per-vCPU text shows vcpus" "$(ctl map dump "$pid" grace_requests)" "  vcpu 3: "

# prog dump: functions, helpers, maps, regions with symbols.
out=$(ctl prog dump "$rid")
expect "prog dump names the function" "$out" "reclaim:"
expect "... the helper" "$out" "; read_gva"
expect "... the map" "$out" "; map 0 'reclaim_decisions'"
expect "... the region's symbol and ro" "$out" "ro gva symbol page_free_bitmap"

# The guest's own statistics and trace records, nothing of another's.
out=$(guest 1 stats)
expect "guest stats lists its program" "$out" "reclaim"
[ "$(guest 1 stats --json | json 'len(d["stats"])')" -eq 2 ] && ok "guest 1 sees its 2 programs" ||
	bad "guest 1 stats"
guest 2 stats --prog "$rid" >/dev/null 2>&1
[ $? -eq 1 ] && ok "another guest's program is NOT_FOUND" || bad "guest 2 saw guest 1's stats"
sleep 1
recs=$(guest 2 trace --json --count 5)
[ "$(json 'len(d["records"])' <<<"$recs")" -ge 1 ] && ok "guest 2 reads its trace records" ||
	bad "guest 2 trace: $recs"
[ "$(json 'len(d["records"])' <<<"$(guest 1 trace --json)")" -eq 0 ] &&
	ok "guest 1 has none (its programs do not trace)" || bad "guest 1 got trace records"
last=$(json 'd["records"][-1]["seq"]' <<<"$recs")
next=$(guest 2 trace --json --since "$last" --count 1 | json 'd["records"][0]["seq"]')
[ "$next" -gt "$last" ] && ok "trace --since resumes after a seq" || bad "trace --since"

# Loader warnings.
out=$(guest 1 load "$pol/reclaim.bpf.o" 2>&1)
expect "a read with no region covering its symbol is warned" "$out" "reads guest memory at kernel symbol page_free_bitmap"
# That program runs, and each read_gva outside its (no) regions is a helper
# error the guest sees in its own stats; the programs with their regions
# have none.
nid=$(ctl --json prog list --domain 1 | json 'max(p["id"] for p in d if p["hook"] == "mem.reclaim")')
herr() { guest 1 stats --prog "$1" --json | json 'd["stats"][0]["helper_errors"]'; }
for _ in $(seq 1 50); do [ "$(herr "$nid")" -gt 0 ] && break; sleep 0.2; done
[ "$(herr "$nid")" -gt 0 ] && ok "helper errors of a read outside every region counted ($(herr "$nid"))" ||
	bad "helper errors: $(guest 1 stats --prog "$nid" --json)"
[ "$(herr "$rid")" -eq 0 ] && ok "none for the program with its regions" || bad "reclaim with regions: $(herr "$rid")"
out=$(guest 2 load "$pol/trace.bpf.o" --hook mem.protect 2>&1)
expect "a BTF context type that is not the hook's is warned" "$out" "takes struct hu_ctx_trace_exit * (from its BTF), but hook mem.protect passes struct hu_ctx_mem_protect"
out=$(guest 1 load "$pol/preempt.bpf.o" --manifest "$pol/preempt.manifest.json" 2>&1)
if grep -q "warning" <<<"$out"; then bad "a policy with its regions warned: $out"; else ok "no warning for a correct policy"; fi
finish optools
