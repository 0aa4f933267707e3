#!/usr/bin/env bash
# Hostile guests against hyperupcalld on the sim backend, one class of
# attack at a time, each followed by the same question: do a second guest
# and the operator notice anything? (They must not.)
#   - connection exhaustion: 1000 connections held, 20000 opened and closed;
#     descriptors run out for the whole process (EMFILE) and come back
#   - invalid UTF-8 and control characters in strings; requests that are
#     not protobuf; unknown methods; a flood of them (audit stays small)
#   - many calls in flight on one channel (all answered), and past the
#     in-flight and rate limits (RESOURCE_EXHAUSTED naming the limit)
#   - slow streams: a request that never completes, a silent connection
#   - the guest tool past the in-flight limit retries as told, and is served
#   - kill -9 under load: nothing acknowledged is lost
#   hostile_test.sh BUILD_DIR
set -uo pipefail
build=${1:?usage: hostile_test.sh BUILD_DIR}
probe=$build/tests/integration/hu_guest_probe
hostile=$build/tests/integration/hu_hostile
tool=$build/guest-driver/hyperupcall
pol=$build/policies
source "$(dirname "$0")/harness.sh" hostile "$probe" "$hostile" "$tool" "$pol/trace.bpf.o"

limits=(--sim-guests 2 --guest-max-connections 4 --guest-streams 8 --guest-max-inflight 8
	--guest-rate 200 --guest-burst 120 --guest-request-timeout-ms 1000
	--guest-idle-timeout-ms 2000)
events_pid= text_pid=
on_exit '[ -n "$events_pid" ] && kill "$events_pid" "$text_pid" 2>/dev/null'

# The operator watches events from the start, as JSON and as text on a
# "terminal"; the streams must live through everything below.
watch_events() {
	ctl events --json --no-trace >>"$work/events.jsonl" 2>>"$work/events.err" &
	events_pid=$!
	ctl events --no-trace >>"$work/events.txt" 2>&1 &
	text_pid=$!
}
fds() { ls "/proc/$daemon_pid/fd" | wc -l; }
trivial='mov %r0, 0
exit'

# unaffected LABEL: guest 2 loads and unloads a program, the operator
# lists domains, and the operator's event stream is still open and sees
# guest 2's registration.
unaffected() {
	local out id
	out=$("$probe" --socket "$gdir/2.sock" register --hook trace.exit --name "ok$RANDOM" --asm "$trivial")
	expect "$1: guest 2 gets its verdict" "$out" '"verdict":"VERDICT_ACCEPTED"'
	id=$(json 'd["id"]' <<<"$out")
	out=$("$probe" --socket "$gdir/2.sock" unregister "$id")
	expect "$1: guest 2 unloads" "$out" '"ok":true'
	out=$(ctl domain list 2>&1)
	expect "$1: the operator lists domains" "$out" "guest2"
	if kill -0 "$events_pid" 2>/dev/null; then ok "$1: the operator's event stream is open"; else bad "$1: event stream ended: $(cat "$work/events.err")"; fi
	for _ in $(seq 1 50); do grep -q "\"prog_id\":$id," "$work/events.jsonl" && break; sleep 0.1; done
	expect "$1: the stream carries guest 2's events" "$(cat "$work/events.jsonl")" "\"prog_id\":$id,"
}

start_daemon --wait-guest 2 "${limits[@]}" || exit 1
watch_events
base_fds=$(fds)

# --- connection exhaustion
"$hostile" --socket "$gdir/1.sock" hold --count 1000 --seconds 4 >"$work/hold.json" &
hold_pid=$!
sleep 2
held_fds=$(fds)
[ "$held_fds" -lt $((base_fds + 40)) ] && ok "1000 connections: the daemon holds few descriptors ($base_fds -> $held_fds)" ||
	bad "1000 connections: descriptors $base_fds -> $held_fds"
unaffected "while guest 1 holds 1000 connections"
wait "$hold_pid"
out=$(cat "$work/hold.json")
closed=$(json 'd["closed_by_daemon"]' <<<"$out")
connected=$(json 'd["connected"]' <<<"$out")
[ "$connected" -gt 4 ] && [ "$closed" -ge $((connected - 4)) ] &&
	ok "all but 4 of guest 1's $connected connections closed at once ($closed)" ||
	bad "connection limit: $out"
grep -q "connection refused: 4 open, the limit per guest (--guest-max-connections)" "$log" &&
	ok "the refusal is logged, naming the limit" || bad "no log line naming the connection limit"
n=$(grep -c "connection refused" "$log")
[ "$n" -lt 50 ] && ok "refusals are logged at a bounded rate ($n lines)" || bad "$n log lines of refusals"
out=$("$hostile" --socket "$gdir/1.sock" churn --count 20000)
expect "20000 connections opened and closed" "$out" '"tried":20000'
unaffected "after guest 1 opened and closed 20000 connections"
for _ in $(seq 1 100); do [ "$(fds)" -le $((base_fds + 4)) ] && break; sleep 0.1; done
now_fds=$(fds)
[ "$now_fds" -le $((base_fds + 4)) ] && ok "descriptors back to $now_fds (from $base_fds)" || bad "descriptors $base_fds -> $now_fds after the churn"
out=$("$probe" --socket "$gdir/1.sock" register --hook trace.exit --name back --asm "$trivial")
expect "guest 1 itself is served again" "$out" '"verdict":"VERDICT_ACCEPTED"'
"$probe" --socket "$gdir/1.sock" unregister "$(json 'd["id"]' <<<"$out")" >/dev/null

