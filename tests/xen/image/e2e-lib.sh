# Sourced (as /usr/lib/hu/e2e-lib.sh) by every dom0 /init of the QEMU end-to-end
# tests: how a check is reported, how long to wait for xenstore, and how
# dom0's Xen toolstack comes up, said once for all of them. Each /init keeps
# its own finish(), since what it prints before the result differs.
pass=0
fail=0
say() { echo "HU-E2E: $*"; }
ok() { pass=$((pass + 1)); say "check $1 ok${2:+: $2}"; }
bad() { fail=$((fail + 1)); say "check $1 FAIL${2:+: $2}"; }
# expect NAME WANT GOT
expect() { if [ "$3" = "$2" ]; then ok "$1" "$3"; else bad "$1" "expected '$2', got '$3'"; fi; }

# Limits are seconds of dom0 uptime, generous because TCG on a loaded CI
# machine is slow.
uptime_s() { cut -d. -f1 /proc/uptime; }
wait_node() { # node want-value-or-empty limit-seconds
	deadline=$(($(uptime_s) + $3))
	while :; do
		v=$(xenstore-read "$1" 2>/dev/null)
		if [ -n "$v" ] && { [ -z "$2" ] || [ "$v" = "$2" ]; }; then return 0; fi
		[ "$(uptime_s)" -lt "$deadline" ] || return 1
		sleep 0.5
	done
}

# Pseudo file systems, Xen's dom0 modules and xenfs.
dom0_mounts() {
	mount -t proc proc /proc
	mount -t sysfs sysfs /sys
	mount -t devtmpfs devtmpfs /dev
	mkdir -p /dev/pts /dev/shm
	mount -t devpts devpts /dev/pts
	for m in xen-evtchn xen-privcmd xenfs xen-gntdev xen-gntalloc; do
		insmod /lib/modules/$m.ko || say "insmod $m failed"
	done
	mount -t xenfs xenfs /proc/xen
}

# xen_dirs [DIR...]: the directories Xen's tools write to, and the caller's.
xen_dirs() {
	mkdir -p /var/run/xenstored /var/lib/xenstored /var/log/xen/console /var/lib/xen /run/xen \
		/var/run/xen "$@"
}

# The toolstack daemons every test needs.
start_toolstack() {
	xenstored --pid-file /var/run/xenstored.pid
	xen-init-dom0 >/dev/null
	xenconsoled --log=guest --pid-file=/var/run/xenconsoled.pid
}

# forward_console LOG [TAG]: a domU's console log, live, as "HU-E2E: TAG:"
# lines (TAG defaults to domU).
forward_console() {
	(tail -F "$1" 2>/dev/null |
		while IFS= read -r l; do echo "HU-E2E: ${2:-domU}: $l"; done) &
}
