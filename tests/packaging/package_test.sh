#!/usr/bin/env bash
# The packages as an operator gets them:
#  1. cpack builds hyperupcall-dom0, -guest and -dev from this build tree;
#     their Depends come from the binaries (dpkg-shlibdeps);
#  2. dpkg installs them into a root of their own: an overlay over this
#     machine's / (its Debian and its dpkg database, where dpkg checks
#     every dependency for real) with the repository and build tree not
#     there, so nothing can be found except through the packages;
#  3. there, /usr/share/hyperupcall/demo.sh runs the demo from the
#     installed paths (daemon, ctl, guest tool, policies), the installed unit
#     passes systemd-analyze verify, the man pages and bash completion are
#     where man and bash-completion look, and a policy compiles with clang
#     against the installed headers alone (hu_helpers.h copied by itself);
#  4. `cmake --install` of the same tree puts the same files in place.
#   package_test.sh BUILD_DIR SOURCE_DIR
set -uo pipefail
build=$(cd "${1:?usage: package_test.sh BUILD_DIR SOURCE_DIR}" && pwd)
src=$(cd "${2:?}" && pwd)
pass=0 fail=0
ok() { pass=$((pass + 1)); echo "ok   $*"; }
bad() { fail=$((fail + 1)); echo "FAIL $*"; }
[ "$(id -u)" = 0 ] || { bad "needs root (dpkg into a root, mount, chroot)"; exit 1; }
for c in cpack dpkg-deb dpkg-shlibdeps unshare; do
	command -v "$c" >/dev/null || { bad "$c is missing (scripts/setup.sh installs it)"; exit 1; }
done
work=$(mktemp -d /tmp/hu-pkg.XXXXXX)
cleanup() {
	# Mounts live only in the unshared namespace; nothing to unmount here.
	rm -rf "$work"
}
trap cleanup EXIT

# --- 1. build the packages
(cd "$work" && cpack --config "$build/CPackConfig.cmake" -B "$work/pkgs") >"$work/cpack.log" 2>&1 ||
	{ bad "cpack failed: $(tail -n 20 "$work/cpack.log")"; exit 1; }
ver=$(sed -nE 's/^set\(CPACK_PACKAGE_VERSION "([^"]+)"\)/\1/p' "$build/CPackConfig.cmake")
for p in dom0 guest dev; do
	deb=$(ls "$work"/pkgs/hyperupcall-${p}_*.deb 2>/dev/null | head -n 1)
	[ -n "$deb" ] && ok "package hyperupcall-$p built ($(basename "$deb"))" || bad "no hyperupcall-$p package"
done
dom0=$(ls "$work"/pkgs/hyperupcall-dom0_*.deb)
guestpkg=$(ls "$work"/pkgs/hyperupcall-guest_*.deb)
devpkg=$(ls "$work"/pkgs/hyperupcall-dev_*.deb)
dpkg-deb -f "$dom0" Depends | grep -q 'libgrpc++' && ok "dom0 Depends from the binaries: $(dpkg-deb -f "$dom0" Depends | cut -c1-80)..." ||
	bad "dom0 Depends: $(dpkg-deb -f "$dom0" Depends)"
contents() { dpkg-deb -c "$1" | awk '{print $6}' | sed 's|^\./|/|'; }
for f in /usr/sbin/hyperupcalld /usr/bin/hyperupcallctl /lib/systemd/system/hyperupcalld.service \
	/etc/hyperupcall/hyperupcalld.conf /etc/libvirt/hooks/libxl.d/hyperupcall \
	/usr/share/man/man8/hyperupcalld.8 /usr/share/man/man1/hyperupcallctl.1 \
	/usr/share/bash-completion/completions/hyperupcallctl /usr/share/hyperupcall/demo.sh; do
	contents "$dom0" | grep -qx "$f" && ok "dom0 has $f" || bad "dom0 lacks $f"
done
for f in /usr/bin/hyperupcall /usr/share/hyperupcall/policies/reclaim.bpf.o /usr/share/man/man1/hyperupcall.1; do
	contents "$guestpkg" | grep -qx "$f" && ok "guest has $f" || bad "guest lacks $f"
done
for f in /usr/include/hyperupcall/hu_helpers.h /usr/include/hyperupcall/abi.h /usr/share/hyperupcall/policies/src/reclaim.bpf.c; do
	contents "$devpkg" | grep -qx "$f" && ok "dev has $f" || bad "dev lacks $f"
done
dpkg-deb -e "$dom0" "$work/ctrl"
grep -qx /etc/hyperupcall/hyperupcalld.conf "$work/ctrl/conffiles" && ok "the configuration is a conffile" ||
	bad "conffiles: $(cat "$work/ctrl/conffiles" 2>/dev/null)"

