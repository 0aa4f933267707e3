#!/usr/bin/env bash
# hyperupcalld --metrics-address: the Prometheus endpoint scraped over
# HTTP after real registrations (two accepted, one rejected by the
# verifier, one rejected by policy, one pending), hooks running and an
# approval waiting:
#  - the exposition parses (text format 0.0.4: HELP and TYPE before each
#    family's samples, label syntax, numeric values, histogram buckets
#    cumulative with +Inf = _count);
#  - the numbers are the daemon's: registrations by verdict and stage,
#    installed programs, runs growing per (domid, hook), pending approvals,
#    guest channels;
#  - every metric name it serves is documented in dom0-daemon/README.md's
#    "Metrics" table and every documented name is served;
#  - a second daemon cannot take the same port; POST is refused (4xx).
#   metrics_test.sh BUILD_DIR SOURCE_DIR
set -uo pipefail
build=${1:?usage: metrics_test.sh BUILD_DIR SOURCE_DIR}
src=${2:?usage: metrics_test.sh BUILD_DIR SOURCE_DIR}
tool=$build/guest-driver/hyperupcall
pol=$build/policies
source "$(dirname "$0")/harness.sh" metrics "$tool" "$pol/reclaim.bpf.o" "$pol/trace.bpf.o"

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
addr=127.0.0.1:$port
start_daemon --wait-guest 2 --sim-guests 2 --metrics-address "$addr" || { finish metrics; exit 1; }
guest() {
	local d=$1; shift
	"$tool" --connect "unix:$gdir/$d.sock" --kallsyms "$work/state/kallsyms/$d/kallsyms" --timeout 10 "$@"
}
scrape() { python3 -c 'import sys,urllib.request; sys.stdout.write(urllib.request.urlopen(sys.argv[1], timeout=10).read().decode())' "http://$addr/metrics"; }

guest 1 load "$pol/reclaim.bpf.o" --manifest "$pol/reclaim.manifest.json" >/dev/null || bad "load reclaim"
guest 2 load "$pol/trace.bpf.o" --manifest "$pol/trace.manifest.json" >/dev/null || bad "load trace"
guest 1 load "$pol/trace.bpf.o" --hook mem.protect >/dev/null 2>&1 # verifier says no
ctl policy set --domain 2 --hooks mem.reclaim >/dev/null || bad "policy set"
guest 2 load "$pol/reclaim.bpf.o" --hook tlb.flush >/dev/null 2>&1 # policy says no
ctl policy set --domain 1 --require-approval yes >/dev/null || bad "policy set approval"
guest 1 load "$pol/trace.bpf.o" --manifest "$pol/trace.manifest.json" >/dev/null 2>&1 # pending
sleep 1
first=$(scrape) || bad "scrape"
sleep 1
second=$(scrape)
printf '%s\n' "$first" >"$work/m1"
printf '%s\n' "$second" >"$work/m2"

python3 - "$work/m1" "$work/m2" "$src/dom0-daemon/README.md" <<'PY'
import re, sys
fails = 0
def check(cond, what):
    global fails
    print(("ok   " if cond else "FAIL ") + what)
    if not cond: fails += 1

SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{((?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\.)*",?)*)\})? (\S+)$')
def parse(path):
    fams, types, samples, errors = {}, {}, [], []
    for n, line in enumerate(open(path).read().splitlines(), 1):
        if not line: continue
        if line.startswith("# HELP "):
            fams[line.split()[2]] = True; continue
        if line.startswith("# TYPE "):
            _, _, name, t = line.split(maxsplit=3)
            types[name] = t; continue
        if line.startswith("#"): continue
        m = SAMPLE.match(line)
        if not m: errors.append(f"line {n}: {line!r}"); continue
        name, labels, value = m.group(1), m.group(3) or "", m.group(4)
        base = re.sub(r'_(bucket|sum|count)$', '', name) if name not in types else name
        if base not in types or base not in fams:
            errors.append(f"line {n}: {name} before its HELP/TYPE")
        try: float(value.replace("+Inf", "inf"))
        except ValueError: errors.append(f"line {n}: value {value!r}")
        samples.append((name, dict(re.findall(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"', labels)), float(value.replace("+Inf", "inf"))))
    return types, samples, errors

t1, s1, e1 = parse(sys.argv[1])
t2, s2, e2 = parse(sys.argv[2])
check(not e1 and not e2, "exposition parses: " + "; ".join((e1 + e2)[:5]))
def get(samples, name, **labels):
    return [v for n, l, v in samples if n == name and all(l.get(k) == w for k, w in labels.items())]
def one(samples, name, **labels):
    v = get(samples, name, **labels)
    return v[0] if len(v) == 1 else None

check(one(s1, "hyperupcall_registrations_total", verdict="accepted", stage="") == 2, "2 accepted registrations")
check(one(s1, "hyperupcall_registrations_total", verdict="rejected", stage="verifier") == 1, "1 rejected by the verifier")
check(one(s1, "hyperupcall_registrations_total", verdict="rejected", stage="policy") == 1, "1 rejected by policy")
check(one(s1, "hyperupcall_registrations_total", verdict="pending", stage="") == 1, "1 pending")
check(one(s1, "hyperupcall_pending_approvals") == 1, "1 pending approval")
check(one(s1, "hyperupcall_guest_channels") == 2, "2 guest channels")
check(one(s1, "hyperupcall_programs_installed", domid="1", hook="mem.reclaim") == 1, "dom1 mem.reclaim installed")
check(one(s1, "hyperupcall_programs_installed", domid="2", hook="trace.exit") == 1, "dom2 trace.exit installed")
r1 = one(s1, "hyperupcall_program_runs_total", domid="1", hook="mem.reclaim")
r2 = one(s2, "hyperupcall_program_runs_total", domid="1", hook="mem.reclaim")
check(r1 is not None and r2 is not None and r2 > r1 > 0, f"runs grow between scrapes ({r1} -> {r2})")
check((one(s2, "hyperupcall_program_instructions_total", domid="1", hook="mem.reclaim") or 0) > 0, "instructions counted")
check(one(s1, "hyperupcall_trace_records_lost_total") is not None, "trace records lost served")
check((one(s2, "hyperupcall_program_cycles_total", domid="1", hook="mem.reclaim") or 0) > 0, "TSC cycles counted (sim)")
check(one(s1, "hyperupcall_program_helper_errors_total", domid="1", hook="mem.reclaim") == 0, "no helper errors for a program with its regions")
check(one(s1, "hyperupcall_fleet_degraded") == 0, "not degraded without a fleet")
b = [(l["le"], v) for n, l, v in s1 if n == "hyperupcall_verification_seconds_bucket"]
vals = [v for _, v in b]
check(b and b[-1][0] == "+Inf" and vals == sorted(vals), "histogram buckets cumulative, ending +Inf")
cnt = one(s1, "hyperupcall_verification_seconds_count")
check(cnt is not None and cnt >= 4 and vals[-1] == cnt, f"+Inf bucket = count ({cnt})")
check((one(s1, "hyperupcall_verification_seconds_sum") or 0) > 0, "verification time summed")

doc = open(sys.argv[3]).read()
sec = doc.split("## Metrics", 1)[1].split("\n## ", 1)[0] if "## Metrics" in doc else ""
documented = set(re.findall(r'^\| `((?:hyperupcall|exposer)_[a-z_]+)`', sec, re.M))
served = set(t1)
check(served <= documented, f"every served metric is documented (missing: {sorted(served - documented)})")
check(documented <= served, f"every documented metric is served (not served: {sorted(documented - served)})")
sys.exit(1 if fails else 0)
PY
[ $? -eq 0 ] && ok "metrics checks" || bad "metrics checks"

code=$(python3 -c 'import sys,urllib.request,urllib.error
try: urllib.request.urlopen(urllib.request.Request(sys.argv[1], data=b"x", method="POST"), timeout=5); print(200)
except urllib.error.HTTPError as e: print(e.code)' "http://$addr/metrics")
# prometheus-cpp's handler serves GET only; civetweb answers another method
# with a 4xx (404 in prometheus-cpp 1.0.1).
[ "$code" -ge 400 ] && [ "$code" -lt 500 ] && ok "POST /metrics is refused ($code)" || bad "POST /metrics: $code"
out=$("$daemon" --state "$work/state2" --operator-socket "$work/op2.sock" --guest-socket-dir "$work/g2" \
	--sim-guests 1 --metrics-address "$addr" 2>&1)
[ $? -ne 0 ] && ok "a second daemon cannot take the metrics port" || bad "a second daemon took the metrics port"
expect "it says why" "$out" "cannot serve metrics on $addr"
finish metrics
