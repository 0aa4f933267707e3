#!/usr/bin/env bash
# The one exit-code table (README.md, "Exit codes") holds for every tool:
# 0 done, 1 refused, 2 unreachable, 64 usage; --version everywhere.
#   exit_codes_test.sh BUILD_DIR
set -uo pipefail
build=${1:?usage: exit_codes_test.sh BUILD_DIR}
tool=$build/guest-driver/hyperupcall
source "$(dirname "$0")/harness.sh" exitcodes "$tool"

code() { # WHAT WANT CMD...: the command's exit status must be WANT
	local what=$1 want=$2
	shift 2
	"$@" >"$work/out" 2>&1
	local rc=$?
	[ "$rc" = "$want" ] && ok "$what: exit $rc" || bad "$what: exit $rc, want $want: $(head -c 300 "$work/out")"
}
for b in "$daemon" "$ctl_bin" "$tool"; do
	code "$(basename "$b") --version" 0 "$b" --version
	grep -qE "^$(basename "$b") [0-9]+\.[0-9]+" "$work/out" && ok "$(basename "$b") --version names it" ||
		bad "$(basename "$b") --version: $(cat "$work/out")"
	code "$(basename "$b") --help" 0 "$b" --help
	code "$(basename "$b") --no-such-flag (usage)" 64 "$b" --no-such-flag
done
code "hyperupcalld: a bad value (usage)" 64 "$daemon" --sim-guests 0
code "hyperupcalld: TCP without TLS (usage)" 64 "$daemon" --state "$work/s" --operator-socket "" --operator-tcp 127.0.0.1:0
code "hyperupcallctl: no command (usage)" 64 "$ctl_bin" --socket "$op"
code "hyperupcallctl: no daemon (unreachable)" 2 "$ctl_bin" --socket "$work/none.sock" --timeout 2 domain list
code "hyperupcall: no daemon (unreachable)" 2 "$tool" --connect "unix:$work/none.sock" --timeout 2 list
start_daemon --wait-guest 1 --sim-guests 1 || { finish exitcodes; exit 1; }
code "hyperupcallctl: unknown program (refused)" 1 ctl prog show 999
code "hyperupcallctl: unknown domain (refused)" 1 ctl policy get --domain nosuch
code "hyperupcallctl: policy set --clear without --domain (usage)" 64 ctl policy set --clear
code "hyperupcall: unknown program (refused)" 1 "$tool" --connect "unix:$gdir/1.sock" --timeout 5 unload 999
code "hyperupcalld: state in use (refused)" 1 "$daemon" --state "$work/state" --operator-socket "$work/o2.sock" --guest-socket-dir "$work/g2"
code "hyperupcallctl: ok" 0 ctl domain list
finish exitcodes
