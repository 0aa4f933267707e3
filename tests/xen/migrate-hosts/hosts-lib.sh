# Sourced (as /usr/lib/hu/hosts-lib.sh, after e2e-lib.sh) by the three
# dom0 /init roles of the two-host migration test (README.md here): the
# hosts' names and addresses, the network, libvirtd, hyperupcalld and the
# checks the roles share. Host A has a link to B (10.0.1.0/24) and one to C
# (10.0.2.0/24), each a QEMU socket netdev between two QEMUs; B and C have
# one link each. NICs are found by the MAC address QEMU gave them.
export PATH=/usr/lib/xen-4.17/bin:/usr/sbin:/usr/bin:/sbin:/bin
NAME=hu-mh
UUID=7c3e5b1a-4d2f-4e8a-9b6c-1f0e2d3c4b5a
PLAIN=hu-plain
A_TO_B=10.0.1.1 B_ADDR=10.0.1.2 A_TO_C=10.0.2.1 C_ADDR=10.0.2.3
B_URI=xen+tcp://hu-host-b/system
C_URI=xen+tcp://hu-host-c/system
# exit_counts[memory_op] (kind 0, code 12) of the trace program in a state text.
MEMORY_OP_KEY=00000000000000000c00000000000000
memory_op_count() { sed -n "s/.*state map map=0 key=$MEMORY_OP_KEY value=\([0-9]*\)$/\1/p" "$1"; }
number() { case "$1" in '' | *[!0-9]*) return 1 ;; esac; }
ctl() { hyperupcallctl --socket /run/hu/op.sock "$@" >/tmp/ctl.out 2>&1; r=$?; sed 's/^/HU-E2E: ctl: /' /tmp/ctl.out >&2; return $r; }
xctl() { hu-xenctl "$@" >/tmp/xctl.out 2>&1; r=$?; sed 's/^/HU-E2E: xenctl: /' /tmp/xctl.out >&2; return $r; }
# lv [-c URI] ARGS...: virsh (this host's libvirtd unless -c), its words on
# the log and in /tmp/virsh.out. Its keepalive gives a libvirtd 3 minutes
# (virsh's default: 30 s) before it drops the connection: three TCG hosts
# share two loaded cores, and a dropped connection fails a migration.
lv() {
	uri=xen:///system
	[ "$1" = -c ] && { uri=$2; shift 2; }
	virsh -k 10 -K 18 -c "$uri" "$@" >/tmp/virsh.out 2>&1
	r=$?
	sed 's/^/HU-E2E: virsh: /' /tmp/virsh.out >&2
	return $r
}
# until_ok LIMIT-SECONDS CMD...: runs CMD every second until it succeeds.
until_ok() {
	deadline=$(($(uptime_s) + $1))
	shift
	while ! "$@" >/dev/null 2>&1; do
		[ "$(uptime_s)" -lt "$deadline" ] || return 1
		sleep 1
	done
}
# The domain's programs in Xen: "N".
xen_programs() { xctl list --dom "$1" && sed -n 's/.*programs=\([0-9]*\).*/\1/p' /tmp/xctl.out; }
# go=N: the guest makes calls (N-1)*1000..N*1000-1, then done=N*1000.
round() { # DOMID N
	xenstore-write "/local/domain/$1/data/hu/go" "$2"
	wait_node "/local/domain/$1/data/hu/done" "$(($2 * 1000))" 900
}
# The hooks of the programs in a `prog list` in /tmp/ctl.out, sorted.
hooks_listed() { awk '$1 ~ /^[0-9]+:$/ { print $2 }' /tmp/ctl.out | sort | tr '\n' ' ' | sed 's/ $//'; }
# Which engine Xen runs each of domain DOM's programs with, by hook.
engines() { # DOM
	xctl list --dom "$1" && sed -n 's/.*hook=\([a-z.]*\) .*engine=\([a-z-]*\).*/\1=\2/p' /tmp/xctl.out | sort | tr '\n' ' '
}

