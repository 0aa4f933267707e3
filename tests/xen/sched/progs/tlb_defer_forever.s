# tlb.flush, hostile: defers every IPI that reaches a vCPU that is not
# running and never acknowledges anything. Xen must stay safe and the guest
# must lose nothing: each deferral flushes the target at its next entry,
# the IPI is still delivered (the target does the shootdown itself when it
# runs), and deferrals per descheduled period are capped.
mov %r0, 1
exit
