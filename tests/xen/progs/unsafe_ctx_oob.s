# Unsafe: reads 8 bytes past the end of the mem.reclaim context (32 bytes).
# The verifier must reject it; installed anyway (--no-verify), Xen's
# interpreter must stop every run with an out-of-bounds error.
ldxdw %r0, [%r1+32]
exit
