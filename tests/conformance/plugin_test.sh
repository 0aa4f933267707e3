#!/usr/bin/env bash
# Drives the conformance plugin the way bpf_conformance does: program bytes
# as hex on stdin, memory as hex in argv[1], r0 in hex on stdout, non-zero
# exit on error. Programs are hand-encoded so this checks the protocol and
# the decoder independently of our assembler. A second argument (--jit) is
# passed on as the plugin option that selects the engine.
set -u
plugin=$1
opt=${2:-}
fails=0

expect_ok() { # name mem program want
	local out rc
	out=$(printf '%s\n' "$3" | "$plugin" "$2" $opt)
	rc=$?
	if [ "$rc" -ne 0 ] || [ "$out" != "$4" ]; then
		echo "FAIL $1: exit $rc, output '$out', want '$4'"
		fails=$((fails + 1))
	else
		echo "PASS $1: $out"
	fi
}

expect_err() { # name mem program
	local out rc
	out=$(printf '%s\n' "$3" | "$plugin" "$2" $opt)
	rc=$?
	if [ "$rc" -eq 0 ]; then
		echo "FAIL $1: exit 0 with output '$out', want an error"
		fails=$((fails + 1))
	else
		echo "PASS $1: error '$out'"
	fi
}

exit_insn="95 00 00 00 00 00 00 00"
# mov %r0, 0x1234; exit (bpf_conformance separates bytes with two spaces)
expect_ok mov-imm "" "b7  00  00  00  34  12  00  00  95  00  00  00  00  00  00  00" 1234
# mov %r0, %r2; exit: r2 is the memory length
expect_ok mem-len "00 01 02" "bf 20 00 00 00 00 00 00 $exit_insn" 3
# mov %r0, %r1; exit without memory: r1 is 0
expect_ok no-mem "" "bf 10 00 00 00 00 00 00 $exit_insn" 0
# ldxb %r0, [%r1+1]; exit
expect_ok ldxb "aa bb" "71 10 01 00 00 00 00 00 $exit_insn" bb
# mov %r1, 0; call 5 (unwind with 0 stops, r0 = 0); mov %r0, 2; exit
expect_ok unwind "" "b7 01 00 00 00 00 00 00 85 00 00 00 05 00 00 00 b7 00 00 00 02 00 00 00 $exit_insn" 0
# lddw %r0, 0x1122334455667788; exit
expect_ok lddw "" "18 00 00 00 88 77 66 55 00 00 00 00 44 33 22 11 $exit_insn" 1122334455667788
# ldxb %r0, [%r1+2] past a 2-byte memory
expect_err oob-load "aa bb" "71 10 02 00 00 00 00 00 $exit_insn"
# opcode 0xff does not exist
expect_err bad-opcode "" "ff 00 00 00 00 00 00 00 $exit_insn"
# call 99: no such helper
expect_err unknown-helper "" "85 00 00 00 63 00 00 00 $exit_insn"
# 7 bytes: not a whole instruction
expect_err truncated "" "b7 00 00 00 00 00 00"
# not hex
expect_err not-hex "" "zz"
# ja -1: loops until the budget runs out
expect_err budget "" "05 00 ff ff 00 00 00 00 $exit_insn"

echo "plugin${opt:+ $opt}: $fails failed"
[ "$fails" -eq 0 ]
