#!/usr/bin/env bash
# Every --json output of hyperupcallctl and the guest's hyperupcall, from a
# real daemon with accepted, rejected, pending and detached programs:
#  - validates against its definition in docs/json-schema.json;
#  - survives jq: `jq -c .` gives back exactly what python parsed (no
#    64-bit number rounded; addresses are hex strings);
#  - the same program is the same object in both tools (ctl prog list and
#    the guest's list print equal JSON for it).
#   json_schema_test.sh BUILD_DIR SOURCE_DIR
set -uo pipefail
build=${1:?usage: json_schema_test.sh BUILD_DIR SOURCE_DIR}
src=${2:?usage: json_schema_test.sh BUILD_DIR SOURCE_DIR}
tool=$build/guest-driver/hyperupcall
pol=$build/policies
source "$(dirname "$0")/harness.sh" jsonschema "$tool" "$pol/reclaim.bpf.o" "$pol/trace.bpf.o"
schema=$src/docs/json-schema.json
command -v jq >/dev/null || { bad "jq is missing (scripts/setup.sh installs it)"; finish jsonschema; exit 1; }

start_daemon --wait-guest 2 --sim-guests 2 || { finish jsonschema; exit 1; }
guest() {
	local d=$1; shift
	"$tool" --connect "unix:$gdir/$d.sock" --kallsyms "$work/state/kallsyms/$d/kallsyms" --timeout 10 "$@"
}
n=0
# check DEF CMD...: CMD's stdout (one JSON document, or JSON lines for
# events) must match $defs/DEF and survive jq.
check() {
	local def=$1
	shift
	n=$((n + 1))
	"$@" >"$work/out.$n" 2>"$work/err.$n"
	if python3 - "$schema" "$def" "$work/out.$n" <<'PY'; then ok "$def: $*"; else bad "$def: $* -> $(head -c 400 "$work/out.$n") $(head -c 200 "$work/err.$n")"; fi
import json, subprocess, sys
from jsonschema import Draft202012Validator
schema = json.load(open(sys.argv[1]))
Draft202012Validator.check_schema(schema)
text = open(sys.argv[3]).read()
docs = [json.loads(l) for l in text.splitlines() if l.strip()] if sys.argv[2] == "event" else [json.loads(text)]
assert docs, "no output"
v = Draft202012Validator({"$ref": "#/$defs/" + sys.argv[2], "$defs": schema["$defs"]})
for d in docs:
    errs = sorted(v.iter_errors(d), key=lambda e: e.path)
    for e in errs[:3]:
        print(f"  schema: {list(e.path)}: {e.message}")
    assert not errs
    # What jq reads back must be what was printed (jq uses doubles).
    back = json.loads(subprocess.run(["jq", "-c", "."], input=json.dumps(d), capture_output=True, text=True, check=True).stdout)
    assert back == d, f"jq changed it: {d} -> {back}"
PY
}

check guest_load guest 1 load "$pol/reclaim.bpf.o" --manifest "$pol/reclaim.manifest.json" --json
reclaim_id=$(guest 1 list --json | json 'd["programs"][0]["id"]')
check guest_load guest 2 load "$pol/trace.bpf.o" --manifest "$pol/trace.manifest.json" --json
trace_id=$(guest 2 list --json | json '[p["id"] for p in d["programs"] if p["hook"] == "trace.exit"][0]')
check guest_load guest 1 load "$pol/trace.bpf.o" --hook mem.protect --json
ctl policy set --domain 2 --require-approval yes >/dev/null
check guest_load guest 2 load "$pol/reclaim.bpf.o" --manifest "$pol/reclaim.manifest.json" --json
pending_id=$(ctl --json pending list | json 'd[0]["id"]')
sleep 1
check guest_list guest 1 list --json
check guest_list guest 2 list --all --json
check guest_map_dump guest 1 map dump "$reclaim_id" reclaim_decisions --json
check guest_map_dump guest 2 map dump "$trace_id" exit_counts --json
check guest_error guest 1 unload 9999 --json
check guest_error "$tool" --connect "unix:$work/none.sock" --timeout 1 list --json
check domain_list ctl --json domain list
check identity_change_list ctl --json domain history
check program_list ctl --json prog list
check program_list ctl --json prog list --all
check program_detail ctl --json prog show "$reclaim_id"
check program_dump ctl --json prog dump "$reclaim_id"
check map_dump ctl --json map dump "$reclaim_id" 0
check map_dump ctl --json map lookup "$reclaim_id" 0 --key u32:0
check guest_stats guest 1 stats --json
check guest_trace guest 2 trace --json --count 3
check program_list ctl --json pending list
check policy ctl --json policy get
check policy ctl --json policy get --domain 2
check policy ctl --json policy set --domain 1 --max-programs 6
check stats_list ctl --json stats
check reclaim_scan ctl --json reclaim scan --domain 1 --first 0x100 --count 64
check reclaim_run ctl --json reclaim run --domain 1 --frames 8
check event ctl --json events --count 5
check audit_list ctl --json audit
check event ctl --json events --since 1 --no-trace --count 3
check program ctl --json pending approve "$pending_id"
check program ctl --json prog detach "$trace_id" --reason test
check ctl_error ctl --json prog show 9999
# One program, one shape: the guest's list and the operator's list agree.
python3 - <(guest 1 list --json) <(ctl --json prog list --domain 1) <<'PY' && ok "same program, same JSON in both tools" || bad "the tools print the program differently"
import json, sys
g = {p["id"]: p for p in json.load(open(sys.argv[1]))["programs"]}
c = {p["id"]: p for p in json.load(open(sys.argv[2]))}
assert g and g.keys() == c.keys(), (g.keys(), c.keys())
for i in g:
    assert g[i] == c[i], (g[i], c[i])
PY
finish jsonschema