# host_up ROLE ADDR/PREFIX:MAC...: dom0's mounts and directories, the
# host's name, its links, its hosts file.
host_up() {
	role=$1
	shift
	dom0_mounts
	# libvirt's image part makes /var/run a link to /run (as on Debian).
	[ -L /var/run ] || { rmdir /var/run 2>/dev/null && ln -s ../run /var/run; }
	xen_dirs /run/hu/guests /run/hyperupcall /var/lib/hu /var/log/hu
	echo "hu-host-$role" >/proc/sys/kernel/hostname
	cat >/etc/hosts <<HOSTS
127.0.0.1 localhost
$A_TO_B hu-host-a
$B_ADDR hu-host-b
$C_ADDR hu-host-c
HOSTS
	insmod /lib/modules/e1000.ko || say "insmod e1000 failed"
	ip link set lo up
	for spec in "$@"; do
		addr=${spec%%:*} mac=${spec#*:}
		dev=
		i=0
		while [ -z "$dev" ] && [ $i -lt 30 ]; do
			for n in /sys/class/net/*; do
				[ "$(cat "$n/address")" = "$mac" ] && dev=${n##*/}
			done
			[ -n "$dev" ] || { sleep 1; i=$((i + 1)); }
		done
		if [ -z "$dev" ]; then
			say "no NIC with MAC $mac: $(ls /sys/class/net | tr '\n' ' ')"
			continue
		fi
		ip addr add "$addr" dev "$dev"
		ip link set "$dev" up
		say "network: $dev ($mac) $addr"
	done
	say "dom0 up at $(cut -d' ' -f1 /proc/uptime)s as hu-host-$role, $(du -sm / -x 2>/dev/null | cut -f1) MiB in the root"
}

# start_libvirtd [--listen]: libvirtd with the libxl driver, up when virsh
# gets an answer. --listen: on TCP without authentication too (this test's
# private links only), for the source's virsh and libvirtd.
start_libvirtd() {
	conf=/etc/libvirt/libvirtd.conf
	if [ "${1:-}" = --listen ]; then
		{ cat /etc/libvirt/libvirtd.conf; printf 'listen_tcp = 1\nauth_tcp = "none"\n'; } | \
			sed '/^listen_tcp = 0/d' >/etc/hu/libvirtd-tcp.conf
		conf=/etc/hu/libvirtd-tcp.conf
	fi
	t0=$(uptime_s)
	libvirtd -d ${1:-} -f $conf --pid-file /run/libvirtd.pid
	libvirtd_up() {
		virsh -c xen:///system version >/dev/null 2>&1 && return 0
		pidof libvirtd >/dev/null || return 0
		return 1
	}
	until_ok 180 libvirtd_up
	if lv version && grep -q 'Running hypervisor: Xen' /tmp/virsh.out; then
		ok libvirtd-up "libxl driver answers on xen:///system after $(($(uptime_s) - t0)) s${1:+, listening on TCP}"
	else
		bad libvirtd-up "no answer on xen:///system"
		finish
	fi
}

# hyperupcalld --backend xen following libvirt's domains (names, UUIDs,
# hook), with its toolstack socket for the migration stream's programs.
start_daemon() {
	hyperupcalld --backend xen --state /var/lib/hu --operator-socket /run/hu/op.sock \
		--guest-socket-dir /run/hu/guests --libvirt-uri xen:///system \
		--libvirt-hook-socket /run/hyperupcall/libvirt-hook.sock >/var/log/hu/daemon.log 2>&1 &
	until_ok 300 test -S /run/hyperupcall/toolstack.sock -a -S /run/hu/op.sock
	if [ -S /run/hu/op.sock ] && [ -S /run/hyperupcall/toolstack.sock ]; then
		ok daemon-up "operator and toolstack sockets"
	else
		bad daemon-up "no operator or toolstack socket"
		finish
	fi
}

# finish: what each role prints before its result, then A powers off and
# B and C wait to be stopped.
finish() {
	if [ -s /var/log/hu/daemon.log ]; then
		say "daemon log:"
		sed 's/^/HU-E2E: hyperupcalld: /' /var/log/hu/daemon.log
	fi
	say "libvirtd log (tail):"
	sed 's/^/HU-E2E: libvirtd: /' /var/log/libvirt/libvirtd.log 2>/dev/null | tail -40
	for f in /var/log/libvirt/libxl/*.log; do
		[ -f "$f" ] || continue
		grep -ai 'error\|warn\|hyperupcall\|mandatory' "$f" | sed "s|^|HU-E2E: libxl ${f##*/}: |" | tail -30
	done
	say "retries $retries"
	say "result pass=$pass fail=$fail"
	sync
	# A destination stays up: host A still asks its libvirtd about the
	# domain it sent (one run's C powered off after its round, before A's
	# `domstate`). run-hosts.sh stops it once A has ended.
	if [ "$role" != a ]; then
		say "host $role made its checks: up for host A until run-hosts.sh stops it"
		while :; do sleep 3600; done
	fi
	poweroff -f
}
