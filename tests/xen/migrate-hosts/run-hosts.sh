#!/usr/bin/env bash
# Boots the three hosts of the two-host migration test, each its own QEMU
# (TCG), joined by QEMU socket netdevs on loopback ports free at the time:
# host B (patched Xen) and host C (Debian's Xen) listen, host A (patched
# Xen, the source) connects to both. A's dom0 drives the test; B and C
# check their side on their own serial logs and stay up for A's questions
# until A has ended.
#   run-hosts.sh A-LOG B-LOG C-LOG
# Takes from the environment (Makefile.xen's values, migrate-hosts.mk):
# XEN_PATCHED, XEN_DEBIAN (hypervisor ELFs), KERNEL, IMG (the dom0 image of
# all three), XEN_CMDLINE, DOM0_CMDLINE, QEMU_ACCEL, QEMU_CPU, QEMU_MEM,
# QEMU_TIMEOUT (A's limit; B and C get GRACE more), GRACE (how long B and C
# may still run after A ended; FAIL_GRACE after an A that failed a check),
# JUDGE (the verdict on the three logs) and
# TCG_FAULT (tests/xen/image/tcg-fault.sh).
#
# As Makefile.xen's run_qemu: a run whose judge fails and one of whose logs
# shows a fault of QEMU's emulation (tcg-fault.sh) boots all three once
# more, the first logs kept as LOG.tcg-fault, the second ones saying so in
# a "HU-HOST: retry 1" line; the second run must pass on its own. Every
# QEMU started here is stopped on every way out (signals included).
set -uo pipefail
alog=${1:?usage: run-hosts.sh A-LOG B-LOG C-LOG} blog=${2:?usage} clog=${3:?usage}
: "${XEN_PATCHED:?}" "${XEN_DEBIAN:?}" "${KERNEL:?}" "${IMG:?}" "${XEN_CMDLINE:?}" "${DOM0_CMDLINE:?}"
: "${QEMU_ACCEL:=tcg}" "${QEMU_CPU:?}" "${QEMU_MEM:=2048}" "${QEMU_TIMEOUT:=3000}" "${GRACE:=600}"
: "${FAIL_GRACE:=60}"
: "${JUDGE:?}" "${TCG_FAULT:?}"

pids=()
stop_all() {
	local p
	for p in "${pids[@]}"; do [ -n "$p" ] && kill "$p" 2>/dev/null; done
	for p in "${pids[@]}"; do [ -n "$p" ] && wait "$p" 2>/dev/null; done
	pids=()
}
trap 'stop_all' EXIT
trap 'echo "run-hosts: stopped by a signal" >&2; exit 130' INT TERM HUP

# A loopback port nobody listens on now (another run's QEMU may take it
# before ours does: then B's or C's QEMU fails at once, and so does this
# run, saying so).
free_port() {
	local p
	for _ in $(seq 50); do
		p=$((20000 + RANDOM % 40000))
		[ -z "$(ss -Htln "sport = :$p")" ] && { echo $p; return 0; }
	done
	return 1
}

# boot ROLE ELF LOG LIMIT NETDEV-ARGS...: one QEMU in the background under
# timeout, whose pid goes to $pids (killing it stops QEMU too).
declare -A started
boot() {
	local role=$1 elf=$2 log=$3 limit=$4
	shift 4
	timeout "$limit" qemu-system-x86_64 -accel "$QEMU_ACCEL" -cpu "$QEMU_CPU" \
		-m "$QEMU_MEM" -smp 2 -nographic -monitor none -serial "file:$log" -no-reboot \
		-kernel "$elf" -append "$XEN_CMDLINE" \
		-initrd "$KERNEL $DOM0_CMDLINE hu.role=$role,$IMG" "$@" </dev/null 2>"$log.qemu-stderr" &
	pids+=($!)
	started[$!]=$(date +%s)
}
# ended PID ROLE LOG: waits for that QEMU; its log ends with how it ended.
ended() {
	local rc
	wait "$1"
	rc=$?
	[ $rc = 0 ] || echo "qemu exited with $rc (124: timeout, 143: stopped)" >>"$3"
	[ -s "$3.qemu-stderr" ] && sed 's/^/HU-HOST: qemu: /' "$3.qemu-stderr" >>"$3"
	rm -f "$3.qemu-stderr"
	echo "HU-HOST: host $2: boot took $(($(date +%s) - started[$1])) s" | tee -a "$3"
}

# listening PORT PID: until a QEMU listens on PORT (while PID lives).
listening() {
	for _ in $(seq 100); do
		[ -n "$(ss -Htln "sport = :$1")" ] && return 0
		kill -0 "$2" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}

