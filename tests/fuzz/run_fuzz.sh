#!/usr/bin/env bash
# Builds the engine fuzzers with clang (the main build uses gcc) and runs
# them for a bounded time: fuzz_engine (bytes: decode, validate, round trip,
# run in the interpreter and the JIT, compare) for <seconds>, fuzz_asm
# (assembler text) for half of that, both seeded from the conformance
# suite (fuzz_engine after the inputs of regress/ that once crashed it),
# and fuzz_jit (verified programs generated from the bytes, the two
# engines compared) for <seconds>.
# Usage: run_fuzz.sh <clang> <clang++> <repo root> <work dir> [seconds]
set -euo pipefail
cc=$1 cxx=$2 root=$3 work=$4 secs=${5:-20}
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$work"
san=(-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined)
inc=(-I"$root/engine/include" -I"$root/engine/core" -I"$root/engine/jit"
	-I"$root/engine/verifier" -I"$root/tests/conformance" -I"$here")
engine_cpp=("$root"/engine/core/{decode,disasm,asm,mnemonics}.cpp "$root"/engine/jit/image.cpp
	"$here"/{jit_diff,progen}.cpp)
# The verifier only filters fuzz_jit's programs: built plain, it builds and
# runs faster, and it is fuzzed on its own terms elsewhere.
plain_cpp=("$root"/engine/verifier/*.cpp)
engine_c=("$root"/engine/core/{interp,opcodes}.c "$root"/engine/jit/{jit_x86,jit,jit_run}.c)

# Each source once, instrumented, then one link per fuzzer.
objs=()
for f in "${engine_c[@]}"; do
	o=$work/$(basename "$f" .c).o
	"$cc" -std=gnu11 -O1 -g "${san[@]/fuzzer/fuzzer-no-link}" "${inc[@]}" -c "$f" -o "$o"
	objs+=("$o")
done
for f in "${engine_cpp[@]}"; do
	o=$work/$(basename "$f" .cpp).cc.o
	"$cxx" -std=c++20 -O1 -g "${san[@]/fuzzer/fuzzer-no-link}" "${inc[@]}" -c "$f" -o "$o"
	objs+=("$o")
done
for f in "${plain_cpp[@]}"; do
	o=$work/$(basename "$f" .cpp).plain.o
	"$cxx" -std=c++20 -O1 "${inc[@]}" -c "$f" -o "$o"
	objs+=("$o")
done
for t in fuzz_engine fuzz_asm fuzz_jit; do
	"$cxx" -std=c++20 -O1 -g "${san[@]}" "${inc[@]}" -o "$work/$t" "$here/$t.cpp" "${objs[@]}"
done
# The seed writer is a plain build: no instrumentation needed.
seed_objs=()
for f in "$root"/engine/core/{interp,opcodes}.c; do
	o=$work/seed_$(basename "$f" .c).o
	"$cc" -std=gnu11 -O1 "${inc[@]}" -c "$f" -o "$o"
	seed_objs+=("$o")
done
"$cxx" -std=c++20 -O1 "${inc[@]}" -o "$work/make_seeds" "$here/make_seeds.cpp" \
	"$root/tests/conformance/test_file.cpp" "$root"/engine/core/{decode,disasm,asm,mnemonics}.cpp \
	"${seed_objs[@]}"
rm -rf "$work/corpus" "$work/corpus_asm"
"$work/make_seeds" "$root/../shared/conformance/bpf_conformance/tests" "$work/corpus"
# The assembler starts from the suite's own asm sections.
mkdir -p "$work/corpus_asm"
for f in "$root"/../shared/conformance/bpf_conformance/tests/*.data; do
	awk '/^-- asm/{a=1;next} /^--/{a=0} a' "$f" >"$work/corpus_asm/$(basename "$f" .data)"
done
# Inputs that once crashed fuzz_engine (regress/engine-*), each run once
# first: a fix that regresses fails here whatever the random run finds.
echo "fuzz: engine, the $(ls "$here"/regress/engine-* | wc -l) inputs of regress/"
"$work/fuzz_engine" "$here"/regress/engine-*
echo "fuzz: engine, $(ls "$work/corpus" | wc -l) seeds, ${secs}s"
"$work/fuzz_engine" -max_total_time="$secs" -max_len=4096 -print_final_stats=1 \
	"$work/corpus"
half=$(( (secs + 1) / 2 ))
echo "fuzz: assembler, $(ls "$work/corpus_asm" | wc -l) seeds, ${half}s"
"$work/fuzz_asm" -max_total_time="$half" -max_len=4096 -print_final_stats=1 \
	"$work/corpus_asm"
echo "fuzz: jit against the interpreter, verified programs, ${secs}s"
mkdir -p "$work/corpus_jit"
"$work/fuzz_jit" -max_total_time="$secs" -max_len=1024 -print_final_stats=1 "$work/corpus_jit"
