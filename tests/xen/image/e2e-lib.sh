# Sourced (as /usr/lib/hu/e2e-lib.sh) by every dom0 /init of the QEMU end-to-end
# tests: how a check is reported, how long to wait for xenstore, and how
# dom0's Xen toolstack comes up, said once for all of them. Each /init keeps
# its own finish(), since what it prints before the result differs.
pass=0
fail=0
retries=0
say() { echo "HU-E2E: $*"; }
ok() { pass=$((pass + 1)); say "check $1 ok${2:+: $2}"; }
bad() { fail=$((fail + 1)); say "check $1 FAIL${2:+: $2}"; }
# expect NAME WANT GOT
expect() { if [ "$3" = "$2" ]; then ok "$1" "$3"; else bad "$1" "expected '$2', got '$3'"; fi; }

# Limits are seconds of dom0 uptime, generous because TCG on a loaded CI
# machine is slow.
uptime_s() { cut -d. -f1 /proc/uptime; }
# wait_node NODE WANT LIMIT: until xenstore's NODE holds WANT (any value
# when WANT is empty), at most LIMIT seconds. A node of a domain
# (/local/domain/N/...) stops the wait as soon as that domain is gone
# (died: its directory leaves xenstore), saying so, rather than at LIMIT.
wait_node() {
	deadline=$(($(uptime_s) + $3))
	wn_dom=$(echo "$1" | sed -n 's|^/local/domain/\([1-9][0-9]*\)/.*|\1|p')
	while :; do
		v=$(xenstore-read "$1" 2>/dev/null)
		if [ -n "$v" ] && { [ -z "$2" ] || [ "$v" = "$2" ]; }; then return 0; fi
		if [ -n "$wn_dom" ] && ! xenstore-read "/local/domain/$wn_dom/name" >/dev/null 2>&1; then
			say "wait_node: domain $wn_dom is gone, $1 never came"
			return 1
		fi
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

# start_domain NAME CFG NODE LIMIT: `xl create CFG`, then wait (LIMIT
# seconds) until the domain writes data/hu/NODE. Domains are followed by
# name: a test domain's config says on_reboot="destroy", so a guest that
# dies early (a triple fault is a reboot) is gone rather than quietly
# restarted under a new id. That is reported with Xen's reason, counted in
# $retries and the domain is created again, three tries in all. Sets $domid.
start_domain() {
	sd_name=$1 sd_cfg=$2 sd_node=$3 sd_limit=$4 sd_try=1
	while [ $sd_try -le 3 ]; do
		if ! xl create "$sd_cfg" >/tmp/xl-create.out 2>&1; then
			say "xl create $sd_name failed: $(tail -1 /tmp/xl-create.out)"
			return 1
		fi
		# Empty when the domain died between create and this question.
		domid=$(xl domid "$sd_name" 2>/dev/null)
		sd_deadline=$(($(uptime_s) + sd_limit))
		while :; do
			if [ -z "$domid" ] || [ "$(xl domid "$sd_name" 2>/dev/null)" != "$domid" ]; then
				retries=$((retries + 1))
				say "retry $retries: $sd_name (domain ${domid:-gone at once}) ended before it was ready, try $sd_try of 3;" \
					"Xen says: $(xl dmesg | grep -a "d$domid" | tail -2 | tr '\n' ' ')"
				break
			fi
			if [ -n "$(xenstore-read "/local/domain/$domid/data/hu/$sd_node" 2>/dev/null)" ]; then
				return 0
			fi
			if [ "$(uptime_s)" -ge "$sd_deadline" ]; then
				say "$sd_name (domain $domid) not ready after $sd_limit s"
				return 1
			fi
			sleep 0.5
		done
		sd_try=$((sd_try + 1))
	done
	return 1
}

# xlog ARGS...: xl, its words on the log and in /tmp/xl.out.
xlog() { xl "$@" >/tmp/xl.out 2>&1; r=$?; sed 's/^/HU-E2E: xl: /' /tmp/xl.out >&2; return $r; }

# state_text DOMID FILE: Xen's hyperupcall state of the domain as text in
# FILE (its blob in FILE.blob): one line per program, region and map
# entry, without ids and notes (the daemon gives new ones where programs
# arrive after a save/restore or a migration). text_of BLOB FILE: the same
# of a blob (a save file's record, hu-xenctl state-from-stream).
state_text() {
	hu-xenctl save --dom "$1" --out "$2.blob" >/tmp/xctl.out 2>&1
	r=$?
	sed 's/^/HU-E2E: xenctl: /' /tmp/xctl.out >&2
	[ $r = 0 ] && text_of "$2.blob" "$2"
}
text_of() { hu-xenctl state-dump --in "$1" | sed 's/ id=[0-9]*//; s/ annotation=.*//' >"$2"; }
