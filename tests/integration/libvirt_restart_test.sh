#!/usr/bin/env bash
# libvirt state that survives restarts, against a real libvirtd of our own:
# libvirtd runs in a private mount namespace (its /run, /var/lib/libvirt and
# driver-module folder are empty tmpfs there, so it serves only the built-in
# test driver and touches nothing of the host's) with its socket in the work
# directory; hyperupcalld and virsh reach libvirt's test:///default through
# it (test+unix:///default?socket=...), so libvirt's state outlives the
# daemon's restarts.
#  1. a rename is recorded in the state database: after kill -9 and restart
#     `domain history` still shows it, and the old name answers NOT_FOUND
#     saying what the domain is called now; a rename made while the daemon
#     was down is found at its start;
#  2. an operator API policy survives a restart over an unchanged XML
#     policy; a changed XML wins at the next start, with an audit row;
#  3. libvirtd killed and started again: the daemon keeps serving,
#     reconnects, reconciles (the domain the new libvirtd no longer runs is
#     stopped, the one it started meanwhile gets its XML policy) and sees
#     events from the new libvirtd.
#  4. a libvirt domain's policy follows its UUID: an API override set while
#     it ran as domid 2 applies (audited) when it starts again as domid 3,
#     one set while it is not running applies when it starts as domid 4,
#     and a domain the new libvirtd starts as domid 2 does not get it;
#  5. the daemon started while libvirtd is not up serves on the backend's
#     names, connects when libvirtd comes, and then shows libvirt's names
#     and applies the XML policy of a domain already running.
#   libvirt_restart_test.sh BUILD_DIR        (exit 77: not root, or no libvirtd/virsh/unshare)
set -uo pipefail
build=${1:?usage: libvirt_restart_test.sh BUILD_DIR}
if [ "$(id -u)" -ne 0 ] || ! command -v libvirtd >/dev/null || ! command -v virsh >/dev/null ||
	! command -v unshare >/dev/null; then
	echo "SKIP: needs root, libvirtd, virsh and unshare (a private libvirtd)"
	exit 77
