#!/usr/bin/env bash
# Proves the interpreter and the JIT can go into Xen: compiles
# engine/core/interp.c, opcodes.c and engine/jit/{jit_x86,jit,jit_run}.c with no
# libc at all (-ffreestanding -nostdlib -fno-builtin
# -nostdinc, a stdint.h made of compiler macros, no FPU/SSE registers, no
# stack protector), links them into one relocatable object, and checks that
#  - nothing is left undefined (no libc or libgcc symbol: memcpy, memset,
#    __udivti3, __stack_chk_fail ...),
#  - there is no writable data (.data/.bss empty: no writable globals),
#  - the C stack is bounded (-Wstack-usage) and no function calls itself,
#    directly or through others (bpf-to-bpf calls use a frame array, the
#    JIT's code its own frames).
# Usage: [HU_OPT="-O1"] check.sh <cc> <repo root> <work dir>
set -euo pipefail
cc=$1 root=$2 work=$3
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$work"

check_one() { # optimisation level
	local opt=$1 obj f undef writable sec sz
	echo "== $cc $opt"
	local flags=(-std=gnu11 $opt -Wall -Wextra -Werror
		-Wdeclaration-after-statement -Wstack-usage=2048
		-ffreestanding -nostdlib -fno-builtin -nostdinc
		-fno-stack-protector -fno-pic -mgeneral-regs-only
		-I"$here" -I"$root/engine/include")
	local objs=()
	for f in core/interp core/opcodes jit/jit_x86 jit/jit jit/jit_run; do
		"$cc" "${flags[@]}" -c "$root/engine/$f.c" -o "$work/${f#*/}.o"
		objs+=("$work/${f#*/}.o")
	done
	obj=$work/hu_engine_freestanding.o
	ld -r -o "$obj" "${objs[@]}"

	undef=$(nm -u "$obj")
	if [ -n "$undef" ]; then
		echo "FAIL: undefined symbols:"; echo "$undef"; return 1
	fi
	echo "ok: no undefined symbols"

	writable=$(nm "$obj" | awk '$2 ~ /^[DdBbGgSs]$/ {print}')
	if [ -n "$writable" ]; then
		echo "FAIL: writable data symbols:"; echo "$writable"; return 1
	fi
	for sec in .data .bss; do
		sz=$(size -A "$obj" | awk -v s="$sec" '$1 == s {print $2}')
		if [ -n "$sz" ] && [ "$sz" != 0 ]; then
			echo "FAIL: section $sec has $sz bytes"; return 1
		fi
	done
	echo "ok: no writable globals"

	objdump -dr --no-show-raw-insn "$obj" | python3 "$here/callgraph.py"
}

# Default: Xen's optimisation level, no optimisation at all, and the
# -D__XEN__ include path (xen/types.h instead of stdint.h).
if [ -n "${HU_OPT:-}" ]; then
	check_one "$HU_OPT"
else
	check_one -O2
	check_one -O0
	check_one "-O2 -D__XEN__"
fi
echo "freestanding: interpreter and JIT ok"
