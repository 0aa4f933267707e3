#!/usr/bin/env bash
# Builds a gzip'ed newc initramfs from Debian's binaries.
#   mkinitramfs.sh OUT.cpio.gz KERNEL_VERSION SPEC...
# SPEC is one of
#   bin:PATH          a binary and every shared library ldd lists for it
#   tree:PATH         a directory, copied as it is (same path in the image)
#   mod:NAME          a kernel module of KERNEL_VERSION, into /lib/modules/
#   file:SRC:DST      one file at DST (mode kept)
# Busybox (static) provides /bin/sh and the usual commands.
set -euo pipefail

out=$1 kver=$2
shift 2
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT

mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,lib,lib64,dev,proc,sys,tmp,run,var/run,var/log,var/lib,etc,root}
cp /bin/busybox "$root/bin/busybox"
for app in $(/bin/busybox --list); do
	[ -e "$root/bin/$app" ] || ln -s busybox "$root/bin/$app"
done

copy_path() { # copies a file with its directories, following one symlink
	local src=$1
	mkdir -p "$root$(dirname "$src")"
	cp -L "$src" "$root$src"
}

add_bin() {
	local bin=$1 lib
	copy_path "$bin"
	for lib in $(ldd "$bin" 2>/dev/null | grep -oE '/[^ ]+' || true); do
		[ -e "$root$lib" ] || copy_path "$lib"
	done
}

for spec in "$@"; do
	case "$spec" in
	bin:*) add_bin "${spec#bin:}" ;;
	tree:*)
		src=${spec#tree:}
		mkdir -p "$root$(dirname "$src")"
		cp -a "$src" "$root$src"
		# Executables in a tree need their libraries too.
		while IFS= read -r f; do
			if [ "$(head -c4 "$f" | tail -c3)" = ELF ]; then add_bin "$f"; fi
		done < <(find "$src" -type f -perm -u+x)
		;;
	mod:*)
		m=$(find "/lib/modules/$kver" -name "${spec#mod:}.ko*" | head -1)
		[ -n "$m" ] || { echo "mkinitramfs: no module ${spec#mod:} for $kver" >&2; exit 1; }
		mkdir -p "$root/lib/modules"
		cp "$m" "$root/lib/modules/"
		;;
	file:*)
		rest=${spec#file:}
		src=${rest%%:*} dst=${rest#*:}
		mkdir -p "$root$(dirname "$dst")"
		cp -L "$src" "$root$dst"
		;;
	*) echo "mkinitramfs: bad spec '$spec'" >&2; exit 2 ;;
	esac
done

(cd "$root" && find . | LC_ALL=C sort | cpio -o -H newc --quiet | gzip -1) >"$out.tmp"
mv "$out.tmp" "$out"
echo "mkinitramfs: $(basename "$out") $(du -h "$out" | cut -f1)"
