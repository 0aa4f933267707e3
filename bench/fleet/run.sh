#!/usr/bin/env bash
# The fleet at scale: a three-member etcd cluster and up to 100 hyperupcalld
# hosts (sim backend, one guest each) on this machine. At 1, 10, 50 and 100
# hosts (the first step is the baseline, same run): how long a fleet-wide
# policy change takes to reach every host (fleet_propagation), and etcd's
# load per host while idle (lease keepalives, watches) and while changing.
#
#   bash bench/fleet/run.sh [BUILD=build] [HOSTS=100] [CHANGES=20]
# Env: IDLE_S (30), FLEET_TTL (10, the registry lease), OUT (results JSON).
set -uo pipefail
build=$(cd "${1:-build}" && pwd)
max_hosts=${2:-100}
changes=${3:-20}
idle=${IDLE_S:-30}
here=$(cd "$(dirname "$0")" && pwd)
tool=$build/bench/fleet/fleet_propagation
[ -x "$tool" ] || { echo "build fleet_propagation first (cmake --build $build --target fleet_propagation)"; exit 2; }
work=$(mktemp -d /tmp/hu-fleet-bench.XXXXXX)
out=${OUT:-$PWD/fleet-bench.json}
source "$here/../../tests/fleet/fleet-lib.sh"
trap 'fleet_cleanup; [ -z "${KEEP:-}" ] && rm -rf "$work"' EXIT
export FLEET_TTL=${FLEET_TTL:-10} HOST_LOG_LEVEL=warn

etcd_start 3 || exit 1
eps=$(etcd_endpoints)
echo "etcd: $eps; $(nproc) cpus, load $(cut -d' ' -f1-3 /proc/loadavg)"
: >"$work/sockets"
registered() { [ "$(fctl --json hosts | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')" = "$1" ]; }
metrics() { python3 "$here/etcd_metrics.py" scrape "$eps" >"$1"; }
results="["
started=0
for step in 1 10 50 100 200 500 1000; do
	[ "$step" -le "$max_hosts" ] || break
	while [ "$started" -lt "$step" ]; do
		started=$((started + 1))
		h=h$started
		printf '{"tick_interval_us": 100000, "guests": [{"domid": 1, "name": "%s-g1", "uuid": "00000000-0000-4000-8000-%012d", "vcpus": 1, "memory_mib": 32}]}\n' \
			"$h" "$started" >"$work/$h.sim.json"
		host_start "$h" "$eps" --sim-config "$work/$h.sim.json" || exit 1
		echo "$work/$h/op.sock" >>"$work/sockets"
	done
	wait_for 120 registered "$step" || { echo "not all $step hosts registered"; exit 1; }
	metrics "$work/m0.json"
	sleep "$idle"
	metrics "$work/m1.json"
	"$tool" --etcd "$eps" --sockets "$work/sockets" --hosts "$step" --changes "$changes" \
		>"$work/prop$step.json" || echo "fleet_propagation: some hosts missed changes"
	metrics "$work/m2.json"
	idle_rate=$(python3 "$here/etcd_metrics.py" rate "$work/m0.json" "$work/m1.json" "$step")
	change_rate=$(python3 "$here/etcd_metrics.py" rate "$work/m1.json" "$work/m2.json" "$step")
	python3 - "$work/prop$step.json" <<PY
import json, sys
p = json.load(open(sys.argv[1]))
idle = json.loads('''$idle_rate''')
print(f"hosts {p['hosts']:4}: per host p50 {p['per_host']['p50_ms']:.1f} ms p99 {p['per_host']['p99_ms']:.1f} ms; "
      f"all hosts p50 {p['to_all_hosts']['p50_ms']:.1f} ms p99 {p['to_all_hosts']['p99_ms']:.1f} ms; missing {p['missing']}; "
      f"etcd idle cpu/host {100*idle['per_host_per_s'].get('process_cpu_seconds_total',0):.3f}%, "
      f"rx {idle['per_host_per_s'].get('etcd_network_client_grpc_received_bytes_total',0):.0f} B/s/host")
PY
	results+="${started:+}{\"hosts\": $step, \"propagation\": $(cat "$work/prop$step.json"), \"etcd_idle\": $idle_rate, \"etcd_changing\": $change_rate},"
done
echo "${results%,}]" >"$out"
echo "results: $out"
