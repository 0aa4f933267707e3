#!/usr/bin/env bash
# Integration test of the whole flow on the sim backend, with real processes
# over real sockets: hyperupcalld, the `hyperupcall` tool of two guests,
# hyperupcallctl, and a low-level probe for hostile requests.
#   daemon_test.sh BUILD_DIR
set -uo pipefail
build=${1:?usage: daemon_test.sh BUILD_DIR}
daemon=$build/dom0-daemon/hyperupcalld
ctl_bin=$build/dom0-daemon/hyperupcallctl
tool=$build/guest-driver/hyperupcall
probe=$build/tests/integration/hu_guest_probe
pol=$build/policies

# Other components are built by others in parallel: wait for them.
for f in "$daemon" "$ctl_bin" "$tool" "$probe" "$pol/reclaim.bpf.o" "$pol/trace.bpf.o" "$pol/preempt.bpf.o"; do
	for _ in $(seq 1 120); do [ -e "$f" ] && break; sleep 1; done
	[ -e "$f" ] || { echo "FAIL: $f was not built"; exit 1; }
done

work=$(mktemp -d /tmp/hu-itest.XXXXXX)
state=$work/state
op=$work/op.sock
gdir=$work/guests
log=$work/daemon.log
daemon_pid=
events_pid=
cleanup() {
	[ -n "$events_pid" ] && kill "$events_pid" 2>/dev/null
	[ -n "$daemon_pid" ] && kill "$daemon_pid" 2>/dev/null && wait "$daemon_pid" 2>/dev/null
	if [ "$fail" -ne 0 ]; then echo "--- daemon log"; cat "$log" 2>/dev/null; fi
	rm -rf "$work"
}
pass=0 fail=0
trap cleanup EXIT

ok() { pass=$((pass + 1)); echo "ok   $*"; }
bad() { fail=$((fail + 1)); echo "FAIL $*"; }
# expect NAME HAYSTACK NEEDLE: the output must contain the needle.
expect() {
	if grep -qF -- "$3" <<<"$2"; then ok "$1"; else bad "$1: expected '$3' in: $2"; fi
}
expect_not() {
	if grep -qF -- "$3" <<<"$2"; then bad "$1: did not expect '$3' in: $2"; else ok "$1"; fi
}
# JSON field: json EXPR  (stdin is JSON, EXPR a python expression on d)
json() { python3 -c 'import json,sys; d=json.load(sys.stdin); print(eval(sys.argv[1]))' "$1"; }

start_daemon() {
	"$daemon" --state "$state" --operator-socket "$op" --guest-socket-dir "$gdir" \
		--sim-guests 2 >>"$log" 2>&1 &
	daemon_pid=$!
	for _ in $(seq 1 100); do
		[ -S "$op" ] && [ -S "$gdir/1.sock" ] && [ -S "$gdir/2.sock" ] && "$ctl_bin" --socket "$op" domain list >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	echo "daemon did not come up"; cat "$log"; exit 1
}
ctl() { "$ctl_bin" --socket "$op" "$@"; }
guest() { # guest DOMID args...
	local d=$1; shift
	"$tool" --connect "unix:$gdir/$d.sock" --kallsyms "$state/kallsyms/$d/kallsyms" --timeout 10 "$@"
}
load() { # load DOMID POLICY [extra args]: JSON of the tool's answer
	local d=$1 p=$2; shift 2
	guest "$d" load "$pol/$p.bpf.o" --manifest "$pol/$p.manifest.json" --json "$@"
}

start_daemon

# --- operator endpoint and health
mode=$(stat -c %a "$op")
[ "$mode" = 660 ] && ok "operator socket mode 0660" || bad "operator socket mode is $mode"
out=$("$probe" --socket "$gdir/1.sock" health)
expect "health service serving" "$out" "SERVING"
out=$("$daemon" --state "$work/s2" --operator-socket "" --operator-tcp 127.0.0.1:0 --sim-guests 1 2>&1)
rc=$?
[ $rc -ne 0 ] && ok "TCP without TLS refused (rc $rc)" || bad "TCP without TLS started"
expect "TCP refusal says why" "$out" "needs mutual TLS"

