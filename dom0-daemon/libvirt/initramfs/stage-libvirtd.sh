#!/usr/bin/env bash
# Copies libvirtd with only the libxl (Xen) driver, virsh, their shared
# library closure, a minimal configuration and hyperupcall's libxl hook
# (with the part of python3 it needs) into a dom0 boot image staging tree.
#   dom0-daemon/libvirt/initramfs/stage-libvirtd.sh DEST [--no-hook]
# Prints what it added and how big it is. Needs Debian 12's libvirt-daemon,
# libvirt-daemon-driver-xen, libvirt-clients and python3 on the build host.
# At run time libxl also needs what `xl` needs (xenfs on /proc/xen,
# /dev/xen, xenstored, xenconsoled); the image provides those for xl anyway.
set -euo pipefail

dest=${1:?usage: stage-libvirtd.sh DEST [--no-hook]}
with_hook=1
[ "${2:-}" = --no-hook ] && with_hook=0
here=$(cd "$(dirname "$0")" && pwd)
drvdir=/usr/lib/x86_64-linux-gnu/libvirt/connection-driver
bins=(/usr/sbin/libvirtd /usr/bin/virsh "$drvdir/libvirt_driver_libxl.so")
[ "$with_hook" = 1 ] && bins+=(/usr/bin/python3.11)
for b in "${bins[@]}"; do
	[ -e "$b" ] || { echo "stage-libvirtd: $b missing (install libvirt-daemon-driver-xen libvirt-clients python3)" >&2; exit 1; }
done

copy() { # path: copied with its directory, symlinks resolved
	install -D -m "$(stat -c %a "$(readlink -f "$1")")" "$(readlink -f "$1")" "$dest$1"
}

libs=$(for b in "${bins[@]}"; do ldd "$b"; done | awk '/=> \// {print $3} /^\t\/lib/ {print $1}' | sort -u)
for f in "${bins[@]}" $libs; do copy "$f"; done
# libvirtd loads every driver module it finds: ship only libxl's.
mkdir -p "$dest/run/libvirt" "$dest/var/lib/libvirt/libxl" "$dest/var/log/libvirt/libxl" \
	"$dest/var/cache/libvirt" "$dest/etc/libvirt"
# The libxl driver describes the host CPU from libvirt's CPU map.
mkdir -p "$dest/usr/share/libvirt"
cp -a /usr/share/libvirt/cpu_map "$dest/usr/share/libvirt/"
# libvirtd binds in /run, clients look in /var/run: one place, as on Debian.
[ -e "$dest/var/run" ] || ln -s ../run "$dest/var/run"
cat >"$dest/etc/libvirt/libvirtd.conf" <<'CONF'
# hyperupcall dom0 image: local unix sockets only, root only.
listen_tls = 0
listen_tcp = 0
unix_sock_rw_perms = "0700"
auth_unix_rw = "none"
auth_unix_ro = "none"
log_outputs = "2:file:/var/log/libvirt/libvirtd.log"
CONF
# getpwnam/getgrnam for root (libvirt resolves its users).
[ -e "$dest/etc/passwd" ] || echo "root:x:0:0:root:/root:/bin/sh" >"$dest/etc/passwd"
[ -e "$dest/etc/group" ] || echo "root:x:0:" >"$dest/etc/group"

if [ "$with_hook" = 1 ]; then
	install -D -m 0755 "$here/../hooks/libxl" "$dest/etc/libvirt/hooks/libxl"
	ln -sf python3.11 "$dest/usr/bin/python3"
	# The hook's "#!/usr/bin/env python3"; busybox images have env already.
	[ -e "$dest/usr/bin/env" ] || copy /usr/bin/env
	# The standard library without what the hook never imports (build
	# config, tests, GUIs, packaging): json, socket, xml.etree stay.
	py=/usr/lib/python3.11
	mkdir -p "$dest$py/lib-dynload"  # empty: the modules it needs are built in
	(cd "$py" && find . -name __pycache__ -prune -o \( -name '*.py' -print \) |
		grep -Ev '^\./(config-|test|idlelib|tkinter|lib2to3|pydoc_data|distutils|ensurepip|unittest|asyncio|multiprocessing|email|http|sqlite3|venv|turtledemo|site-packages|dist-packages|ctypes|curses|dbm|wsgiref|xmlrpc|concurrent)' |
		cpio -pdm --quiet "$dest$py")
fi

kib=$(du -sk "$dest" | cut -f1)
echo "stage-libvirtd: libvirtd $(/usr/sbin/libvirtd --version | awk '{print $NF}') + libxl driver, virsh$([ "$with_hook" = 1 ] && echo ", hook + python3")"
echo "stage-libvirtd: $(echo "$libs" | wc -l) shared libraries, $((kib / 1024)) MiB in $dest"
