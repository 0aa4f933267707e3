#!/usr/bin/env bash
# Policy that means what it says:
#  1. tightening a domain's policy lists its installed programs that no
#     longer comply (rule, value, limit) and leaves them; --enforce
#     detaches them, each an audited `detached` decision;
#  2. tightening the default reports the programs of every domain that
#     inherits it, not of a domain with its own policy;
#  3. a restart re-checks restored programs against the policy: one the
#     policy forbids (tightened in the database while the daemon was down)
#     is not reinstalled, its verdict says `policy`;
#  4. invalid values (--max-insns -5, --max-insns 0, an empty `policy
#     set`) are INVALID_ARGUMENT and leave no audit row.
#   policy_semantics_test.sh BUILD_DIR
set -uo pipefail
build=${1:?usage: policy_semantics_test.sh BUILD_DIR}
tool=$build/guest-driver/hyperupcall
pol=$build/policies
source "$(dirname "$0")/harness.sh" policysem "$tool" "$pol/reclaim.bpf.o" "$pol/trace.bpf.o"
guest() {
	local d=$1; shift
	"$tool" --connect "unix:$gdir/$d.sock" --kallsyms "$work/state/kallsyms/$d/kallsyms" --timeout 10 "$@"
}
load() { guest "$1" load "$pol/$2.bpf.o" --manifest "$pol/$2.manifest.json" --json | json 'd["programs"][0]["id"]'; }
start_daemon --wait-guest 3 --sim-guests 3 || { finish policysem; exit 1; }
r1=$(load 1 reclaim)
t1=$(load 1 trace)
t2=$(load 2 trace)
t3=$(load 3 trace)
ctl policy set --domain 3 --max-programs 4 >/dev/null || bad "own policy for dom3"
state() { ctl --json prog show "$1" | json 'd["state"]'; }

# --- 1. report, then enforce
rows0=$(audit "decision = 'detached'" | wc -l)
out=$(ctl policy set --domain 1 --hooks mem.reclaim)
expect "tightening names the program that no longer complies" "$out" "does not comply: program $t1 'trace' (trace.exit, dom 1): hook trace.exit is not allowed"
expect "and says how to enforce" "$out" "--enforce detaches them"
[ "$(state "$t1")" = installed ] && ok "without --enforce it stays installed" || bad "it was detached"
[ "$(state "$r1")" = installed ] && ok "the complying program is untouched" || bad "reclaim changed"
j=$(ctl --json policy set --domain 1 --hooks mem.reclaim --enforce)
[ "$(json '[(n["program"]["id"], n["detached"], n["program"]["state"]) for n in d["noncompliant"]]' <<<"$j")" = "[($t1, True, 'detached')]" ] &&
	ok "--enforce detaches it (JSON: noncompliant, detached)" || bad "enforce: $j"
[ "$(state "$t1")" = detached ] && ok "it is detached" || bad "state $(state "$t1")"
[ "$(audit "decision = 'detached'" | wc -l)" -eq $((rows0 + 1)) ] && ok "one audited detach" || bad "audit rows: $(audit "decision = 'detached'")"
expect "the audit row says why" "$(audit "decision = 'detached'" | tail -n 1)" "policy tightened: hook trace.exit is not allowed"
out=$(ctl policy set --domain 1 --max-insns 10 --hooks mem.reclaim,trace.exit)
expect "a size cap below a program's size is reported" "$out" "program $r1 'reclaim'"

# --- 2. the default reaches those that inherit it
out=$(ctl --json policy set --hooks mem.reclaim,mem.protect)
ids=$(json 'sorted(n["program"]["id"] for n in d["noncompliant"])' <<<"$out")
[ "$ids" = "[$t2]" ] && ok "default tightened: dom2's trace reported, dom3 (own policy) not" || bad "default: $ids"

# --- 3. restart re-checks
stop_daemon
python3 - "$work/state/state.db" <<'PY'
import json, sqlite3, sys
db = sqlite3.connect(sys.argv[1])
rows = list(db.execute("select scope, policy from policies where scope = 'domain:3'"))
assert rows, "no domain:3 policy row"
for scope, p in rows:
    j = json.loads(p)
    j["allowed_hooks"] = ["mem.reclaim"]
    db.execute("update policies set policy = ? where scope = ?", (json.dumps(j), scope))
db.commit()
PY
[ $? -eq 0 ] || bad "could not tighten dom3's stored policy"
start_daemon --wait-guest 3 --sim-guests 3 || true
[ "$(state "$t3")" = rejected ] && ok "restart: a program the stored policy forbids is not reinstalled" || bad "t3 is $(state "$t3")"
v=$(ctl --json prog show "$t3")
[ "$(json 'd["verdict"]["stage"]' <<<"$v")" = policy ] && ok "its verdict stage is policy" || bad "verdict: $v"
expect "and says so" "$(json 'd["verdict"]["message"]' <<<"$v")" "at daemon start: hook trace.exit is not allowed"

# --- 4. invalid values, no audit row
before=$(audit "1=1" | wc -l)
for args in "--max-insns -5" "--max-programs -1" "--run-budget -7" "--max-grace-us 99999999999"; do
	out=$(ctl policy set --domain 2 $args 2>&1)
	rc=$?
	[ $rc -eq 64 ] && grep -q "INVALID_ARGUMENT: ${args% *} ${args#* }" <<<"$out" && ok "policy set $args: INVALID_ARGUMENT (64)" ||
		bad "policy set $args (rc $rc): $out"
done
out=$(ctl policy set --domain 2 --max-insns 0 2>&1)
rc=$?
[ $rc -eq 1 ] && grep -q "INVALID_ARGUMENT: max_insns 0 out of range" <<<"$out" && ok "--max-insns 0: the daemon says INVALID_ARGUMENT" ||
	bad "--max-insns 0 (rc $rc): $out"
out=$(ctl policy set --domain 2 2>&1)
rc=$?
[ $rc -eq 64 ] && grep -q "INVALID_ARGUMENT: policy set names no field" <<<"$out" && ok "an empty policy set: INVALID_ARGUMENT" ||
	bad "empty policy set (rc $rc): $out"
out=$(ctl policy set --domain 2 --hooks no.such.hook 2>&1)
expect "an unknown hook: INVALID_ARGUMENT" "$out" "INVALID_ARGUMENT: unknown hook 'no.such.hook'"
[ "$(audit "1=1" | wc -l)" -eq "$before" ] && ok "no audit row for any of them" || bad "audit rows were added: $(audit "rowid > 0" | tail -n 3)"
finish policysem
