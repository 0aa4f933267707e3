#!/usr/bin/env bash
# Installs hyperupcall's libvirt hook for the libxl (Xen) driver. Idempotent:
# an identical hook already in place is left alone.
#   scripts/install-libvirt-hook.sh [--root DIR]
# Goes to /etc/libvirt/hooks/libxl; when another hook already owns that
# name, to /etc/libvirt/hooks/libxl.d/hyperupcall instead (libvirt >= 6.5
# runs both). libvirtd reads its hooks at start: restart it after the first
# install (the script says so).
set -euo pipefail

root=""
while [ $# -gt 0 ]; do
	case "$1" in
	--root) root=${2:?--root needs a directory}; shift 2 ;;
	*) echo "install-libvirt-hook: unknown option '$1' (known: --root DIR)" >&2; exit 2 ;;
	esac
done

src="$(cd "$(dirname "$0")/.." && pwd)/dom0-daemon/libvirt/hooks/libxl"
[ -f "$src" ] || { echo "install-libvirt-hook: $src missing" >&2; exit 1; }
if [ -z "$root" ] && [ "$(id -u)" != 0 ]; then
	echo "install-libvirt-hook: not root, skipped (run as root to install into /etc/libvirt/hooks)"
	exit 0
fi

hooks="$root/etc/libvirt/hooks"
marker="hyperupcall libvirt hook for the libxl"
dst="$hooks/libxl"
if [ -e "$dst" ] && ! grep -q "$marker" "$dst"; then
	dst="$hooks/libxl.d/hyperupcall"
fi

if [ -f "$dst" ] && cmp -s "$src" "$dst" && [ -x "$dst" ]; then
	echo "install-libvirt-hook: $dst already up to date"
	exit 0
fi
install -d -m 0755 "$(dirname "$dst")"
install -m 0755 "$src" "$dst.new"
mv -f "$dst.new" "$dst"
echo "install-libvirt-hook: installed $dst"
if [ -z "$root" ] && pidof libvirtd >/dev/null 2>&1; then
	echo "install-libvirt-hook: restart libvirtd so it picks the hook up"
fi