# --- strings: invalid UTF-8, cut characters, control characters
hook=$(printf 'h%.0s' $(seq 1 63))$'\xc3\xa9'  # 63 ASCII bytes and one two-byte character
out=$("$probe" --socket "$gdir/1.sock" register --hook "$hook" --name x --asm "$trivial")
expect "a hook name of 65 bytes: INVALID_ARGUMENT" "$out" '"code":3'
expect "... quoted, cut before the character" "$out" "unknown hook '$(printf 'h%.0s' $(seq 1 61))...'"
out=$("$probe" --socket "$gdir/1.sock" register --hook trace.exit --name $'\e[2J\e]0;pwned\a' --asm "$trivial")
expect "control characters in a name: INVALID_ARGUMENT" "$out" '"code":3'
# Field 1 (hook): 31 ASCII bytes and the first byte of a two-byte character.
bad_hook=0a20$(printf '68%.0s' $(seq 1 31))c3
out=$("$hostile" --socket "$gdir/1.sock" raw --method RegisterProgram --hex "$bad_hook")
expect "invalid UTF-8 on the wire: INVALID_ARGUMENT" "$out" '"code":3'
expect "... naming the field and the byte" "$out" "field 1 (hook): invalid UTF-8 at byte 31"
out=$("$hostile" --socket "$gdir/1.sock" raw --method RegisterProgram --hex ffffffffffff)
expect "bytes that are not protobuf: INVALID_ARGUMENT" "$out" '"code":3'
expect "... saying where" "$out" 'RegisterProgramRequest'
out=$("$hostile" --socket "$gdir/1.sock" raw --method Bogus --hex 00)
expect "an unknown method: UNIMPLEMENTED" "$out" '"code":12'
for i in $(seq 1 300); do
	"$hostile" --socket "$gdir/1.sock" raw --method UnregisterProgram --hex "08$(printf '%02x' $((i % 100)))ff" >/dev/null
done
unaffected "after invalid strings and undecodable requests"
rows=$(audit "domid = 1 and reason like 'decode:%'" | wc -l)
total=$(python3 - "$work/state/state.db" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
print(db.execute("select coalesce(sum(count), 0) from audit where domid = 1 and reason like 'decode:%'").fetchone()[0])
PY
)
[ "$rows" -le 20 ] && [ "$total" -ge 300 ] && ok "undecodable requests: $total audited in $rows rows" ||
	bad "undecodable requests: $rows audit rows for $total requests"
unsafe=$(python3 - "$work/state/state.db" "$work/events.jsonl" "$work/events.txt" "$log" <<'PY'
import json, re, sqlite3, sys
bad = re.compile(r'[\x00-\x08\x0b-\x1f\x7f\x80-\x9f\u202a-\u202e\u2066-\u2069]')
db = sqlite3.connect(sys.argv[1])
n = sum(1 for row in db.execute("select prog_name, decision, reason from audit")
        if bad.search("".join(row)))
for line in open(sys.argv[2], encoding="utf-8"):
    n += sum(1 for v in json.loads(line).values() if isinstance(v, str) and bad.search(v))
for path in sys.argv[3:]:
    text = open(path, "rb").read().decode("utf-8")  # raises if not UTF-8
    n += sum(1 for line in text.splitlines() if bad.search(line))
print(n)
PY
)
[ "$unsafe" = 0 ] && ok "no control character or invalid UTF-8 in audit rows, events (JSON and text) or the log" ||
	bad "unsafe text: $unsafe rows or lines with control characters"
grep -qF '\x1b[2J' "$work/events.txt" && ok "the operator's terminal sees the escape sequence escaped" ||
	bad "the refused name is not in the text events: $(tail -n 3 "$work/events.txt")"

# --- calls in flight: all answered on one channel; past the limits, named
out=$("$hostile" --socket "$gdir/1.sock" burst --count 50 --channels 1)
expect "50 registrations at once on one channel: all verdicts" "$out" '"codes":{"OK":50}'
sleep 1  # the rate limit's burst refills
out=$("$hostile" --socket "$gdir/1.sock" burst --count 64 --channels 4)
expect "64 at once over 4 connections: past the in-flight limit" "$out" '"8":'
expect "... RESOURCE_EXHAUSTED names the limit" "$out" "requests in flight, the most a guest may have at once (--guest-max-inflight)"
unaffected "while guest 1 was past its in-flight limit"
sleep 1
out=$("$hostile" --socket "$gdir/1.sock" burst --count 400 --channels 1)
expect "a flood past the rate: RESOURCE_EXHAUSTED naming it" "$out" "requests a second (burst 120), the rate a guest may have (--guest-rate)"
unaffected "after guest 1 flooded"
sleep 1