run_once() {
	local pb pc
	rm -f "$alog" "$blog" "$clog"
	pb=$(free_port) && pc=$(free_port) || { echo "run-hosts: no free loopback port" >&2; return 1; }
	[ "$pb" != "$pc" ] || pc=$((pb + 1))
	echo "HU-HOST: links on 127.0.0.1: A-B port $pb, A-C port $pc"
	boot b "$XEN_PATCHED" "$blog" $((QEMU_TIMEOUT + GRACE)) \
		-netdev "socket,id=n0,listen=127.0.0.1:$pb" -device e1000,netdev=n0,mac=52:54:00:48:55:b0
	listening "$pb" "${pids[0]}" || { echo "run-hosts: host B's QEMU does not listen on $pb: $(cat "$blog.qemu-stderr")" >&2; return 1; }
	boot c "$XEN_DEBIAN" "$clog" $((QEMU_TIMEOUT + GRACE)) \
		-netdev "socket,id=n0,listen=127.0.0.1:$pc" -device e1000,netdev=n0,mac=52:54:00:48:55:c0
	listening "$pc" "${pids[1]}" || { echo "run-hosts: host C's QEMU does not listen on $pc: $(cat "$clog.qemu-stderr")" >&2; return 1; }
	boot a "$XEN_PATCHED" "$alog" "$QEMU_TIMEOUT" \
		-netdev "socket,id=n0,connect=127.0.0.1:$pb" -device e1000,netdev=n0,mac=52:54:00:48:55:ab \
		-netdev "socket,id=n1,connect=127.0.0.1:$pc" -device e1000,netdev=n1,mac=52:54:00:48:55:ac
	# A drives the test and asks B's and C's libvirtd about the domains it
	# sent them, so B and C stay up after their own checks (their last
	# words "result pass=N fail=M") until A has ended: then they are
	# stopped at once. One without a result yet may still be making its
	# checks: it is stopped GRACE seconds after A (FAIL_GRACE after an A
	# that failed a check, which may have stopped before what B or C wait
	# for).
	local roles=(b c a) logs=("$blog" "$clog" "$alog") left=3 i deadline= a_ended= stopping=(0 0)
	while [ $left -gt 0 ]; do
		sleep 2
		for i in 0 1 2; do
			[ -n "${pids[$i]}" ] && ! kill -0 "${pids[$i]}" 2>/dev/null || continue
			ended "${pids[$i]}" "${roles[$i]}" "${logs[$i]}"
			pids[$i]=
			left=$((left - 1))
			if [ $i = 2 ]; then
				a_ended=1
				grace=$GRACE
				grep -aqE '^HU-E2E: result pass=[0-9]+ fail=[1-9]' "$alog" && grace=$FAIL_GRACE
				deadline=$(($(date +%s) + grace))
			fi
		done
		[ -n "$a_ended" ] || continue
		for i in 0 1; do
			[ -n "${pids[$i]}" ] && [ "${stopping[$i]}" = 0 ] || continue
			if grep -aqE '^HU-E2E: result pass=[0-9]+ fail=[0-9]+' "${logs[$i]}"; then
				echo "HU-HOST: host ${roles[$i]} made its checks and host A has ended: stopped" | tee -a "${logs[$i]}"
			elif [ "$(date +%s)" -ge "$deadline" ]; then
				echo "HU-HOST: host ${roles[$i]} still running $grace s after host A ended: stopped" | tee -a "${logs[$i]}"
			else
				continue
			fi
			kill "${pids[$i]}"
			stopping[$i]=1 # ended() reports it on a next round.
		done
	done
	pids=()
}

for try in 1 2; do
	run_once || exit 1
	if [ $try = 2 ]; then
		for l in "$alog" "$blog" "$clog"; do
			echo "HU-HOST: retry 1: the first run met an emulator fault, $fault ($(basename "$faulty").tcg-fault)" >>"$l"
		done
		break
	fi
	$JUDGE >/dev/null 2>&1 && break
	fault= faulty=
	for l in "$alog" "$blog" "$clog"; do
		if f=$("$TCG_FAULT" "$l"); then fault=$f faulty=$l; break; fi
	done
	[ -n "$fault" ] || break
	for l in "$alog" "$blog" "$clog"; do mv "$l" "$l.tcg-fault"; done
	echo "HU-HOST: the run failed after an emulator fault ($fault in $(basename "$faulty"), tcg-fault.sh): booting the three hosts once more"
done
exit 0
