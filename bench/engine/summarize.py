#!/usr/bin/env python3
"""Turns engine_bench's JSON output into the README's table: for each
program, instructions per run (the interpreter's count), the interpreter,
the JIT (blinded, as it runs by default) and the JIT without blinding next
to native C, in ns per run (CPU time) and as ratios to native, and the
JIT's cost over native in TSC cycles per run (the least of 25 batches,
measured in the same process). A program with a `_NativeHelper` twin
(native code calling the same helpers through the helper ABI) gets a
second line: what the JIT costs over that.

    engine_bench --benchmark_repetitions=5 --benchmark_format=json > out.json
    summarize.py out.json
"""
import json
import sys

ENGINES = ("Interp", "Jit", "JitPlain", "Native")


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
    programs = []
    for name in runs:
        base, _, engine = name.rpartition("_")
        if engine in ENGINES and base not in programs:
            programs.append(base)
    print("| program | insns/run | interp ns | JIT ns | JIT plain ns | native ns "
          "| interp/native | JIT/native | JIT plain/native | JIT − native, cycles |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for p in programs:
        b = {e: runs.get(f"{p}_{e}") for e in ENGINES}
        if not all(b.values()):
            continue
        t = {e: ns(b[e]) for e in ENGINES}
        over = b["Jit"]["cycles"] - b["Native"]["cycles"]
        print(f"| {p} | {int(b['Interp']['insns'])} | {t['Interp']:.0f} | {t['Jit']:.0f} "
              f"| {t['JitPlain']:.0f} | {t['Native']:.0f} "
              f"| {t['Interp'] / t['Native']:.1f}x | {t['Jit'] / t['Native']:.2f}x "
              f"| {t['JitPlain'] / t['Native']:.2f}x | {over:.0f} |")
    for p in programs:
        nh, jit = runs.get(f"{p}_NativeHelper"), runs.get(f"{p}_Jit")
        if nh and jit:
            print(f"\n{p}, native through the helper ABI: {ns(nh):.0f} ns, "
                  f"{nh['cycles']:.0f} cycles; JIT − that: {jit['cycles'] - nh['cycles']:.0f} cycles")


if __name__ == "__main__":
    main(sys.argv[1])