# --- operator API over TCP, only with mutual TLS
if command -v openssl >/dev/null; then
	t=$work/tls
	mkdir -p "$t"
	mkcert() { # NAME CA_PREFIX [SAN]
		openssl req -newkey rsa:2048 -nodes -keyout "$t/$1.key" -subj "/CN=$1" -out "$t/$1.csr" 2>/dev/null
		if [ -n "${3:-}" ]; then printf 'subjectAltName=%s\n' "$3" >"$t/$1.ext"; else : >"$t/$1.ext"; fi
		openssl x509 -req -in "$t/$1.csr" -CA "$t/$2.crt" -CAkey "$t/$2.key" -CAcreateserial \
			-days 1 -extfile "$t/$1.ext" -out "$t/$1.crt" 2>/dev/null
	}
	for ca in ca otherca; do
		openssl req -x509 -newkey rsa:2048 -nodes -keyout "$t/$ca.key" -subj "/CN=$ca" -days 1 \
			-out "$t/$ca.crt" 2>/dev/null
	done
	mkcert server ca "IP:127.0.0.1"
	mkcert client ca
	mkcert intruder otherca
	port=$((20000 + RANDOM % 20000))
	"$daemon" --state "$work/tls-state" --guest-socket-dir "$work/tls-guests" --sim-guests 1 \
		--operator-socket "" --operator-tcp "127.0.0.1:$port" \
		--tls-cert "$t/server.crt" --tls-key "$t/server.key" --tls-ca "$t/ca.crt" >>"$log" 2>&1 &
	tls_pid=$!
	tctl() { "$ctl_bin" --tcp "127.0.0.1:$port" --tls-ca "$t/ca.crt" --timeout 5 "$@"; }
	out=
	for _ in $(seq 1 50); do
		out=$(tctl --tls-cert "$t/client.crt" --tls-key "$t/client.key" domain list 2>&1) && break
		sleep 0.2
	done
	expect "mutual TLS: operator with a client certificate" "$out" "guest1"
	out=$(tctl --tls-cert "$t/intruder.crt" --tls-key "$t/intruder.key" domain list 2>&1)
	expect "mutual TLS: certificate of another CA refused" "$out" "UNAVAILABLE"
	out=$(tctl domain list 2>&1)
	expect "mutual TLS: client without certificate refused" "$out" "needs --tls-cert"
	# The operator's identity over mutual TLS is the certificate's subject.
	tctl --tls-cert "$t/client.crt" --tls-key "$t/client.key" policy set --max-programs 7 >/dev/null
	out=$(tctl --tls-cert "$t/client.crt" --tls-key "$t/client.key" audit --decision policy 2>&1)
	expect "mutual TLS: the audit row names the certificate's subject" "$out" "by tls:CN=client"
	kill "$tls_pid"
	wait "$tls_pid" 2>/dev/null
fi

ctl events --json >"$work/events.jsonl" 2>&1 &
events_pid=$!
sleep 0.5

# --- load: each guest loads a real policy compiled from C
out=$(load 1 reclaim)
expect "guest 1 loads reclaim" "$out" '"verdict": "accepted"'
reclaim_id=$(json 'd["programs"][0]["id"]' <<<"$out")
out=$(load 2 trace)
expect "guest 2 loads trace" "$out" '"verdict": "accepted"'
trace_id=$(json 'd["programs"][0]["id"]' <<<"$out")
out=$(ctl prog list)
expect "ctl lists reclaim installed" "$out" "$reclaim_id: mem.reclaim  name reclaim  dom 1  installed"
expect "ctl lists trace installed" "$out" "$trace_id: trace.exit  name trace  dom 2  installed"

# Hooks fire on their own in the sim; wait for runs (no time threshold:
# poll until the counter moves, give up after a generous bound).
runs=0
for _ in $(seq 1 100); do
	runs=$(ctl stats --prog "$trace_id" --json | json 'd[0]["runs"]')
	[ "$runs" -gt 0 ] && break
	sleep 0.1
done
[ "$runs" -gt 0 ] && ok "trace.exit program ran ($runs runs)" || bad "trace.exit program never ran"
out=$(guest 2 map dump "$trace_id" exit_counts --json)
expect "guest 2 reads its own map" "$out" "exit_counts"

# --- rejections with precise messages
out=$(guest 1 load "$pol/trace.bpf.o" --hook mem.protect --json)
expect "wrong hook: verifier rejects" "$out" '"verdict": "rejected"'
expect "wrong hook: names the instruction and the context" "$out" "context read out of bounds"
expect "wrong hook: names the hook" "$out" "hook mem.protect"

