#!/usr/bin/env bash
# Stages libvirtd + the libxl driver + the hook into an empty tree, as the
# dom0 boot image would get them, and checks the tree is self-sufficient:
# run inside a chroot of it, libvirtd, virsh and the hook start and work.
# Exit 77 (skipped) when not root: chroot needs it.
set -euo pipefail
[ "$(id -u)" = 0 ] || { echo "stage_dom0: not root, skipped"; exit 77; }
# The libxl driver comes with `scripts/setup.sh --xen` (libvirt-daemon-driver-xen).
[ -e /usr/lib/x86_64-linux-gnu/libvirt/connection-driver/libvirt_driver_libxl.so ] ||
	{ echo "stage_dom0: libvirt-daemon-driver-xen not installed, skipped"; exit 77; }
src=$(cd "$(dirname "$0")/../.." && pwd)
dest=$(mktemp -d /tmp/hu-stage-XXXXXX)
cleanup() {
	# The mounts live in the unshared namespace only; never delete through one.
	if grep -q " $dest/" /proc/self/mounts; then
		echo "stage_dom0: $dest still has mounts, left in place" >&2
	else
		rm -rf "$dest"
	fi
}
trap cleanup EXIT

"$src/dom0-daemon/libvirt/initramfs/stage-libvirtd.sh" "$dest"
ver=$(chroot "$dest" /usr/sbin/libvirtd --version)
echo "$ver"
[[ "$ver" == *"libvirtd (libvirt) 9."* ]]
LC_ALL=C chroot "$dest" /usr/bin/virsh -c test:///default list --name 2>/dev/null | grep -x test >/dev/null
# Only libxl's driver module: libvirtd must not find qemu's and friends.
[ "$(ls "$dest/usr/lib/x86_64-linux-gnu/libvirt/connection-driver")" = libvirt_driver_libxl.so ]
# libvirt's CPU map: without it the libxl driver cannot name the host CPU
# and libvirtd's Xen state driver fails to initialize.
[ -e "$dest/usr/share/libvirt/cpu_map/index.xml" ]
# The hook imports everything it needs from the staged python (an import
# error would exit 1 with a traceback) and exits 0 with no daemon.
err=$(echo "<domain><uuid>c7a5fdbd-cdaf-9455-926a-d65c16db1809</uuid></domain>" |
	chroot "$dest" /etc/libvirt/hooks/libxl vm1 prepare begin - 2>&1)
[ -z "$err" ] || { echo "hook said: $err"; exit 1; }

# libvirtd as a daemon in the staged tree, in its own mount/pid/net
# namespaces: it must come up and answer for xen:///system. Without Xen
# (here) the libxl driver answers that it is not active; in a dom0 it
# answers with the version.
if unshare --mount --pid --net --fork true 2>/dev/null; then
	out=$(unshare --mount --pid --net --fork bash -c '
		d=$1
		mkdir -p "$d/proc" "$d/dev" "$d/sys" && mount -t proc proc "$d/proc" && mount --rbind /dev "$d/dev" && mount -t sysfs sys "$d/sys"
		chroot "$d" /usr/sbin/libvirtd -d --pid-file /run/libvirtd.pid
		for i in $(seq 100); do [ -S "$d/run/libvirt/libvirt-sock" ] && break; sleep 0.1; done
		LC_ALL=C chroot "$d" /usr/bin/virsh -c xen:///system version 2>&1
		kill "$(cat "$d/run/libvirtd.pid")"' _ "$dest" || true)
	echo "$out"
	grep -Eq "libxenlight state driver is not active|Running hypervisor: Xen" <<<"$out"
else
	echo "stage_dom0: no namespaces here, libvirtd daemon start not checked"
fi
echo "stage_dom0: ok"
