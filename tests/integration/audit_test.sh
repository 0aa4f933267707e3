#!/usr/bin/env bash
# The audit log and the resumable event stream, against a real daemon:
#  - every audit row names who asked: the guest's channel (guest:domN), the
#    operator's peer uid over the unix socket (SO_PEERCRED), the daemon
#    itself; `hyperupcallctl audit` filters by domain, program, decision,
#    time and count;
#  - `events --since SEQ` replays the decisions after an audit seq, across
#    a kill -9 and restart of the daemon, then follows live without
#    showing a replayed decision twice;
#  - a program whose worst-case path exceeds the run budget is rejected at
#    load, naming both numbers.
#   audit_test.sh BUILD_DIR
set -uo pipefail
build=${1:?usage: audit_test.sh BUILD_DIR}
tool=$build/guest-driver/hyperupcall
pol=$build/policies
source "$(dirname "$0")/harness.sh" audit "$tool" "$pol/reclaim.bpf.o" "$pol/trace.bpf.o"

start_daemon --wait-guest 2 --sim-guests 2 || { finish audit; exit 1; }
guest() {
	local d=$1; shift
	"$tool" --connect "unix:$gdir/$d.sock" --kallsyms "$work/state/kallsyms/$d/kallsyms" --timeout 10 "$@"
}
me="uid:$(id -u)($(id -un)) pid:"

guest 1 load "$pol/reclaim.bpf.o" --manifest "$pol/reclaim.manifest.json" >/dev/null || bad "load reclaim"
id1=$(ctl --json prog list --domain 1 | json 'd[0]["id"]')
ctl policy set --domain 2 --max-programs 5 >/dev/null || bad "policy set"
ctl prog detach "$id1" --reason "audit test" >/dev/null || bad "detach"

out=$(ctl audit)
expect "guest's registration names its channel" "$out" "accepted by guest:dom1"
expect "operator's policy names the peer uid" "$out" "policy by $me"
expect "operator's detach names the peer uid" "$out" "detached by $me"
n=$(ctl --json audit | json 'len(d)')
[ "$n" -eq 3 ] && ok "3 audit rows" || bad "audit rows: $n"
[ "$(ctl --json audit --domain 2 | json 'len(d)')" -eq 1 ] && ok "--domain" || bad "--domain"
[ "$(ctl --json audit --prog "$id1" | json 'len(d)')" -eq 2 ] && ok "--prog" || bad "--prog"
[ "$(ctl --json audit --decision detached | json 'd[0]["reason"]')" = "operator: audit test" ] &&
	ok "--decision" || bad "--decision"
[ "$(ctl --json audit --limit 1 | json 'd[0]["decision"]')" = detached ] && ok "--limit, newest first" ||
	bad "--limit"
[ "$(ctl --json audit --since 1h | json 'len(d)')" -eq 3 ] && ok "--since 1h" || bad "--since 1h"
[ "$(ctl --json audit --until 2000-01-01T00:00:00Z | json 'len(d)')" -eq 0 ] && ok "--until" ||
	bad "--until"
ctl audit --since yesterday >/dev/null 2>&1
[ $? -eq 64 ] && ok "a bad time is usage (64)" || bad "bad time: not 64"
last=$(ctl --json audit --limit 1 | json 'd[0]["seq"]')

# A program longer than the run budget on its worst path: both numbers.
ctl policy set --domain 2 --run-budget 5 >/dev/null || bad "policy set run budget"
out=$(guest 2 load "$pol/trace.bpf.o" --manifest "$pol/trace.manifest.json" 2>&1)
expect "worst-case path over the run budget is rejected" "$out" "more than the run budget of 5 instructions per run"
expect "... naming the path's length" "$out" "worst-case path runs"
ctl policy set --domain 2 --clear >/dev/null || bad "policy clear"

# kill -9 and restart: the seq goes on, the replay covers what came after.
stop_daemon KILL
start_daemon --wait-guest 2 --sim-guests 2 || { finish audit; exit 1; }
guest 2 load "$pol/reclaim.bpf.o" --manifest "$pol/reclaim.manifest.json" >/dev/null ||
	bad "load after restart"
want=$(python3 - "$work/state/state.db" "$last" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
print(" ".join(str(r[0]) for r in db.execute("select id from audit where id > ? order by id", (int(sys.argv[2]),))))
PY
)
count=$(wc -w <<<"$want")
got=$(ctl --json events --since "$last" --no-trace --count "$count" |
	python3 -c 'import json,sys; print(" ".join(str(json.loads(l)["audit_seq"]) for l in sys.stdin))')
[ -n "$want" ] && [ "$got" = "$want" ] && ok "events --since replays the audit rows after it ($want)" ||
	bad "events --since $last: got '$got', want '$want'"
expect "the restart's load is among them" "$(ctl audit --limit 1)" "accepted by guest:dom2"

# Replay then live: a decision made while following shows once.
ctl --json events --since "$last" --no-trace --count $((count + 1)) >"$work/follow" 2>&1 &
follower=$!
sleep 2
ctl policy set --domain 1 --max-programs 6 >/dev/null
for _ in $(seq 1 100); do kill -0 "$follower" 2>/dev/null || break; sleep 0.1; done
wait "$follower"
seqs=$(python3 -c 'import json,sys; print(" ".join(str(json.loads(l)["audit_seq"]) for l in open(sys.argv[1])))' "$work/follow")
newest=$(ctl --json audit --limit 1 | json 'd[0]["seq"]')
[ "$seqs" = "$want $newest" ] && ok "replay, then live, each decision once" ||
	bad "replay then live: '$seqs', want '$want $newest'"
finish audit