out=$("$probe" --socket "$gdir/1.sock" register --hook trace.exit --name oob \
	--asm 'ldxdw %r0, [%r10+8]
exit')
expect "unsafe program rejected" "$out" '"verdict":"VERDICT_REJECTED"'
expect "unsafe program: instruction named" "$out" 'insn 0'
expect "unsafe program: stage verifier" "$out" '"stage":"verifier"'

# A retried registration (same request token) is the first one's answer,
# not a second program; another token is another registration.
retry() {
	"$probe" --socket "$gdir/1.sock" register --hook trace.exit --name retry-oob \
		--request-id "$1" --asm 'ldxdw %r0, [%r10+8]
exit' | json 'd.get("id", d)'
}
id1=$(retry tok-1)
id2=$(retry tok-1)
id3=$(retry tok-2)
if [ "$id1" = "$id2" ] && [ "$id1" != "$id3" ]; then ok "retry with the same token: same id ($id1), another token: $id3"; else bad "request tokens: ids $id1 $id2 $id3"; fi
out=$("$probe" --socket "$gdir/1.sock" list)
n=$(grep -o '"retry-oob"' <<<"$out" | wc -l)
if [ "$n" = 2 ]; then ok "two tokens, two records"; else bad "request tokens: $n records of retry-oob in: $out"; fi
out=$("$probe" --socket "$gdir/1.sock" register --hook trace.exit --name x --request-id 'a b' \
	--asm 'mov %r0, 0
exit')
expect "bad request token: INVALID_ARGUMENT" "$out" '"code":3'
expect "bad request token: says which byte" "$out" "request_id: byte 1 (0x20) is not printable ASCII"

out=$("$probe" --socket "$gdir/1.sock" register --hook trace.exit --name loop \
	--asm 'top:
mov %r0, 0
ja top')
expect "infinite loop rejected" "$out" '"verdict":"VERDICT_REJECTED"'

out=$("$probe" --socket "$gdir/1.sock" register --hook mem.bogus --name x --asm 'mov %r0, 0
exit')
expect "unknown hook: INVALID_ARGUMENT" "$out" '"code":3'
expect "unknown hook: lists the known ones" "$out" "unknown hook 'mem.bogus' (known: mem.reclaim"

out=$("$probe" --socket "$gdir/1.sock" register --hook trace.exit --name big --asm 'mov %r0, 0
exit' --region 0xffff888000000000:0x200000:1)
expect "regions over 2% of RAM rejected" "$out" "more than 2% of domain 1's RAM"
expect "regions over 2%: RESOURCE_EXHAUSTED" "$out" '"code":8'

ctl policy set --domain 1 --max-insns 20 >/dev/null
out=$(load 1 reclaim)
expect "oversize for policy rejected" "$out" "program has 30 instructions, operator policy for domain 1 allows at most 20"
ctl policy set --domain 1 --clear >/dev/null

out=$(ctl policy set --domain 1 --hooks mem.reclaim,tlb.flush)
expect "policy set shows the hooks" "$out" "allowed_hooks     mem.reclaim,tlb.flush"
out=$(load 1 trace)
expect "hook not allowed by policy" "$out" "hook trace.exit is not allowed for domain 1 by operator policy (allowed: mem.reclaim, tlb.flush)"
ctl policy set --domain 1 --clear >/dev/null

ctl policy set --domain 2 --helpers map_lookup_elem,map_update_elem,ktime_ns >/dev/null
out=$(load 2 trace)
expect "helper not allowed by policy" "$out" "calls helper trace_output (7), not allowed for domain 2"
out=$(ctl policy set --domain 2 --hooks bogus.hook 2>&1)
expect "policy with unknown hook refused" "$out" "INVALID_ARGUMENT: unknown hook 'bogus.hook'"
ctl policy set --domain 2 --clear >/dev/null

# --- approval flow
ctl policy set --domain 2 --require-approval yes >/dev/null
out=$(load 2 preempt)
expect "approval: program held" "$out" '"verdict": "pending_approval"'
pend_id=$(json 'd["programs"][0]["id"]' <<<"$out")
out=$(ctl pending list)
expect "approval: ctl lists it pending" "$out" "$pend_id: sched.preempt  name preempt  dom 2  pending"
out=$(ctl stats --prog "$pend_id" 2>&1)
expect "approval: no stats while pending" "$out" "FAILED_PRECONDITION"
out=$(ctl pending approve "$pend_id")
expect "approval: approved" "$out" "approved $pend_id: sched.preempt"
out=$(guest 2 list --json)
expect "approval: guest sees it installed" "$out" '"state": "installed"'
out=$(ctl pending approve "$pend_id" 2>&1)
expect "approval: twice is refused" "$out" "FAILED_PRECONDITION: program $pend_id is installed, only pending programs can be approved"
out=$(load 2 tlb)
rej_id=$(json 'd["programs"][0]["id"]' <<<"$out")
out=$(ctl pending reject "$rej_id" --reason "not on this host")
expect "approval: operator rejects" "$out" "rejected $rej_id"
out=$(guest 2 list --all --json)
expect "approval: guest sees the operator's reason" "$out" "operator: not on this host"
ctl policy set --domain 2 --clear >/dev/null

# --- isolation: a guest cannot see or touch another guest's programs
out=$(guest 2 list --json)
expect_not "guest 2 does not see guest 1's program" "$out" '"name": "reclaim"'
out=$("$probe" --socket "$gdir/2.sock" unregister "$reclaim_id")
expect "guest 2 cannot unload guest 1's program" "$out" '"code":5'
out=$(guest 2 map dump "$reclaim_id" reclaim_decisions --json 2>&1)
expect "guest 2 cannot read guest 1's map" "$out" "no installed program with id $reclaim_id in this domain"
out=$(ctl prog list --domain 1)
expect "guest 1's program still installed" "$out" "$reclaim_id: mem.reclaim  name reclaim  dom 1  installed"

# --- detach
out=$(ctl prog detach "$trace_id" --reason "test")
expect "operator detaches" "$out" "detached $trace_id"
out=$(ctl prog list)
expect_not "detached program not listed" "$out" "$trace_id: trace.exit"
out=$(guest 2 list --all --json)
expect "guest sees it detached" "$out" '"state": "detached"'
out=$(ctl prog detach "$trace_id" 2>&1)
expect "detach twice refused" "$out" "FAILED_PRECONDITION"

# --- a guest that disconnects mid-request
before=$(ctl prog list --all --json | json 'len(d)')
python3 - "$gdir/1.sock" <<'PY'
import socket, sys
# HTTP/2 preface, an empty SETTINGS frame, then half a HEADERS frame: the
# connection ends in the middle of a request.
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])
s.sendall(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + b"\x00\x00\x00\x04\x00\x00\x00\x00\x00")
s.sendall(b"\x00\x01\x00\x01\x04\x00\x00\x00\x01" + b"\x83\x86")
s.close()
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.sendall(b"\xff" * 4096); s.close()
PY
"$probe" --socket "$gdir/1.sock" flood 12000000 >"$work/flood.out" 2>&1 &
flood_pid=$!
for _ in $(seq 1 100); do grep -q sending "$work/flood.out" && break; sleep 0.05; done
kill -9 "$flood_pid" 2>/dev/null
wait "$flood_pid" 2>/dev/null
out=$("$probe" --socket "$gdir/1.sock" health)
expect "daemon serves after a guest vanished mid-request" "$out" "SERVING"
after=$(ctl prog list --all --json | json 'len(d)')
[ "$before" = "$after" ] && ok "half a request changed nothing ($after programs)" || bad "programs $before -> $after after a cut request"

# --- restart persistence: kill -9 after an acknowledged registration
out=$(load 2 trace)
expect "registration acknowledged" "$out" '"verdict": "accepted"'
new_id=$(json 'd["programs"][0]["id"]' <<<"$out")
kill -9 "$daemon_pid"
wait "$daemon_pid" 2>/dev/null
daemon_pid=
kill "$events_pid" 2>/dev/null
events_pid=
start_daemon
out=$(ctl prog list)
expect "after kill -9: program listed installed" "$out" "$new_id: trace.exit  name trace  dom 2  installed"
expect "after kill -9: older program still there" "$out" "$reclaim_id: mem.reclaim  name reclaim  dom 1  installed"
runs=0
for _ in $(seq 1 100); do
	runs=$(ctl stats --prog "$new_id" --json | json 'd[0]["runs"]')
	[ "$runs" -gt 0 ] && break
	sleep 0.1
done
[ "$runs" -gt 0 ] && ok "after kill -9: program reinstalled and running ($runs runs)" || bad "restored program never ran"
out=$(guest 2 list --json)
expect "after kill -9: guest lists it" "$out" "\"id\": $new_id"
out=$(ctl pending list --json)
expect "after kill -9: operator API answers" "$out" "[]"

# --- events seen by the operator stream before the restart
ev=$(cat "$work/events.jsonl")
expect "events: registered" "$ev" '"kind":"registered"'
expect "events: rejected" "$ev" '"kind":"rejected"'
expect "events: pending" "$ev" '"kind":"pending"'
expect "events: approved" "$ev" '"kind":"approved"'
expect "events: detached" "$ev" '"kind":"detached"'
expect "events: trace records" "$ev" '"kind":"trace"'
expect "events: policy changes" "$ev" '"kind":"policy_changed"'

# --- audit log holds every decision
if command -v sqlite3 >/dev/null; then
	n=$(sqlite3 "$state/state.db" "select count(*) from audit where decision in ('accepted','rejected','pending','approved','detached')")
	[ "$n" -ge 10 ] && ok "audit log has the decisions ($n rows)" || bad "audit log has $n decision rows"
fi

echo "integration: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
