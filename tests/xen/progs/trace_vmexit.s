# trace.exit for an HVM-container (PVH/HVM) guest: counts its VM exits.
#   map 0 (hash, u32 exit reason -> u64): exits by reason
#   map 1 (array, 2 x u64): [0] tagged hypercalls, [1] all VM exits
# A tagged hypercall is hu-guest's xen_version(0x7ead, i): a VM exit with
# reason ${HCALL_EXIT} (SVM VMMCALL 0x81, VMX VMCALL 18) whose args are the
# hypercall number (17) and its arguments. Other exit kinds are ignored.
# Runs on several pCPUs at once (Xen's hook path takes no lock): counts
# are atomic adds, and a new reason is inserted with HU_NOEXIST, falling
# back to the count another vCPU inserted meanwhile.
# Context (struct hu_ctx_trace_exit): kind@4 code@8 args@16.
mov %r6, %r1
ldxw %r7, [%r6+4]
jne %r7, 2, out
mov %r8, 1
stxw [%r10-4], %r8
lddw %r1, map[1]
mov %r2, %r10
add %r2, -4
call 1
jeq %r0, 0, reason
mov %r3, 1
lock add [%r0+0], %r3
reason:
ldxdw %r7, [%r6+8]
stxw [%r10-8], %r7
lddw %r1, map[0]
mov %r2, %r10
add %r2, -8
call 1
jeq %r0, 0, new_reason
mov %r3, 1
lock add [%r0+0], %r3
ja tagged
new_reason:
mov %r3, 1
stxdw [%r10-16], %r3
lddw %r1, map[0]
mov %r2, %r10
add %r2, -8
mov %r3, %r10
add %r3, -16
mov %r4, 1
call 2
jeq %r0, 0, tagged
lddw %r1, map[0]
mov %r2, %r10
add %r2, -8
call 1
jeq %r0, 0, tagged
mov %r3, 1
lock add [%r0+0], %r3
tagged:
ldxdw %r2, [%r6+8]
jne %r2, ${HCALL_EXIT}, out
ldxdw %r2, [%r6+16]
jne %r2, 17, out
ldxdw %r2, [%r6+24]
jne %r2, 0x7ead, out
mov %r8, 0
stxw [%r10-4], %r8
lddw %r1, map[1]
mov %r2, %r10
add %r2, -4
call 1
jeq %r0, 0, out
mov %r3, 1
lock add [%r0+0], %r3
out:
mov %r0, 0
exit