# --- slow streams
slow_pids=()
for i in 1 2 3 4; do
	"$hostile" --socket "$gdir/1.sock" slow --wait-s 60 >"$work/slow$i.json" &
	slow_pids+=($!)
done
sleep 0.3
unaffected "while guest 1 holds requests that never complete"
wait "${slow_pids[@]}"
out=$(cat "$work/slow1.json")
expect "a request that never completes is ended by the daemon" "$out" '"ended":true'
out=$("$hostile" --socket "$gdir/1.sock" silent --wait-s 60)
expect "a silent connection is closed by the daemon" "$out" '"ended":true'
out=$("$probe" --socket "$gdir/1.sock" register --hook trace.exit --name after --asm "$trivial")
expect "guest 1 is served after its slow streams" "$out" '"verdict":"VERDICT_ACCEPTED"'
"$probe" --socket "$gdir/1.sock" unregister "$(json 'd["id"]' <<<"$out")" >/dev/null

# --- kill -9 under load: nothing acknowledged is lost
"$hostile" --socket "$gdir/1.sock" cycle --threads 4 --seconds 30 --acks "$work/acks" >"$work/cycle.json" &
cycle_pid=$!
sleep 2
stop_daemon KILL
wait "$cycle_pid"
kill "$events_pid" "$text_pid" 2>/dev/null
events_pid= text_pid=
start_daemon --wait-guest 2 "${limits[@]}" || exit 1
acked=$(grep -c -v '^T' "$work/acks")
lost=$(ctl prog list --all --domain 1 --json | python3 -c '
import json, sys
progs = {p["id"]: p["state"] for p in json.load(sys.stdin)}
registered, unloaded, trying = set(), set(), set()
for line in open(sys.argv[1]):
    kind, pid = line.split()
    {"R": registered, "U": unloaded, "T": trying}[kind].add(int(pid))
# An unload sent but never answered (the daemon died) may have landed.
lost = [i for i in registered - unloaded - trying if progs.get(i) != "installed"]
lost += [i for i in unloaded if progs.get(i) == "installed"]
print(len(lost), len(registered), len(unloaded), ",".join(f"{i}:{progs.get(i)}" for i in lost) or "-")' "$work/acks")
read -r nlost nreg nunl which <<<"$lost"
[ "$nreg" -gt 0 ] && [ "$nlost" = 0 ] &&
	ok "kill -9 under load: all $nreg acknowledged registrations and $nunl unloads survived" ||
	bad "kill -9 under load: $nlost of $acked acknowledgements lost (id:state now: $which)"

# --- descriptors run out for the whole process (EMFILE), then come back
stop_daemon
rm -f "$work/events.jsonl" "$work/events.txt"
daemon_prefix=(prlimit --nofile=256:256 --)
start_daemon --wait-guest 2 --sim-guests 2 || exit 1
watch_events
python3 - "$op" >"$work/opflood.out" <<'PY' &
import socket, sys, time
# The operator's socket has no per-client limit: 400 connections take every
# descriptor the daemon has left.
held = []
for _ in range(400):
    s = socket.socket(socket.AF_UNIX)
    s.setblocking(False)
    try:
        s.connect(sys.argv[1])
        held.append(s)
    except OSError:
        s.close()
print(len(held), flush=True)
time.sleep(3)
PY
flood_pid=$!
sleep 2
grep -q "out of file descriptors" "$log" && ok "descriptors ran out (EMFILE) and the daemon noticed" ||
	bad "EMFILE was never reached"
wait "$flood_pid"
for _ in $(seq 1 50); do ctl domain list >/dev/null 2>&1 && break; sleep 0.1; done
unaffected "after the process ran out of descriptors"

# --- the guest tool past the in-flight limit: refused, it waits as told
# and retries, and gets its verdict. Guest 2's two slots are held by calls
# whose requests never complete, for 4 s.
stop_daemon
daemon_prefix=()
start_daemon --wait-guest 2 --sim-guests 2 --guest-max-inflight 2 --guest-request-timeout-ms 4000 || exit 1
"$hostile" --socket "$gdir/2.sock" slow --streams 2 --wait-s 30 >"$work/held.json" &
held_pid=$!
sleep 0.5
out=$("$probe" --socket "$gdir/2.sock" register --hook trace.exit --name refused --asm "$trivial")
expect "both slots held: a call without retries is RESOURCE_EXHAUSTED" "$out" '"code":8'
out=$("$tool" --connect "unix:$gdir/2.sock" --kallsyms "$work/state/kallsyms/2/kallsyms" --timeout 30 \
	load "$pol/trace.bpf.o" --manifest "$pol/trace.manifest.json" --json 2>&1)
expect "the guest tool retries past the in-flight limit and gets its verdict" "$out" '"verdict": "accepted"'
wait "$held_pid"
expect "... once the held calls were ended by the daemon" "$(cat "$work/held.json")" '"ended":true'
grep -q "domain 2 has 2 requests in flight, the most a guest may have" "$log" &&
	ok "the refusals are logged, naming the limit" || bad "no refusal logged"

finish hostile
