#!/bin/sh
# The sched test's command channel (guest-cmd.sh) without Xen: dom0's
# guest() and the guest's serve() against a xenstore, an xl and domains
# played by files, as in a boot whose guest dies and is created again.
# Exits 0 when every check holds.
set -u
here=$(cd "$(dirname "$0")" && pwd)
T=$(mktemp -d)
pids=
trap 'kill $pids 2>/dev/null; rm -rf "$T"' EXIT
mkdir -p "$T/bin" "$T/xs"

# xenstore-read/-write PATH: a relative path is the calling domain's
# (HU_DOMID), as in a guest; each node is a file.
cat >"$T/bin/xs-path" <<'X'
case "$1" in /*) p=$1 ;; *) p=/local/domain/$HU_DOMID/$1 ;; esac
echo "$XS$p"
X
cat >"$T/bin/xenstore-write" <<'X'
#!/bin/sh
f=$(. "$(dirname "$0")/xs-path")
mkdir -p "$(dirname "$f")" && printf '%s\n' "$2" >"$f.tmp" && mv "$f.tmp" "$f"
X
cat >"$T/bin/xenstore-read" <<'X'
#!/bin/sh
f=$(. "$(dirname "$0")/xs-path")
[ -f "$f" ] && cat "$f"
X
# xl domid hu-bench: the live bench domain, if any.
cat >"$T/bin/xl" <<'X'
#!/bin/sh
[ "$1 $2" = "domid hu-bench" ] && [ -s "$XS/alive" ] && cat "$XS/alive"
X
chmod +x "$T/bin/"*
export PATH="$T/bin:$PATH" XS="$T/xs" GUEST_OUT="$T/guest.out" GUEST_WAIT=15

say() { echo "HU-E2E: $*"; }
uptime_s() { date +%s; }
. "$here/guest-cmd.sh"

fails=0
check() { # NAME CONDITION-STATUS
	if [ "$2" = 0 ]; then echo "ok: $1"; else echo "FAIL: $1"; fails=$((fails + 1)); fi
}

# The guest's actions: echo WORDS, or fail.
run() {
	case "$1" in
	echo) shift && echo "$*" ;;
	fail) echo "it failed" && return 3 ;;
	*) echo "unknown action $1" && return 2 ;;
	esac
}
start_guest() { # DOMID: a guest serving commands, now the live bench domain
	(HU_DOMID=$1 SERVE_OUT="$T/out.$1" serve run >"$T/console.$1" 2>&1) &
	pids="$pids $!"
	echo "$1" >"$XS/alive"
	cmd_domain "$1"
}

start_guest 1
guest echo one
check "first command answered" $?
[ "$(cat "$GUEST_OUT")" = one ]
check "its last line is the guest's ('$(cat "$GUEST_OUT")')" $?
guest echo two >/dev/null && [ "$(cat "$GUEST_OUT")" = two ]
check "second command answered" $?
guest fail >/dev/null
check "a failing action fails dom0's call" $((! $?))
[ "$(cat "$GUEST_OUT")" = "it failed" ]
check "with the guest's words" $?

# The guest dies: dom0 hears it at once, not after GUEST_WAIT.
# shellcheck disable=SC2086 # one word per pid
kill $pids 2>/dev/null
: >"$XS/alive"
died=0 t0=$(date +%s)
guest echo three >/dev/null
check "a call to a dead guest fails" $((! $?))
[ "$died" = 1 ] && [ $(($(date +%s) - t0)) -lt 10 ]
check "and says died=1 at once (died=$died)" $?

# Created again as another domain: it is talked to from command 1.
start_guest 2
guest echo four >/dev/null && [ "$(cat "$GUEST_OUT")" = four ]
check "a guest created again runs what it is sent" $?
guest echo five >/dev/null && [ "$(cat "$GUEST_OUT")" = five ]
check "and the command after it" $?
grep -q 'run 1: echo four' "$T/console.2"
check "as its command 1" $?

# Sent, something else done meanwhile, then waited for: the same answer.
guest_send echo six && sleep 1 && guest_wait >/dev/null && [ "$(cat "$GUEST_OUT")" = six ]
check "guest_send, then guest_wait, gets its answer" $?
guest echo seven >/dev/null && [ "$(cat "$GUEST_OUT")" = seven ]
check "and the command after it" $?

# A command out of sequence is ignored and said once.
start_guest 3
xenstore-write /local/domain/3/data/hu/run "7 echo seven"
sleep 2
[ "$(grep -c "ignored '7 echo seven': the next command is 1" "$T/console.3")" = 1 ]
check "an out-of-sequence command is ignored, said once" $?
[ -z "$(xenstore-read /local/domain/3/data/hu/done)" ]
check "and not answered" $?

echo "guest_cmd_test: $fails failed"
[ "$fails" = 0 ]
