#!/usr/bin/env bash
# hyperupcalld as a service:
#  1. one daemon per state directory: a second one is refused naming the
#     first's pid, and so is one on another state but the same operator
#     socket; a socket left by a kill -9 is replaced;
#  2. the configuration file sets what the flags set (the command line
#     wins); an unknown key or a missing --config file is an error;
#  3. --operator-socket-group gives the socket (0660) to that group;
#  4. SIGHUP: the daemon lives on, reopens its log file (after a logrotate
#     move), takes a new log level and format (JSON lines), says which
#     changes need a restart; timestamps carry their UTC offset;
#  5. Type=notify: READY=1, RELOADING=1 then READY=1, STOPPING=1 on the
#     NOTIFY_SOCKET, from the daemon's own pid;
#  6. SIGTERM: exit 0, its sockets removed, but not a socket another
#     process put at its path meanwhile;
#  7. the systemd unit passes systemd-analyze verify.
#   service_test.sh BUILD_DIR
set -uo pipefail
build=${1:?usage: service_test.sh BUILD_DIR}
source "$(dirname "$0")/harness.sh" service

# --- 1. single instance
start_daemon --sim-guests 1 || { finish service; exit 1; }
first=$daemon_pid
out=$("$daemon" --state "$work/state" --operator-socket "$work/op2.sock" \
	--guest-socket-dir "$work/g2" --sim-guests 1 2>&1)
rc=$?
[ $rc -ne 0 ] && ok "a second daemon on the same state exits ($rc)" || bad "a second daemon on the same state ran"
expect "it names the first daemon's pid" "$out" "state directory $work/state is in use by hyperupcalld pid $first"
out=$("$daemon" --state "$work/state2" --operator-socket "$op" --guest-socket-dir "$work/g2" \
	--sim-guests 1 2>&1)
rc=$?
[ $rc -ne 0 ] && ok "a second daemon on the same operator socket exits ($rc)" || bad "it ran"
expect "it names the socket's pid" "$out" "operator socket $op is in use by pid $first"
ctl domain list >/dev/null && ok "the first daemon still serves" || bad "the first daemon stopped serving"
stop_daemon KILL
[ -S "$op" ] && ok "kill -9 leaves the socket behind" || bad "no socket after kill -9"
start_daemon --sim-guests 1 && ok "a stale socket is replaced" || bad "a stale socket blocks the start"
grep -q "removed the stale operator socket $op" "$log" && ok "the stale socket is logged" ||
	bad "no log line for the stale socket"
stop_daemon

# --- 2. configuration file
conf=$work/hu.conf
cat >"$conf" <<CONF
# comment
sim-guests = 3
log-level = "debug"
operator-socket = "$work/unused.sock"
CONF
start_daemon --config "$conf" || true
n=$(ctl --json domain list | json 'len(d)')
[ "$n" = 3 ] && ok "config: sim-guests = 3 gives 3 domains" || bad "config: $n domains"
[ -S "$op" ] && [ ! -e "$work/unused.sock" ] && ok "the command line wins over the file" ||
	bad "operator-socket from the file won over the flag"
stop_daemon
echo 'no-such-option = 1' >>"$conf"
out=$("$daemon" --config "$conf" --state "$work/state" 2>&1)
rc=$?
[ $rc -ne 0 ] && ok "an unknown key is an error ($rc)" || bad "an unknown key was accepted"
expect "it names the key" "$out" "no-such-option"
out=$("$daemon" --config "$work/missing.conf" --state "$work/state" 2>&1)
[ $? -ne 0 ] && ok "a missing --config file is an error" || bad "a missing --config file was accepted"
expect "it names the file" "$out" "missing.conf"
"$daemon" --version | grep -qE '^hyperupcalld [0-9]' && ok "--version" || bad "--version"

# --- 3. operator socket group
grp=daemon
getent group "$grp" >/dev/null || groupadd "$grp"
start_daemon --sim-guests 1 --operator-socket-group "$grp" || true
[ "$(stat -c %G:%a "$op")" = "$grp:660" ] && ok "socket group $grp, mode 0660" ||
	bad "socket is $(stat -c %G:%a "$op")"
stop_daemon
out=$("$daemon" --state "$work/state" --operator-socket "$op" --guest-socket-dir "$gdir" \
	--operator-socket-group no-such-group-hu 2>&1)
[ $? -ne 0 ] && ok "an unknown group is refused" || bad "an unknown group was accepted"
expect "it names the group" "$out" "no-such-group-hu: no such group"

# --- 4 and 5. SIGHUP, log file, JSON log, sd_notify
notify=$work/notify.sock
python3 - "$notify" >"$work/notify.out" 2>&1 <<'PY' &
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)  # the sender's pid with each datagram
s.bind(sys.argv[1])
s.settimeout(60)
while True:
    data, anc, _, _ = s.recvmsg(4096, socket.CMSG_SPACE(12))
    pid = "?"
    for level, typ, d in anc:
        if level == socket.SOL_SOCKET and typ == socket.SCM_CREDENTIALS:
            pid = str(int.from_bytes(d[:4], "little"))
    for line in data.decode().splitlines():
        print(f"{pid} {line}", flush=True)
    if b"STOPPING=1" in data:
        break
