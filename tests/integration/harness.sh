# Sourced by the integration scripts, so each says only what it tests:
# waiting for binaries others build in parallel, a work directory removed
# on exit (with the daemon's log shown when a check failed), pass/fail
# counting, the ctl/json/audit helpers, and hyperupcalld started in the
# background and waited for.
#   build=DIR; source harness.sh NAME [FILE...]   (FILEs: besides daemon and ctl)
# Defines: daemon ctl_bin work op gdir log daemon_pid pass fail, and
#   ok bad expect json ctl audit start_daemon stop_daemon finish
#   on_exit CMD   (run at cleanup, before the daemon is stopped)

daemon=$build/dom0-daemon/hyperupcalld
ctl_bin=$build/dom0-daemon/hyperupcallctl
for f in "$daemon" "$ctl_bin" "${@:2}"; do
	for _ in $(seq 1 120); do [ -e "$f" ] && break; sleep 1; done
	[ -e "$f" ] || { echo "FAIL: $f was not built"; exit 1; }
done

work=$(mktemp -d "/tmp/hu-$1.XXXXXX")
op=$work/op.sock
gdir=$work/guests
log=$work/daemon.log
daemon_pid=
pass=0 fail=0
exit_hooks=()
on_exit() { exit_hooks+=("$1"); }
cleanup() {
	local h
	for h in "${exit_hooks[@]}"; do eval "$h"; done
	stop_daemon
	if [ "$fail" -ne 0 ]; then echo "--- daemon log"; cat "$log" 2>/dev/null; fi
	rm -rf "$work"
}
trap cleanup EXIT

ok() { pass=$((pass + 1)); echo "ok   $*"; }
bad() { fail=$((fail + 1)); echo "FAIL $*"; }
# expect NAME HAYSTACK NEEDLE: the output must contain the needle.
expect() {
	if grep -qF -- "$3" <<<"$2"; then ok "$1"; else bad "$1: expected '$3' in: $2"; fi
}
json() { python3 -c 'import json,sys; d=json.load(sys.stdin); print(eval(sys.argv[1]))' "$1"; }
ctl() { "$ctl_bin" --socket "$op" "$@"; }
audit() { # SQL WHERE clause -> matching audit rows, one "decision|reason" a line
	python3 - "$work/state/state.db" "$1" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
for d, r in db.execute("select decision, reason from audit where " + sys.argv[2] + " order by rowid"):
    print(f"{d}|{r}")
PY
}

# start_daemon [--wait-guest N] DAEMON-ARGS...: starts hyperupcalld on this
# work directory and waits until it answers (and guest N's channel exists).
# daemon_prefix (an array, empty by default) goes before it, e.g. prlimit.
daemon_prefix=()
start_daemon() {
	local guest=
	if [ "${1:-}" = --wait-guest ]; then guest=$2; shift 2; fi
	"${daemon_prefix[@]}" "$daemon" --state "$work/state" --operator-socket "$op" \
		--guest-socket-dir "$gdir" "$@" >>"$log" 2>&1 &
	daemon_pid=$!
	for _ in $(seq 1 300); do
		if [ -S "$op" ] && { [ -z "$guest" ] || [ -S "$gdir/$guest.sock" ]; } &&
			ctl domain list >/dev/null 2>&1; then
			return 0
		fi
		kill -0 "$daemon_pid" 2>/dev/null || break
		sleep 0.1
	done
	bad "hyperupcalld did not come up"
	return 1
}

# stop_daemon [SIGNAL]: TERM by default; KILL is the honest crash.
stop_daemon() {
	[ -n "$daemon_pid" ] || return 0
	kill "-${1:-TERM}" "$daemon_pid" 2>/dev/null
	wait "$daemon_pid" 2>/dev/null
	daemon_pid=
}

# finish NAME: the summary line and the script's exit status.
finish() {
	echo "$1: $pass passed, $fail failed"
	[ "$fail" -eq 0 ]
}