# --- 2 and 3. install into a root of their own and run the demo there
mkdir -p "$work/upper" "$work/wd" "$work/root"
cat >"$work/inside.sh" <<'IN'
set -uo pipefail
echo "== dpkg -i"
dpkg -i /pkgs/*.deb || exit 10
echo "== installed files"
for f in /usr/sbin/hyperupcalld /usr/bin/hyperupcallctl /usr/bin/hyperupcall; do "$f" --version || exit 11; done
echo "== systemd-analyze verify"
systemd-analyze verify /lib/systemd/system/hyperupcalld.service || exit 12
echo "== man"
man -w hyperupcalld hyperupcallctl hyperupcall || exit 13
echo "== completion"
bash -c 'source /usr/share/bash-completion/bash_completion; _completion_loader hyperupcallctl; complete -p hyperupcallctl' || exit 14
echo "== a policy against the installed headers alone"
mkdir -p /tmp/pol && cp /usr/include/hyperupcall/hu_helpers.h /usr/share/hyperupcall/policies/src/reclaim.bpf.c /tmp/pol/
clang -O2 -g -target bpf -ffreestanding -Wall -Werror -c /tmp/pol/reclaim.bpf.c -o /tmp/pol/reclaim.bpf.o || exit 15
echo "== demo"
HU_DEMO_SECONDS=2 bash /usr/share/hyperupcall/demo.sh || exit 16
echo "== dpkg -r"
dpkg -r hyperupcall-dom0 hyperupcall-guest hyperupcall-dev || exit 17
[ ! -e /usr/sbin/hyperupcalld ] || exit 18
[ -e /etc/hyperupcall/hyperupcalld.conf ] || exit 19 # removed, not purged: conffile stays
echo "inside: done"
IN
unshare -m bash -c '
	set -e
	w=$1
	mount --make-rprivate /
	mount -t overlay overlay -o lowerdir=/,upperdir=$w/upper,workdir=$w/wd $w/root
	mount -t proc proc $w/root/proc
	mount --rbind /dev $w/root/dev
	mount -t tmpfs tmpfs $w/root/tmp
	mount -t tmpfs tmpfs $w/root/run
	# Neither the repository nor any build tree is reachable in there.
	for d in /work /root /home; do [ -d $w/root$d ] && mount -t tmpfs tmpfs $w/root$d; done
	mkdir -p $w/root/pkgs && cp $w/pkgs/*.deb $w/root/pkgs/
	cp $w/inside.sh $w/root/inside.sh
	exec chroot $w/root bash /inside.sh' _ "$work" >"$work/inside.log" 2>&1
rc=$?
[ $rc -eq 0 ] && ok "installed in a root of their own; demo, unit, man, completion, headers there" ||
	bad "in the root (exit $rc; 10 dpkg, 11 binaries, 12 unit, 13 man, 14 completion, 15 headers, 16 demo, 17-19 removal):"$'\n'"$(tail -n 40 "$work/inside.log")"
grep -q 'reclaim (mem.reclaim, [0-9]* insns): id 1, accepted' "$work/inside.log" &&
	ok "the installed demo's guest loaded its policy" || bad "no accepted load in the demo output"
grep -q 'hyperupcalld stopped' "$work/inside.log" && ok "the installed demo stopped its daemon" || bad "demo did not finish"

# --- 4. cmake --install (into a DESTDIR, never this machine's /usr)
DESTDIR=$work/destdir cmake --install "$build" --prefix /usr >"$work/install.log" 2>&1 ||
	bad "cmake --install: $(tail -n 5 "$work/install.log")"
for f in usr/sbin/hyperupcalld usr/bin/hyperupcallctl usr/bin/hyperupcall lib/systemd/system/hyperupcalld.service \
	usr/include/hyperupcall/hu_helpers.h usr/share/hyperupcall/policies/trace.bpf.o; do
	[ -e "$work/destdir/$f" ] && ok "cmake --install: /$f" || bad "cmake --install lacks /$f"
done
grep -qx 'ExecStart=/usr/sbin/hyperupcalld --config /etc/hyperupcall/hyperupcalld.conf' \
	"$work/destdir/lib/systemd/system/hyperupcalld.service" && ok "cmake --install --prefix /usr: the unit starts /usr/sbin/hyperupcalld" ||
	bad "unit: $(grep ExecStart "$work/destdir/lib/systemd/system/hyperupcalld.service")"
DESTDIR=$work/destdir2 cmake --install "$build" --prefix /opt/hu --component dom0 >/dev/null 2>&1
grep -q '^ExecStart=/opt/hu/sbin/hyperupcalld ' "$work/destdir2/lib/systemd/system/hyperupcalld.service" &&
	ok "another prefix, another ExecStart" || bad "prefix /opt/hu: $(grep ExecStart "$work/destdir2/lib/systemd/system/hyperupcalld.service" 2>&1)"
echo "packages: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
