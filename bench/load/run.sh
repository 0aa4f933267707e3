#!/usr/bin/env bash
# The load table of the README: registrations/s and p50/p99 for 1, 8, 64
# and 1000 guests, the trivial program and the shipped trace policy, daemon
# RSS and CPU, and the one-fsync-per-decision baseline in the same boot.
#   bench/load/run.sh BUILD_DIR [DURATION_S]   (env AGE_S: the aging run, 60)
set -euo pipefail
build=${1:?usage: run.sh BUILD_DIR [DURATION_S]}
dur=${2:-10}
load=$build/bench/load/hu-load
daemon=$build/dom0-daemon/hyperupcalld
run() { # label guests inflight program [daemon args...]
	local label=$1 guests=$2 inflight=$3 program=$4
	shift 4
	local extra=()
	for a in "$@"; do extra+=("--daemon-arg=$a"); done
	"$load" --daemon "$daemon" --guests "$guests" --inflight "$inflight" --program "$program" \
		--duration "$dur" --warmup 2 --label "$label" --json "${extra[@]}"
}
{
	run "group commit" 8 4 trivial
	run "baseline: one fsync per decision" 8 4 trivial --commit-batch=1
	for g in 1 8 64; do run "group commit" "$g" 4 trivial; done
	run "group commit" 1000 1 trivial
	for g in 1 8 64; do run "group commit" "$g" 4 trace; done
	run "group commit" 1000 1 trace
} | python3 -c '
import json, sys
print("| run | program | guests x in flight | registrations/s | p50 ms | p99 ms | daemon CPU us/registration | daemon RSS MiB | host busy % (load) |")
print("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
row = ("| {label} | {program} | {guests} x {inflight} | {registrations_per_s:.0f} | {p50_ms:.2f} | "
       "{p99_ms:.2f} | {daemon_cpu_us_per_registration:.0f} | {daemon_peak_rss_mib:.0f} | "
       "{host_busy_percent:.0f} ({loadavg_1m:.1f}) |")
for line in sys.stdin:
    print(row.format(**json.loads(line)))
'
# Slowing with age: one daemon, AGE_S seconds of register/unload cycles (at
# ~8,000/s, hundreds of thousands), the rate and p99 of each sixth of it.
"$load" --daemon "$daemon" --guests 8 --inflight 4 --program trivial --duration "${AGE_S:-60}" \
	--warmup 2 --windows 6 --json | python3 -c '
import json, sys
j = json.load(sys.stdin)
parts = ", ".join("{:.0f}/s p99 {:.1f} ms".format(w["registrations_per_s"], w["p99_ms"]) for w in j["windows"])
print()
print("Aging, 8 x 4 trivial, {:.0f} s, {} register/unload cycles: {}; state database {:.1f} MiB, daemon RSS {:.0f} MiB".format(
      j["duration_s"], j["accepted"], parts, j["state_db_mib"], j["daemon_peak_rss_mib"]))
'
