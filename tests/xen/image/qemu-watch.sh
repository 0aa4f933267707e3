#!/bin/sh
# qemu-watch.sh LIMIT STALL LOG CMD...: runs CMD (a QEMU writing its serial
# log to LOG) and ends it LIMIT seconds after it started, or once STALL
# seconds went by without a new "HU-E2E:" line in LOG: a hung Xen or dom0
# (its kernel may still print, an RCU stall every minute) is stopped early,
# while a boot that moves on, however slowly on a loaded host, runs to its
# end. Exits with CMD's status, 124 at LIMIT, 125 on a stall; the two
# latter are said at the end of LOG. QEMU_WATCH_POLL: seconds between looks.
limit=${1:?usage: qemu-watch.sh LIMIT STALL LOG CMD...} stall=${2:?} log=${3:?}
shift 3
poll=${QEMU_WATCH_POLL:-5}
"$@" &
pid=$!
start=$(date +%s) seen=0 moved=$start
while kill -0 "$pid" 2>/dev/null; do
	sleep "$poll"
	now=$(date +%s)
	n=$(grep -ac '^HU-E2E:' "$log" 2>/dev/null)
	if [ "${n:-0}" != "$seen" ]; then
		seen=${n:-0} moved=$now
	fi
	why=
	if [ $((now - start)) -ge "$limit" ]; then
		why="QEMU stopped at its limit of $limit s" rc=124
	elif [ $((now - moved)) -ge "$stall" ]; then
		why="QEMU stopped: no HU-E2E line for $stall s (a hung boot)" rc=125
	fi
	if [ -n "$why" ]; then
		kill "$pid" 2>/dev/null
		wait "$pid"
		echo "HU-HOST: $why" >>"$log"
		exit $rc
	fi
done
wait "$pid"
