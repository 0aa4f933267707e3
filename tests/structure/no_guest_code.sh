#!/usr/bin/env bash
# no_guest_code.sh BINARY...: fails when a dom0 binary defines a symbol of
# the guest driver (namespace hu::guest), naming the binary and the first
# symbols found. The channel framing (hu::channel) is shared on purpose.
set -uo pipefail
fail=0
for b in "$@"; do
	[ -x "$b" ] || { echo "FAIL: $b is missing"; fail=1; continue; }
	syms=$(nm -C --defined-only "$b" | grep -E ' hu::guest::' | head -n 5)
	if [ -n "$syms" ]; then
		echo "FAIL: $b defines guest-driver code:"
		sed 's/^/    /' <<<"$syms"
		fail=1
	else
		# The check must see symbols at all, or it proves nothing.
		n=$(nm -C --defined-only "$b" | grep -c ' hu::' || true)
		[ "$n" -gt 0 ] || { echo "FAIL: $b has no hu:: symbols to check (stripped?)"; fail=1; continue; }
		echo "ok: $b: $n hu:: symbols, none of hu::guest"
	fi
done
exit $fail
