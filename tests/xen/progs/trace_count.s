# trace.exit: count a guest's exits by kind in map 0 (array, 4 x u64):
#   [0] tagged hypercalls: xen_version(0x7ead, i) from hu-guest
#   [1] all hypercalls  [2] traps and exceptions  [3] HVM VM exits
# and put each tagged call's index i in the trace ring.
# Counts are atomic adds: runs on several pCPUs do not serialise.
# Context (struct hu_ctx_trace_exit): vcpu@0 kind@4 code@8 args@16.
mov %r6, %r1
ldxw %r7, [%r6+4]
mov %r8, 1
jeq %r7, 0, hypercall
mov %r8, 2
jeq %r7, 1, bump
mov %r8, 3
ja bump
hypercall:
ldxdw %r2, [%r6+8]
jne %r2, 17, bump
ldxdw %r2, [%r6+16]
jne %r2, 0x7ead, bump
mov %r9, 0
stxw [%r10-4], %r9
lddw %r1, map[0]
mov %r2, %r10
add %r2, -4
call 1
jeq %r0, 0, bump
mov %r3, 1
lock add [%r0+0], %r3
ldxdw %r2, [%r6+24]
stxdw [%r10-16], %r2
mov %r1, %r10
add %r1, -16
mov %r2, 8
call 7
bump:
stxw [%r10-4], %r8
lddw %r1, map[0]
mov %r2, %r10
add %r2, -4
call 1
jeq %r0, 0, out
mov %r3, 1
lock add [%r0+0], %r3
out:
mov %r0, 0
exit
