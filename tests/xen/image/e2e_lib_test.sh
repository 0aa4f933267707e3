#!/bin/sh
# e2e-lib.sh's waits without Xen: wait_node and start_domain against a
# xenstore and an xl played by files, with domains that die before they
# are ready or while dom0 waits for them. Exits 0 when every check holds.
set -u
here=$(cd "$(dirname "$0")" && pwd)
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
mkdir -p "$T/bin" "$T/xs"

cat >"$T/bin/xenstore-write" <<'X'
#!/bin/sh
mkdir -p "$(dirname "$XS$1")" && printf '%s\n' "$2" >"$XS$1"
X
cat >"$T/bin/xenstore-read" <<'X'
#!/bin/sh
[ -f "$XS$1" ] && cat "$XS$1"
X
# xl create CFG: the next domain id; CFG's one word says what the domain
# does: "ready" writes data/hu/ready, "die" is gone before anyone asks,
# "hang" never writes anything. xl domid NAME, xl dmesg as Xen would.
cat >"$T/bin/xl" <<'X'
#!/bin/sh
case "$1" in
create)
	n=$(cat "$XS/next" 2>/dev/null || echo 1)
	echo $((n + 1)) >"$XS/next"
	echo "$n" >>"$XS/created"
	case "$(cat "$2")" in
	die) exit 0 ;;
	ready) xenstore-write "/local/domain/$n/data/hu/ready" 1 ;;
	esac
	xenstore-write "/local/domain/$n/name" "$(basename "$2")"
	echo "$n" >"$XS/domid.$(basename "$2")"
	;;
domid) [ -f "$XS/domid.$2" ] && cat "$XS/domid.$2" ;;
dmesg) echo "(XEN) [ 1.0] d1v0 Triple fault - invoking HVM shutdown action 1" ;;
esac
X
chmod +x "$T/bin/"*
export PATH="$T/bin:$PATH" XS="$T/xs"
. "$here/e2e-lib.sh"

fails=0
check() { # NAME STATUS
	if [ "$2" = 0 ]; then echo "ok: $1"; else echo "FAIL: $1"; fails=$((fails + 1)); fi
}

# wait_node: a value that comes, a wanted value, a domain that dies.
xenstore-write /local/domain/5/name five
(sleep 1 && xenstore-write /local/domain/5/data/x 7) &
wait_node /local/domain/5/data/x "" 20
check "wait_node sees a node that comes" $?
wait_node /local/domain/5/data/x 8 1 >/dev/null
check "wait_node times out on a value that never comes" $((! $?))
(sleep 1 && rm -rf "$XS/local/domain/5") &
t0=$(date +%s)
wait_node /local/domain/5/data/y "" 60 >"$T/out"
r=$?
[ "$r" = 1 ] && [ $(($(date +%s) - t0)) -lt 15 ]
check "wait_node stops at once when the domain is gone (rc $r, $(($(date +%s) - t0)) s)" $?
grep -q "domain 5 is gone, /local/domain/5/data/y never came" "$T/out"
check "and says so" $?
wait_node /local/domain/6/data/z "" 1 >"$T/out"
check "a domain that never was is gone too" $((! $?))
t0=$(date +%s)
wait_node /tool/hu/never "" 2 >/dev/null
r=$?
# Its limit counts whole seconds of uptime, so the wall clock may show
# one less.
[ "$r" = 1 ] && [ $(($(date +%s) - t0)) -ge 1 ]
check "a node of no domain waits its limit" $?

# start_domain: ready at once; gone before xl domid answers (three tries,
# each counted, then failure, without waiting the limit); never ready.
echo ready >"$T/hu-ok"
start_domain hu-ok "$T/hu-ok" ready 30 >"$T/out"
check "start_domain returns for a ready domain" $?
[ "$domid" = "$(cat "$XS/domid.hu-ok")" ] && [ "$retries" = 0 ]
check "with its domid ($domid) and no retry" $?
echo die >"$T/hu-die"
t0=$(date +%s)
start_domain hu-die "$T/hu-die" ready 60 >"$T/out"
r=$?
[ "$r" = 1 ] && [ $(($(date +%s) - t0)) -lt 15 ]
check "a domain gone at once fails start_domain without its limit (rc $r)" $?
[ "$retries" = 3 ] && [ "$(grep -c "hu-die (domain gone at once) ended before it was ready" "$T/out")" = 3 ]
check "after three tries, each said and counted (retries=$retries)" $?
echo hang >"$T/hu-hang"
retries=0
start_domain hu-hang "$T/hu-hang" ready 2 >"$T/out"
check "a domain never ready fails at its limit" $((! $?))
grep -q "hu-hang (domain [0-9]*) not ready after 2 s" "$T/out" && [ "$retries" = 0 ]
check "and says so, no retry" $?

echo "e2e_lib_test: $fails failed"
[ "$fails" = 0 ]
