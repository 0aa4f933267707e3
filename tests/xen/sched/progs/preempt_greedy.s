# sched.preempt, hostile: asks for a whole second of grace at every
# preemption. Xen must grant at most its cap (500 us) at a time, once per
# preemption, and no more than the vCPU's grace budget over time.
mov %r0, 1000000
exit
