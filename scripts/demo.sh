#!/usr/bin/env bash
# The main job, in one command on a fresh Debian 12 machine (as root):
# installs the packages, builds, starts hyperupcalld on the sim backend with
# two simulated guests, has each guest's `hyperupcall` tool load real
# policies compiled from C (clang -target bpf), lets the hooks fire, shows
# programs, verdicts and statistics with hyperupcallctl, and stops cleanly.
#   BUILD_DIR=...  build directory (default: ./build)
#   HU_DEMO_SECONDS=N  how long the hooks run before the statistics (default 3)
# Installed from the packages (hyperupcall-dom0 and hyperupcall-guest) it
# is /usr/share/hyperupcall/demo.sh: it then builds nothing and runs the
# installed programs and policies (HU_PREFIX, default /usr).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
seconds=${HU_DEMO_SECONDS:-3}

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
show() { printf '\033[2m$ %s\033[0m\n' "$*"; "$@"; }

if [ -f "$here/../CMakeLists.txt" ]; then
	cd "$here/.."
	root=$PWD
	build=${BUILD_DIR:-$root/build}
	step "install Debian packages (scripts/setup.sh)"
	bash scripts/setup.sh

	step "build"
	cmake -S . -B "$build" -G Ninja >/dev/null
	cmake --build "$build" -j"$(nproc)" --target hyperupcalld hyperupcallctl hyperupcall hu_policies

	daemon=$build/dom0-daemon/hyperupcalld
	ctl_bin=$build/dom0-daemon/hyperupcallctl
	tool=$build/guest-driver/hyperupcall
	pol=$build/policies
else
	prefix=${HU_PREFIX:-/usr}
	daemon=$prefix/sbin/hyperupcalld
	ctl_bin=$prefix/bin/hyperupcallctl
	tool=$prefix/bin/hyperupcall
	pol=$prefix/share/hyperupcall/policies
	step "installed: $daemon, $ctl_bin, $tool, policies in $pol"
	for f in "$daemon" "$ctl_bin" "$tool" "$pol/reclaim.bpf.o"; do
		[ -e "$f" ] || { echo "demo: $f is missing: install hyperupcall-dom0 and hyperupcall-guest" >&2; exit 1; }
	done
fi
work=$(mktemp -d /tmp/hyperupcall-demo.XXXXXX)
state=$work/state
op=$work/operator.sock
gdir=$work/guests
daemon_pid=
stop_daemon() {
	if [ -n "$daemon_pid" ] && kill -0 "$daemon_pid" 2>/dev/null; then
		kill -TERM "$daemon_pid"
		wait "$daemon_pid" || true
	fi
	daemon_pid=
}
trap 'stop_daemon; rm -rf "$work"' EXIT

step "start hyperupcalld: sim backend, two guests"
daemon_args=(--config /dev/null --backend sim --sim-guests 2 --state "$state" --operator-socket "$op"
	--guest-socket-dir "$gdir")
printf '\033[2m$ %s\033[0m\n' "$daemon ${daemon_args[*]}"
"$daemon" "${daemon_args[@]}" >"$work/daemon.log" 2>&1 &
daemon_pid=$!
for _ in $(seq 1 100); do
	[ -S "$op" ] && [ -S "$gdir/1.sock" ] && [ -S "$gdir/2.sock" ] && break
	kill -0 "$daemon_pid" 2>/dev/null || { cat "$work/daemon.log"; exit 1; }
	sleep 0.1
done
ctl() { show "$ctl_bin" --socket "$op" "$@"; }
# Each guest reaches the daemon only through its own channel (a unix socket
# under sim), and resolves kernel symbols against its own kallsyms.
guest() {
	local d=$1; shift
	show "$tool" --connect "unix:$gdir/$d.sock" --kallsyms "$state/kallsyms/$d/kallsyms" "$@"
}
ctl domain list

step "guest 1 loads its memory reclaim policy, guest 2 its tracing and preemption policies"
guest 1 load "$pol/reclaim.bpf.o" --manifest "$pol/reclaim.manifest.json"
guest 2 load "$pol/trace.bpf.o" --manifest "$pol/trace.manifest.json"
guest 2 load "$pol/preempt.bpf.o" --manifest "$pol/preempt.manifest.json"

step "guest 1 tries the tracing program on the wrong hook: the verifier says no"
guest 1 load "$pol/trace.bpf.o" --hook mem.protect || true

step "the hooks fire in the simulated host for ${seconds}s"
sleep "$seconds"

step "what the operator sees"
ctl prog list --all
ctl prog show 1
ctl stats
ctl events --count 3
step "the operator asks guest 1's reclaim policy which of 64 frames are free (nothing is reclaimed)"
ctl reclaim scan --domain guest1 --first 0x100 --count 64
step "guest 2 reads its own map"
guest 2 list
guest 2 map dump 2 exit_counts

step "stop"
stop_daemon
echo "hyperupcalld stopped; its log:"
sed 's/^/  /' "$work/daemon.log"
