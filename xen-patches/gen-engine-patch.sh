#!/usr/bin/env bash
# Generates xen-patches/0001-hyperupcall-import-the-eBPF-interpreter-and-hook-ABI.patch
# from engine/: the interpreter, the JIT and the ABI headers are written
# once, there, and reach Xen only through this patch.
#   gen-engine-patch.sh           rewrite the patch
#   gen-engine-patch.sh --check   exit 1 (and show the diff) if it drifted
# The output is byte-for-byte reproducible: fixed author, dates and no
# signature, so the check can compare whole files.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
patch=$top/xen-patches/0001-hyperupcall-import-the-eBPF-interpreter-and-hook-ABI.patch
mode=write
case "${1:-}" in
'') ;;
--check) mode=check ;;
*) echo "usage: $0 [--check]" >&2; exit 2 ;;
esac

# engine path -> path in the Xen tree
files=(
	"engine/include/hyperupcall/ebpf.h:xen/include/hyperupcall/ebpf.h"
	"engine/include/hyperupcall/abi.h:xen/include/hyperupcall/abi.h"
	"engine/include/hyperupcall/interp.h:xen/include/hyperupcall/interp.h"
	"engine/include/hyperupcall/opcodes.h:xen/include/hyperupcall/opcodes.h"
	"engine/core/opcodes.c:xen/common/hyperupcall/opcodes.c"
	"engine/core/interp.c:xen/common/hyperupcall/interp.c"
	"engine/include/hyperupcall/jit.h:xen/include/hyperupcall/jit.h"
	"engine/jit/jit_frame.h:xen/common/hyperupcall/jit_frame.h"
	"engine/jit/jit_x86.h:xen/common/hyperupcall/jit_x86.h"
	"engine/jit/jit_x86.c:xen/common/hyperupcall/jit_x86.c"
	"engine/jit/jit.c:xen/common/hyperupcall/jit.c"
	"engine/jit/jit_run.c:xen/common/hyperupcall/jit_run.c"
)

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
git -C "$tmp" init -q
for f in "${files[@]}"; do
	src=$top/${f%%:*} dst=$tmp/${f#*:}
	if [ ! -f "$src" ]; then
		echo "gen-engine-patch: missing ${f%%:*}" >&2
		exit 1
	fi
	mkdir -p "$(dirname "$dst")"
	cp "$src" "$dst"
done

export GIT_AUTHOR_NAME="hyperupcall" GIT_AUTHOR_EMAIL="hyperupcall@localhost"
export GIT_COMMITTER_NAME="$GIT_AUTHOR_NAME" GIT_COMMITTER_EMAIL="$GIT_AUTHOR_EMAIL"
export GIT_AUTHOR_DATE="2026-01-01T00:00:00Z" GIT_COMMITTER_DATE="2026-01-01T00:00:00Z"
git -C "$tmp" add -A
git -C "$tmp" commit -q -F - <<'MSG'
hyperupcall: import the eBPF interpreter and hook ABI

Hyperupcalls are small eBPF programs that a guest hands to Xen, through
its control domain, and that Xen runs at its own decision points to read
the guest's state without an exit to the guest (Amit and Wei, "The
Design and Implementation of Hyperupcalls", USENIX ATC 2018).

This imports the pieces that Xen shares with the user-space side, taken
unmodified from the hyperupcall engine so that the two cannot diverge:

 - include/hyperupcall/ebpf.h: the instruction set (RFC 9669);
 - include/hyperupcall/abi.h: hook ids, the context each hook passes,
   helper ids, map and region layouts;
 - include/hyperupcall/interp.h, common/hyperupcall/interp.c: the
   interpreter, freestanding C with no allocation and no writable
   globals.  It trusts nothing the verifier proved: every run is bounded
   by an instruction budget, every load and store is checked against the
   stack and the registered memory regions, every helper id against the
   helper table;
 - include/hyperupcall/opcodes.h, common/hyperupcall/opcodes.c: the
   per-opcode table the interpreter uses to validate register fields;
 - include/hyperupcall/jit.h, common/hyperupcall/jit*.[ch]: the x86-64
   JIT, freestanding C as well: it translates a program into code that
   behaves like the interpreter (same errors at the same pc; the budget
   is charged at back edges and calls), checks every access that is not
   to the stack against the stack and the regions at run time, calls
   helpers with direct call rel32 and nothing else indirectly, and
   blinds every immediate.  The host provides the executable memory.

Nothing is built yet; the following patches wire the files in (the JIT
only on x86).

These files are generated from the hyperupcall tree by
xen-patches/gen-engine-patch.sh and follow its layout, not Xen's.
MSG
git -C "$tmp" format-patch -q --root -1 --no-signature --stdout >"$tmp/out.patch"

if [ "$mode" = check ]; then
	if ! diff -u "$patch" "$tmp/out.patch" >"$tmp/diff"; then
		echo "xen-patch-drift: $(basename "$patch") differs from engine/;" \
			"run xen-patches/gen-engine-patch.sh and commit the result" >&2
		head -50 "$tmp/diff" >&2
		exit 1
	fi
	echo "xen-patch-drift: $(basename "$patch") matches engine/"
else
	cp "$tmp/out.patch" "$patch"
	echo "wrote $patch"
fi