PY
listener=$!
for _ in $(seq 1 50); do [ -S "$notify" ] && break; sleep 0.1; done
cat >"$conf" <<CONF
log-level = "info"
log-format = "text"
verifier-log-level = 1
CONF
logfile=$work/hu.log
NOTIFY_SOCKET=$notify start_daemon --sim-guests 1 --config "$conf" --log-file "$logfile" || true
hu=$daemon_pid
grep -qE '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}\.[0-9]{3}[+-][0-9]{2}:[0-9]{2} info hyperupcalld ready' "$logfile" &&
	ok "text log: ISO 8601 time with its UTC offset" || bad "text log line: $(grep ready "$logfile")"
mv "$logfile" "$logfile.1" # what logrotate does
cat >"$conf" <<CONF
log-level = "debug"
log-format = "json"
verifier-log-level = 2
CONF
kill -HUP "$hu"
for _ in $(seq 1 50); do [ -s "$logfile" ] && break; sleep 0.1; done
kill -0 "$hu" 2>/dev/null && ok "SIGHUP does not stop the daemon" || bad "SIGHUP killed the daemon"
[ -s "$logfile" ] && ok "SIGHUP reopened the log file" || bad "no new log file after SIGHUP"
ctl domain list >/dev/null && ok "it serves after SIGHUP" || bad "no answer after SIGHUP"
python3 - "$logfile" <<'PY' && ok "after SIGHUP: JSON lines (time with offset, level, msg)" || bad "JSON log: $(head -3 "$logfile")"
import json, re, sys
lines = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
assert lines, "no lines"
for j in lines:
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d\d:\d\d", j["time"]), j
    assert j["level"] in ("trace", "debug", "info", "warning", "error", "critical"), j
    assert isinstance(j["msg"], str)
assert any("configuration reloaded" in j["msg"] for j in lines), lines
assert any("needing a restart: verifier-log-level" in j["msg"] for j in lines), lines
PY
echo 'log-level = "nonsense"' >"$conf"
kill -HUP "$hu"
for _ in $(seq 1 50); do grep -q "not reloaded" "$logfile" && break; sleep 0.1; done
grep -q 'configuration not reloaded, the running one stays' "$logfile" &&
	ok "a bad configuration on SIGHUP keeps the running one" || bad "bad configuration on SIGHUP not reported"
kill -0 "$hu" 2>/dev/null && ok "and the daemon lives" || bad "a bad configuration killed the daemon"

# --- 6. SIGTERM, only its own sockets
[ -S "$gdir/1.sock" ] || bad "no guest socket"
rm -f "$op"
python3 -c 'import socket,sys,time; s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1]); s.listen(); time.sleep(30)' "$op" &
squatter=$!
for _ in $(seq 1 50); do [ -S "$op" ] && break; sleep 0.1; done
kill -TERM "$hu"
wait "$hu"
rc=$?
daemon_pid=
[ $rc -eq 0 ] && ok "SIGTERM: exit 0" || bad "SIGTERM: exit $rc"
[ -S "$op" ] && ok "SIGTERM leaves another process's socket at its path" || bad "it removed another process's socket"
[ ! -e "$gdir/1.sock" ] && ok "SIGTERM removes its own guest socket" || bad "guest socket left"
kill "$squatter" 2>/dev/null
wait "$squatter" 2>/dev/null
wait "$listener" 2>/dev/null
n=$(cat "$work/notify.out")
expect "notify: READY=1 from the daemon's pid" "$n" "$hu READY=1"
expect "notify: RELOADING=1 on SIGHUP" "$n" "$hu RELOADING=1"
[ "$(grep -c "^$hu READY=1" <<<"$n")" -ge 3 ] && ok "notify: READY=1 again after each reload" ||
	bad "notify: READY=1 count: $n"
expect "notify: STOPPING=1 on SIGTERM" "$n" "$hu STOPPING=1"

# --- 7. the unit
unit=$build/dom0-daemon/hyperupcalld.service
if command -v systemd-analyze >/dev/null; then
	# verify checks that ExecStart exists: point it at the built daemon.
	mkdir -p "$work/unit"
	sed "s|^ExecStart=[^ ]*|ExecStart=$(readlink -f "$daemon")|" "$unit" >"$work/unit/hyperupcalld.service"
	# --man=no: the man page is installed by the package (package_test checks it there).
	out=$(systemd-analyze verify --man=no "$work/unit/hyperupcalld.service" 2>&1)
	rc=$?
	[ $rc -eq 0 ] && [ -z "$(grep -v 'Failed to .* of default.target\|ConditionPathExists' <<<"$out" | grep -i hyperupcalld)" ] &&
		ok "systemd-analyze verify hyperupcalld.service" || bad "systemd-analyze verify ($rc): $out"
	grep -q '^Type=notify' "$unit" && ok "the unit is Type=notify" || bad "not Type=notify"
	grep -q '^StateDirectory=hyperupcall' "$unit" && ok "state under /var/lib/hyperupcall" || bad "no StateDirectory"
else
	bad "systemd-analyze is missing (scripts/setup.sh installs systemd)"
fi
finish service
