#!/usr/bin/env python3
"""Turns interp_bench's JSON output into the README's table: for each
program, instructions per run, interpreter ns/run and ns/insn, native ns/run,
and the interpreter/native ratio, all from CPU time (the machine may be
shared, and the ns_per_insn counter is CPU-time based too).

    interp_bench --benchmark_repetitions=5 --benchmark_format=json > out.json
    summarize.py out.json
"""
import json
import sys


def ns(b):
    scale = {"ns": 1, "us": 1e3, "ms": 1e6, "s": 1e9}[b["time_unit"]]
    return b["cpu_time"] * scale


def main(path):
    with open(path) as f:
        benchmarks = json.load(f)["benchmarks"]
    # With --benchmark_repetitions, use the medians; else the single runs.
    medians = [b for b in benchmarks if b.get("aggregate_name") == "median"]
    chosen = medians or [b for b in benchmarks if b.get("run_type", "iteration") == "iteration"]
    runs = {b.get("run_name", b["name"]).split("/")[0]: b for b in chosen}
    print("| program | insns/run | interp ns/run | ns/insn | native ns/run | ratio |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for name, b in runs.items():
        if not name.endswith("_Interp"):
            continue
        base = name[: -len("_Interp")]
        native = runs.get(base + "_Native")
        i, n = ns(b), ns(native) if native else float("nan")
        print(f"| {base[3:]} | {int(b['insns'])} | {i:.0f} | {b['ns_per_insn']:.2f} "
              f"| {n:.0f} | {i / n:.1f}x |")


if __name__ == "__main__":
    main(sys.argv[1])
