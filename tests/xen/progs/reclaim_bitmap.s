# mem.reclaim: a frame is free when the guest's own bitmap says so. The
# guest keeps one bit per frame of [FIRST, FIRST + COUNT) in a page at
# guest-physical GPA (registered as a read-only GPA region), bit i of the
# little-endian word i / 64 for frame FIRST + i.
# Context (struct hu_ctx_mem_reclaim): gfn@0.
ldxdw %r6, [%r1+0]
lddw %r7, ${FIRST}
sub %r6, %r7
jge %r6, ${COUNT}, keep
mov %r3, %r6
rsh %r3, 6
lsh %r3, 3
lddw %r7, ${GPA}
add %r3, %r7
mov %r1, %r10
add %r1, -8
mov %r2, 8
call 5
jne %r0, 0, keep
ldxdw %r0, [%r10-8]
and %r6, 63
rsh %r0, %r6
and %r0, 1
exit
keep:
mov %r0, 0
exit
