#!/usr/bin/env bash
# Installs every Debian 12 package hyperupcall needs. Idempotent: apt-get
# skips what is already there. Run as root on a fresh machine.
#   scripts/setup.sh          build, test and run on the sim backend
#   scripts/setup.sh --xen    also what the Xen build and QEMU boot need
set -euo pipefail

want_xen=0
for a in "$@"; do
	case "$a" in
	--xen) want_xen=1 ;;
	*) echo "setup.sh: unknown option '$a' (known: --xen)" >&2; exit 2 ;;
	esac
done

base=(
	build-essential cmake ninja-build pkg-config git ca-certificates
	clang llvm lld libclang-rt-14-dev clang-format
	libgtest-dev libgmock-dev googletest libbenchmark-dev
	libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler
	libsqlite3-dev sqlite3
	libbpf-dev libelf-dev zlib1g-dev
	libcli11-dev nlohmann-json3-dev libspdlog-dev libfmt-dev
	libvirt-dev libvirt-daemon libvirt-clients libxml2-dev
	python3 procps openssl libssl-dev
	etcd-server etcd-client
	golang-etcd-server-dev golang-github-gogo-protobuf-dev golang-github-grpc-ecosystem-grpc-gateway-dev
	libsystemd-dev systemd libseccomp-dev prometheus-cpp-dev help2man python3-jsonschema bash-completion jq
	dpkg-dev man-db file
)
xen=(
	qemu-system-x86 xen-hypervisor-4.17-amd64 xen-utils-4.17 qemu-system-xen
	linux-image-amd64 linux-headers-amd64 busybox-static cpio gzip kmod
	flex bison dpkg-dev libxen-dev python3-dev acpica-tools uuid-dev libvirt-daemon-driver-xen
	xenstore-utils checkpolicy
	autoconf libyajl-dev libncurses-dev liblzma-dev libzstd-dev
)

pkgs=("${base[@]}")
[ "$want_xen" = 1 ] && pkgs+=("${xen[@]}")

missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ "${#missing[@]}" -eq 0 ]; then
	echo "setup: all ${#pkgs[@]} packages present"
else
	echo "setup: installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# libvirt's libxl driver tells hyperupcalld about domain prepare/release
# through this hook; it exits 0 when the daemon is absent, so it never
# blocks a VM.
bash "$(dirname "$0")/install-libvirt-hook.sh"
