#!/bin/sh
# run-hosts.sh without QEMU: a fake qemu-system-x86_64 plays each host (it
# listens on its -netdev port as QEMU does, writes the serial log its
# scenario gives, lives as long as told). Which runs boot again after an
# emulator fault, which hosts are stopped after host A, and that no host
# outlives run-hosts.sh, signals included. Exits 0 when every check holds.
set -u
here=$(cd "$(dirname "$0")" && pwd)
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
[ -n "${KEEP:-}" ] && trap - EXIT
mkdir -p "$T/bin"
# Host ROLE's boot N: log $T/ROLE.N (default: a pass), lifetime
# $T/ROLE.N.secs (default 2 s). Each fake's pid goes to $T/pids.
cat >"$T/bin/qemu-system-x86_64" <<'X'
#!/bin/sh
port=
while [ $# -gt 0 ]; do
	case "$1" in
	-serial) log=${2#file:} ;;
	-initrd) role=$(echo "$2" | sed -n 's/.*hu\.role=\([abc]\).*/\1/p') ;;
	-netdev) case "$2" in *listen=127.0.0.1:*) port=${2##*:} ;; esac ;;
	esac
	shift
done
echo $$ >>"$T/pids"
if [ -n "$port" ]; then
	$PY -c 'import socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(1); time.sleep(3600)' "$port" &
	listener=$!
	trap 'kill $listener; exit 143' TERM
fi
n=$(($(cat "$T/boots.$role" 2>/dev/null || echo 0) + 1))
echo "$n" >"$T/boots.$role"
if [ -f "$T/$role.$n" ]; then cat "$T/$role.$n" >"$log"; else echo "HU-E2E: result pass=3 fail=0" >"$log"; fi
sleep "$(cat "$T/$role.$n.secs" 2>/dev/null || echo 2)" &
wait $!
[ -n "$port" ] && kill $listener
exit 0
X
chmod +x "$T/bin/qemu-system-x86_64"
cat >"$T/judge" <<'X'
#!/bin/sh
for l in "$@"; do grep -q '^HU-E2E: result pass=[0-9]* fail=0' "$l" || exit 1; done
X
chmod +x "$T/judge"
# Debian's python3 (a pyenv shim in PATH takes a second or more to start).
PY=$(command -v /usr/bin/python3 python3 | head -1)
export PATH="$T/bin:$PATH" T PY
export XEN_PATCHED=x XEN_DEBIAN=y KERNEL=k IMG=i XEN_CMDLINE=xc DOM0_CMDLINE=dc QEMU_CPU=qemu64 \
	QEMU_TIMEOUT=30 GRACE=4 FAIL_GRACE=1 TCG_FAULT="$here/../image/tcg-fault.sh" \
	JUDGE="$T/judge $T/a.log $T/b.log $T/c.log"

fails=0
check() { # NAME STATUS
	if [ "$2" = 0 ]; then echo "ok: $1"; else echo "FAIL: $1"; fails=$((fails + 1)); fi
}
alive() { for p in $(cat "$T/pids" 2>/dev/null); do kill -0 "$p" 2>/dev/null && return 0; done; return 1; }
scenario() {
	rm -f "$T"/boots.* "$T/pids" "$T"/*.log "$T"/*.log.tcg-fault
	"$here/run-hosts.sh" "$T/a.log" "$T/b.log" "$T/c.log" >"$T/out" 2>&1
	rc=$?
	boots="$(cat "$T/boots.a" 2>/dev/null)$(cat "$T/boots.b" 2>/dev/null)$(cat "$T/boots.c" 2>/dev/null)"
}
clean() { rm -f "$T"/[abc].[12] "$T"/[abc].[12].secs; }
guest_fault='(XEN) [ 61.0] d1v0 Triple fault - invoking HVM shutdown action 1
(XEN) [ 61.1] RIP:    0010:[<ffffffff81a592eb>]
HU-E2E: result pass=2 fail=21'

clean
scenario
[ "$rc" = 0 ] && [ "$boots" = 111 ] && grep -q '^HU-HOST: host a: boot took' "$T/a.log" &&
	grep -q '^HU-HOST: links on 127.0.0.1: A-B port [0-9]*, A-C port [0-9]*' "$T/out"
check "three hosts that pass boot once, each log says how long" $?
! alive
check "and no host is left running" $?

clean
printf '%s\n' "$guest_fault" >"$T/b.1"
scenario
[ "$boots" = 222 ] && grep -q 'fail=21' "$T/b.log.tcg-fault" && [ -f "$T/a.log.tcg-fault" ] &&
	grep -q '^HU-HOST: retry 1: the first run met an emulator fault, guest-triple (b.log.tcg-fault)' "$T/a.log"
check "a failed run with a fault in one host's log boots all three again, the first logs kept" $?

clean
echo 'HU-E2E: check x FAIL
HU-E2E: result pass=1 fail=1' >"$T/a.1"
scenario
[ "$boots" = 111 ] && [ ! -e "$T/a.log.tcg-fault" ]
check "a failed check without a fault boots once" $?

clean
echo 'HU-E2E: result pass=1 fail=1' >"$T/a.1"
echo 'HU-E2E: check arrived ok' >"$T/b.1"
echo 'HU-E2E: check arrived ok' >"$T/c.1"
echo 40 >"$T/b.1.secs"
echo 40 >"$T/c.1.secs"
start=$(date +%s)
scenario
took=$(($(date +%s) - start))
[ "$took" -lt 30 ] && grep -q '^HU-HOST: host b still running 1 s after host A ended: stopped' "$T/b.log" &&
	grep -q '^qemu exited with 143' "$T/c.log" && ! alive
check "B and C are stopped FAIL_GRACE after an A that failed a check (${took} s)" $?

clean
echo 'HU-E2E: check arrived ok' >"$T/b.1"
echo 40 >"$T/b.1.secs"
start=$(date +%s)
scenario
took=$(($(date +%s) - start))
[ "$took" -ge 4 ] && [ "$took" -lt 30 ] && grep -q 'host b still running 4 s after host A ended' "$T/b.log" && ! alive
check "a B without its result GRACE after a passing A is stopped (${took} s)" $?

# B and C made their checks long before A asks them its last questions:
# they stay up until A ends (one run's C powered off first), then stop.
clean
echo 8 >"$T/a.1.secs"
echo 40 >"$T/b.1.secs"
echo 40 >"$T/c.1.secs"
start=$(date +%s)
scenario
took=$(($(date +%s) - start))
[ "$rc" = 0 ] && [ "$took" -ge 8 ] && [ "$took" -lt 14 ] &&
	grep -q '^HU-HOST: host b made its checks and host A has ended: stopped' "$T/b.log" &&
	grep -q '^HU-HOST: host c made its checks and host A has ended: stopped' "$T/c.log" &&
	[ "$(grep -c '^HU-HOST: host b .*: stopped$' "$T/b.log")" = 1 ] && ! alive
check "B and C with their results stay up while A runs and stop once it ended (${took} s)" $?

clean
for r in a b c; do echo 40 >"$T/$r.1.secs"; done
rm -f "$T/pids"
"$here/run-hosts.sh" "$T/a.log" "$T/b.log" "$T/c.log" >"$T/out" 2>&1 &
rh=$!
i=0
while [ "$(cat "$T/pids" 2>/dev/null | wc -l)" -lt 3 ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
kill $rh
wait $rh
sleep 0.5
[ "$(cat "$T/pids" | wc -l)" = 3 ] && ! alive
check "run-hosts.sh stopped by a signal leaves no host running" $?

echo "run_hosts_test: $fails failed"
[ "$fails" = 0 ]
