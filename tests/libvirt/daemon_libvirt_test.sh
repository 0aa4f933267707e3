#!/usr/bin/env bash
# hyperupcalld with --libvirt-uri: `hyperupcallctl domain list` shows
# libvirt's names and UUIDs, the domain XML's policy is applied (and a
# malformed one refused with its line), and the libvirt hook script gets
# "ok" from the daemon's hook socket.
#   daemon_libvirt_test.sh HYPERUPCALLD HYPERUPCALLCTL
set -euo pipefail
daemon=$1 ctl=$2
here=$(cd "$(dirname "$0")" && pwd)
hook=$here/../../dom0-daemon/libvirt/hooks/libxl

dir=$(mktemp -d /tmp/hu-dlv-XXXXXX)
pid=
cleanup() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	rm -rf "$dir"
}
trap cleanup EXIT
"$daemon" --backend sim --sim-guests 3 --state "$dir/state" --guest-socket-dir "$dir/guests" \
	--operator-socket "$dir/op.sock" --libvirt-uri "test://$here/data/node.xml" \
	--libvirt-hook-socket "$dir/hook.sock" >"$dir/log" 2>&1 &
pid=$!
for _ in $(seq 300); do [ -S "$dir/op.sock" ] && [ -S "$dir/hook.sock" ] && break; sleep 0.1; done

"$ctl" --socket "$dir/op.sock" domain list | tee "$dir/list"
"$ctl" --socket "$dir/op.sock" --json domain list >"$dir/list.json"
python3 - "$dir/list.json" <<'PY'
import json, sys
got = {d["domid"]: d for d in json.load(open(sys.argv[1]))}
want = {1: ("web", "4dea22b3-1d52-d8f3-2516-782e98ab3fa0", True),
        2: ("broken", "4dea22b3-1d52-d8f3-2516-782e98ab3fa1", False),
        3: ("plain", "4dea22b3-1d52-d8f3-2516-782e98ab3fa2", False)}
for domid, (name, uuid, own) in want.items():
    d = got[domid]
    assert (d["name"], d["uuid"], d.get("has_own_policy", False)) == (name, uuid, own), d
print("daemon_libvirt: names, UUIDs and XML policy as libvirt has them")
PY
grep -F "domain 'broken' (4dea22b3-1d52-d8f3-2516-782e98ab3fa1): policy metadata line 2: <max-programs>: 'lots' is not a decimal integer" "$dir/log"

# The hook logs to stderr only when the daemon does not answer "ok".
err=$(echo "<domain type='xen' id='1'><name>web</name><uuid>4dea22b3-1d52-d8f3-2516-782e98ab3fa0</uuid></domain>" |
	HU_LIBVIRT_HOOK_SOCKET="$dir/hook.sock" "$hook" web stopped end - 2>&1)
[ -z "$err" ] || { echo "hook: $err"; cat "$dir/log"; exit 1; }
echo "daemon_libvirt: ok"