fi
drivers=$(ls -d /usr/lib/*/libvirt/connection-driver 2>/dev/null | head -n 1)
[ -n "$drivers" ] || { echo "FAIL: no libvirt connection-driver folder (scripts/setup.sh installs libvirt-daemon)"; exit 1; }
source "$(dirname "$0")/harness.sh" lvrestart
# The private libvirtd mounts an empty tmpfs over /var/lib/libvirt, which a
# minimal Debian install (libvirt-daemon without libvirt-daemon-system) does
# not have: the mount point is created, as libvirt-daemon-system would.
mkdir -p /var/lib/libvirt || { echo "cannot create /var/lib/libvirt"; exit 1; }

lvdir=$work/libvirtd
uri="test+unix:///default?socket=$lvdir/libvirt-sock"
lv_pid= keeper_pid=
virsh_() { virsh -q -c "$uri" "$@"; }
# start_libvirtd [DIR]: a private libvirtd with its sockets in DIR
# (default: where the daemon's URI points).
start_libvirtd() {
	local dir=${1:-$lvdir}
	local at="test+unix:///default?socket=$dir/libvirt-sock"
	mkdir -p "$dir"
	rm -f "$dir/libvirt-sock"
	cat >"$dir/libvirtd.conf" <<EOF
unix_sock_dir = "$dir"
unix_sock_rw_perms = "0700"
auth_unix_rw = "none"
auth_unix_ro = "none"
EOF
	unshare -m sh -c 'mount --make-rprivate / && mount -t tmpfs tmpfs /run &&
		mount -t tmpfs tmpfs /var/lib/libvirt && mount -t tmpfs tmpfs "$1" &&
		exec libvirtd --config "$2/libvirtd.conf" --pid-file "$2/pid"' sh "$drivers" "$dir" \
		>>"$lvdir.log" 2>&1 &
	lv_pid=$!
	for _ in $(seq 1 100); do
		if virsh -q -c "$at" list >/dev/null 2>&1; then
			# libvirtd frees test:///default's state when its last client
			# leaves: a virsh waiting for events keeps it across the
			# daemon's restarts, as a long-lived libvirt client would.
			virsh -q -c "$at" event --all --loop >/dev/null 2>&1 &
			keeper_pid=$!
			keeper_connected "$at" && return 0
			break
		fi
		sleep 0.1
	done
	echo "FAIL: the private libvirtd did not start:"
	tail -n 5 "$lvdir.log"
	exit 1
}
# The keeper holds its connection once a definition outlives the virsh
# that made it (without it, the state goes with that virsh).
keeper_connected() {
	domain_xml keeper-probe >"$work/probe.xml"
	for _ in $(seq 1 100); do
		virsh -q -c "$1" define "$work/probe.xml" >/dev/null 2>&1
		if virsh -q -c "$1" list --all --name 2>/dev/null | grep -qx keeper-probe; then
			virsh -q -c "$1" undefine keeper-probe >/dev/null
			return 0
		fi
		sleep 0.1
	done
	return 1
}
stop_libvirtd() {
	[ -n "$keeper_pid" ] && kill "$keeper_pid" 2>/dev/null && wait "$keeper_pid" 2>/dev/null
	keeper_pid=
	[ -n "$lv_pid" ] || return 0
	kill -KILL "$lv_pid" 2>/dev/null
	wait "$lv_pid" 2>/dev/null
	lv_pid=
}
on_exit stop_libvirtd
# wait_for WHAT CMD...: until CMD succeeds (a 30 s hang guard), then ok/bad WHAT.
wait_for() {
	local what=$1
	shift
	for _ in $(seq 1 300); do
		if "$@" >/dev/null 2>&1; then
			ok "$what"
			return 0
		fi
		sleep 0.1
	done
	bad "$what"
	return 1
}
in_log() { grep -qF -- "$1" "$log"; }
shows() { ctl "${@:2}" | grep -E -- "$1" >/dev/null; } # shows REGEX CTL-ARGS...
max_insns() { ctl --json policy get --domain "$1" | json 'd["max_insns"]'; }
max_insns_is() { [ "$(max_insns "$1")" = "$2" ]; }
ns=https://hyperupcall.org/xmlns/policy/1
set_xml_policy() { # DOMAIN MAX_INSNS
	virsh_ metadata "$1" "$ns" --key hu --live --config \
		--set "<policy><max-instructions>$2</max-instructions></policy>" >/dev/null
}
domain_xml() { # NAME [METADATA]
	cat <<EOF
<domain type='test'>
  <name>$1</name>
  <memory>65536</memory>
  <vcpu>1</vcpu>
  <os><type>hvm</type></os>
  ${2:-}
</domain>
EOF
}

start_libvirtd
sim='{"guests": [{"domid": 1, "name": "g1"}, {"domid": 2, "name": "g2"}, {"domid": 3, "name": "g3"}, {"domid": 4, "name": "g4"}]}'
echo "$sim" >"$work/sim.json"
daemon_args=(--sim-config "$work/sim.json" --libvirt-uri "$uri")
start_daemon "${daemon_args[@]}" || exit 1

# --- 1. identity history in the state database
domain_xml web >"$work/web.xml"
virsh_ define "$work/web.xml" >/dev/null
wuuid=$(virsh_ domuuid web)
virsh_ domrename web www >/dev/null
wait_for "domain history shows the rename" shows "'web' $wuuid -> 'www' $wuuid" domain history
virsh_ start www >/dev/null
wait_for "www runs as domid 2 under its libvirt name" shows "^ +2  www " domain list
set_xml_policy www 555
wait_for "the XML policy (555) becomes domain 2's" max_insns_is www 555
ctl policy set --domain www --max-insns 123 >/dev/null
[ "$(max_insns www)" = 123 ] && ok "operator API override (123)" || bad "override: $(max_insns www)"

stop_daemon KILL
start_daemon "${daemon_args[@]}" || exit 1
out=$(ctl domain history)
expect "after kill -9: domain history still shows the rename" "$out" \
	"renamed       'web' $wuuid -> 'www' $wuuid"
out=$(ctl domain history --domain web)
expect "history by the old name" "$out" "'web' $wuuid -> 'www' $wuuid"
out=$(ctl --json domain list | json '[h["old_name"] for x in d for h in x["history"] if x["domid"] == 2]')
[ "$out" = "['web']" ] && ok "domain list (json) carries domid 2's history" || bad "domain list history: $out"
out=$(ctl policy get --domain web 2>&1)
expect "the old name: NOT_FOUND saying what it became" "$out" \
	"NOT_FOUND: no domain named 'web': libvirt domain $wuuid was renamed 'web' -> 'www' at "
expect "... and what to type now" "$out" "name it 'www' or by its UUID"

# A rename while the daemon is down is found at its next start: it compares
# libvirt's names with those it stored.
domain_xml olddb >"$work/olddb.xml"
virsh_ define "$work/olddb.xml" >/dev/null
duuid=$(virsh_ domuuid olddb)
stored_name() {
	python3 - "$work/state/state.db" "$1" <<'PY2'
import sqlite3, sys
r = sqlite3.connect(sys.argv[1]).execute("select name from libvirt_names where uuid = ?", (sys.argv[2],)).fetchone()
print(r[0] if r else "")
PY2
}
stored_name_is() { [ "$(stored_name "$1")" = "$2" ]; }
wait_for "the daemon stores olddb's name" stored_name_is "$duuid" olddb
stop_daemon KILL
virsh_ domrename olddb newdb >/dev/null
start_daemon "${daemon_args[@]}" || exit 1
out=$(ctl domain history --domain "$duuid")
expect "renamed while the daemon was down: in the history after its start" "$out" \
	"'olddb' $duuid -> 'newdb' $duuid"
out=$(ctl policy get --domain olddb 2>&1)
expect "... and the old name answers what it became" "$out" "was renamed 'olddb' -> 'newdb' at "
[ "$(ctl domain history | grep -c "'olddb'")" = 1 ] && ok "recorded once" || bad "recorded more than once"
stored_name_is "$duuid" newdb && ok "the stored name is the new one" || bad "stored: $(stored_name "$duuid")"

# --- 2. policy source
[ "$(max_insns www)" = 123 ] && ok "after kill -9: the API override (123) holds over the unchanged XML" ||
	bad "after restart: max_insns $(max_insns www)"
in_log "($wuuid): operator API override kept" && ok "the log says why the override was kept" ||
	bad "no 'override kept' line"

stop_daemon KILL
set_xml_policy www 777
start_daemon "${daemon_args[@]}" || exit 1
[ "$(max_insns www)" = 777 ] && ok "XML changed while down: the XML policy (777) applies at start" ||
	bad "after XML change: max_insns $(max_insns www)"
rows=$(audit "domid = 2 and decision = 'policy'")
expect "audit: the XML won, and why" "$rows" \
	"XML policy changed since the operator API override was recorded ("
expect "audit: ... with the policy it set" "$(tail -n 1 <<<"$rows")" '"max_insns":777'

# --- 4a. the policy follows the libvirt domain to its next domid
ctl policy set --domain www --max-insns 321 >/dev/null
virsh_ destroy www >/dev/null
virsh_ start www >/dev/null
wait_for "www starts again as domid 3" shows "^ +3  www " domain list
# domain list takes names from libvirt's listing; the policy binding comes
# with libvirt's start event, which may be handled a moment later.
wait_for "www's API policy (321) applies to its new instance (domid 3)" max_insns_is www 321
applied() { audit "domid = 3 and decision = 'policy-applied'" | grep -qF "$1"; }
wait_for "audit: the stored policy applied to domid 3, by UUID" \
	applied "'www' ($wuuid) runs as domain 3: its stored policy applies: {"
inherits() { [ "$(ctl --json policy get --domain "$1" | json 'd["inherited"]')" = True ]; }
inherits 2 && ok "domid 2 (now the backend's g2) does not keep www's policy" ||
	bad "domid 2: $(ctl policy get --domain 2)"
# A defined domain that is not running has no domid; its policy is still
# read and set by name, and applies at its next start.
virsh_ destroy www >/dev/null
out=$(ctl policy get --domain www 2>&1)
expect "www stopped: policy get by name answers its UUID's policy" "$out" \
	"policy libvirt domain $wuuid (not running)"
expect "... which is still 321" "$out" "max_insns         321"
out=$(ctl policy set --domain www --max-insns 654 2>&1)
expect "policy set for the stopped www" "$out" "max_insns         654"
expect "audit: set for the libvirt domain, not running" "$(audit "domid = 0 and decision = 'policy'")" \
	"libvirt domain $wuuid (not running) policy set: "
virsh_ start www >/dev/null
wait_for "www, started again as domid 4, has the policy set while it was down (654)" max_insns_is www 654

# --- 3. libvirtd restarted under the daemon
stop_libvirtd
wait_for "the daemon notices libvirtd is gone" in_log "libvirt: connection to $uri lost"
ctl domain list >/dev/null 2>&1 && ok "the daemon keeps serving without libvirtd" ||
	bad "domain list failed while libvirtd was down"
# The new libvirtd listens elsewhere until a domain runs in it, then its
# socket is moved where the daemon's URI points: the daemon finds "late"
# started (and "www" gone: the test driver starts afresh) when it reconnects.
start_libvirtd "$lvdir/next"
policy_xml() { echo "<metadata><hu:policy xmlns:hu='$ns'><hu:max-instructions>$1</hu:max-instructions></hu:policy></metadata>"; }
domain_xml late "$(policy_xml 888)" >"$work/late.xml"
domain_xml plain >"$work/plain.xml"
next="test+unix:///default?socket=$lvdir/next/libvirt-sock"
out=$({ virsh -q -c "$next" define "$work/plain.xml" && virsh -q -c "$next" start plain &&
	virsh -q -c "$next" define "$work/late.xml" && virsh -q -c "$next" start late &&
	virsh -q -c "$next" domid plain && virsh -q -c "$next" domid late; } 2>&1)
expect "plain runs as id 2, late as 3 in the new libvirtd" "$(tail -n 2 <<<"$out" | tr '\n' ' ')" "2 3 "
in_log "libvirt: reconnected" && bad "the daemon reconnected before the socket moved"
mv "$lvdir/next/libvirt-sock" "$lvdir/libvirt-sock"
wait_for "the daemon reconnects" in_log "libvirt: reconnected to $uri after "
changed=$(grep -F "while disconnected" "$log")
expect "reconciled: www, gone from the new libvirtd, is stopped" "$changed" \
	"domain 'www' stopped while disconnected"
expect "reconciled: late, started meanwhile, is started" "$changed" \
	"domain 'late' started while disconnected"
[ "$(max_insns late)" = 888 ] && ok "late's XML policy (888) is applied at the reconnect" ||
	bad "late: max_insns $(max_insns late)"
# 4b. plain runs under www's first domid; www's policy is www's, not domid 2's.
inherits plain && ok "plain, started as domid 2, does not get www's policy (inherits the default)" ||
	bad "plain: $(ctl policy get --domain plain)"
out=$(ctl domain list)
expect "domain list still shows libvirt's names" "$out" "    1  test "
domain_xml db "$(policy_xml 999)" >"$work/db.xml"
virsh_ define "$work/db.xml" >/dev/null
virsh_ start db >/dev/null
wait_for "an event after the reconnect is seen: db started, its XML policy (999) applied" \
	max_insns_is db 999

# --- 5. the daemon started before libvirtd
stop_daemon
stop_libvirtd
start_daemon "${daemon_args[@]}" || exit 1
in_log "libvirt: cannot open $uri" && in_log "serving with the backend's names, connecting in the background" &&
	ok "libvirtd down at start: the daemon serves and says so" || bad "no 'connecting in the background' line"
shows "^ +1  g1 " domain list && ok "... with the backend's names" || bad "domain list: $(ctl domain list)"
start_libvirtd "$lvdir/third"
domain_xml early "$(policy_xml 432)" >"$work/early.xml"
third="test+unix:///default?socket=$lvdir/third/libvirt-sock"
out=$({ virsh -q -c "$third" define "$work/early.xml" && virsh -q -c "$third" start early &&
	virsh -q -c "$third" domid early; } 2>&1)
expect "early runs as id 2 in the third libvirtd" "$(tail -n 1 <<<"$out")" 2
mv "$lvdir/third/libvirt-sock" "$lvdir/libvirt-sock"
wait_for "the daemon connects once libvirtd is there" in_log "libvirt: connected to $uri after "
wait_for "libvirt's names appear" shows "^ +1  test " domain list
shows "^ +2  early " domain list && ok "... early as domid 2" || bad "domain list: $(ctl domain list)"
[ "$(max_insns early)" = 432 ] && ok "early's XML policy (432) applies after the late connection" ||
	bad "early: max_insns $(max_insns early)"

finish "libvirt restart"
