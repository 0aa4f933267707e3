#!/usr/bin/env bash
# Domains named the operator's way, against libvirt's own test:///default
# driver (a real libvirt connection; its one running domain "test" has id 1,
# so it names the sim's domain 1): hyperupcallctl --domain takes a libvirt
# name, a UUID (any case), a backend name or an id, and answers NOT_FOUND /
# INVALID_ARGUMENT (ambiguous) precisely. Then `policy set --write-xml`
# writes the policy into the domain XML <metadata> with an audit record.
#   libvirt_domain_test.sh BUILD_DIR
set -uo pipefail
build=${1:?usage: libvirt_domain_test.sh BUILD_DIR}
source "$(dirname "$0")/harness.sh" lvdom

# Domain 3 is called "1" by the sim: "1" then names two domains.
cat >"$work/sim.json" <<'J'
{"guests": [{"domid": 1, "name": "guest1"}, {"domid": 2, "name": "guest2"}, {"domid": 3, "name": "1"}]}
J
start_daemon --sim-config "$work/sim.json" --libvirt-uri test:///default || exit 1
uuid=6695eb01-f6a4-8304-79aa-97f2502e193f

out=$(ctl domain list)
expect "domain list shows libvirt's name for domid 1" "$out" "    1  test "

out=$(ctl policy set --domain test --max-insns 100)
expect "policy set by libvirt name" "$out" "max_insns         100"
out=$(ctl --json policy get --domain "${uuid^^}")
[ "$(json 'd["scope"], d["max_insns"]' <<<"$out")" = "(1, 100)" ] &&
	ok "policy get by UUID (upper case) answers domain 1's own policy" || bad "policy get by UUID: $out"
out=$(ctl --json policy get --domain guest2)
[ "$(json 'd["scope"], d["inherited"]' <<<"$out")" = "(2, True)" ] &&
	ok "backend name still resolves (guest2 -> 2, inherits the default)" || bad "policy get guest2: $out"
out=$(ctl --json prog list --domain 2)
expect "numeric id still resolves" "$out" "[]"
for cmd in "prog list" "pending list" "stats" "policy get"; do
	out=$(ctl $cmd --domain nosuch 2>&1)
	rc=$?
	[ $rc -eq 1 ] && grep -qF "NOT_FOUND: no domain with id, name or UUID 'nosuch' (neither the backend nor libvirt knows it)" <<<"$out" &&
		ok "$cmd --domain nosuch: NOT_FOUND" || bad "$cmd --domain nosuch (rc $rc): $out"
done
out=$(ctl events --domain nosuch --count 1 2>&1)
expect "events --domain nosuch: NOT_FOUND" "$out" "NOT_FOUND"
out=$(ctl policy get --domain 1 2>&1)
expect "a name that is another domain's id is ambiguous" "$out" \
	"INVALID_ARGUMENT: domain '1' is ambiguous: it matches domid 1 'test' (by id), domid 3 '1' (by name); name it by UUID or another unique name"

# --- policy written back to the domain XML
out=$(ctl policy set --domain test --max-programs 3 --hooks mem.reclaim --write-xml)
expect "policy set --write-xml answers the policy" "$out" "max_programs      3"
rows=$(audit "domid = 1 and decision = 'policy-xml'")
expect "audit: the XML write is recorded" "$rows" "policy-xml|policy written to the <metadata> of libvirt domain 'test' ($uuid)"
# libvirt reports the metadata change; the daemon reads the XML back, and
# its fingerprint is the one the override was recorded over, so the
# override stands: proof the policy went through libvirt, not a copy of ours.
kept=
for _ in $(seq 1 100); do
	kept=$(grep -F "($uuid): operator API override kept: the XML policy (" "$log")
	[ -n "$kept" ] && break
	sleep 0.1
done
expect "the XML read back from libvirt is the policy written (same fingerprint)" "$kept" \
	"is the one it was set over"
# A libvirt domain's policy is kept under its UUID (it follows the domain
# to its next domid), not under domid 1.
source=$(python3 - "$work/state/state.db" "$uuid" <<'PY2'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
print([r for r in db.execute("select scope, source from policies where scope != 'default'")])
PY2
)
[ "$source" = "[('libvirt:$uuid', 'api')]" ] &&
	ok "the stored policy is test's UUID's, its source the operator API" || bad "stored: $source"
out=$(ctl --json policy get --domain test)
[ "$(json 'd["max_programs"], d["allowed_hooks"]' <<<"$out")" = "(3, ['mem.reclaim'])" ] &&
	ok "the policy written is the policy in force" || bad "after --write-xml: $out"
expect "audit: the operator's own change is recorded as such" \
	"$(audit "domid = 1 and decision = 'policy'")" "(from operator API)"
# An operator override without --write-xml wins until the XML changes.
ctl policy set --domain test --max-programs 5 >/dev/null
out=$(ctl --json policy get --domain test)
[ "$(json 'd["max_programs"]' <<<"$out")" = 5 ] && ok "operator override wins over the XML" ||
	bad "override: $out"
out=$(ctl policy set --max-programs 4 --write-xml 2>&1)
expect "--write-xml without a domain is a usage error" "$out" "needs --domain"
out=$(ctl policy set --domain guest2 --max-programs 4 --write-xml 2>&1)
expect "--write-xml for a domain libvirt does not know" "$out" "has no libvirt domain to write the policy to"

# --- a database from before policies followed the libvirt UUID: test's
# row under domain:1 moves to its UUID at the next start (audited); the
# sim's guest2 (no libvirt domain) keeps domain:2.
ctl policy set --domain guest2 --max-programs 6 >/dev/null
stop_daemon
python3 - "$work/state/state.db" "$uuid" <<'PY3'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
db.execute("update policies set scope = 'domain:1' where scope = ?", ("libvirt:" + sys.argv[2],))
db.commit()
PY3
start_daemon --sim-config "$work/sim.json" --libvirt-uri test:///default || exit 1
scopes=$(python3 - "$work/state/state.db" <<'PY4'
import sqlite3, sys
print(sorted(r[0] for r in sqlite3.connect(sys.argv[1]).execute("select scope from policies where scope != 'default'")))
PY4
)
[ "$scopes" = "['domain:2', 'libvirt:$uuid']" ] &&
	ok "upgrade: domain:1 moved to test's UUID, domain:2 stays" || bad "scopes after upgrade: $scopes"
[ "$(ctl --json policy get --domain test | json 'd["max_programs"], d["inherited"]')" = "(5, False)" ] &&
	ok "... with its policy (max_programs 5)" || bad "test after upgrade: $(ctl policy get --domain test)"
expect "audit: the move is recorded" "$(audit "domid = 1 and decision = 'policy'")" \
	"domain 1 policy now follows libvirt domain $uuid (was kept under the domid)"

finish "libvirt domains"
