# Unsafe: never terminates. The verifier must reject it; installed anyway
# (--no-verify), Xen's instruction budget must stop every run.
mov %r0, 0
loop:
add %r0, 1
ja loop
