# tests/xen/sched/sched.mk, included by Makefile.xen: the scheduling hooks'
# end-to-end test and benchmark (tests/xen/sched/README.md).
#
#   make -f Makefile.xen e2e-sched   both boots, then check-log.sh on each
#
# A busy PV domain and a 4-vCPU PVH guest on two pCPUs; the guest measures
# TLB shootdowns and a kernel spinlock workload without and with the
# tlb.flush and sched.preempt policies (loaded with its guest tool through
# hyperupcalld), under credit2 and credit1, then dom0 installs hostile
# programs. Patched Xen must pass every check; Debian's Xen must fail them.

SCHED_DIR := $(XEN_TEST)/sched
KBUILD_DIR ?= /lib/modules/$(KVER)/build
KMOD_OUT := $(OUT)/kmod
HU_GUEST_KO := $(KMOD_OUT)/hu_guest.ko
HU_LOCKBENCH_KO := $(KMOD_OUT)/hu_lockbench.ko
HU_SHOOTDOWN := $(OUT)/hu-shootdown
DOMU_SCHED_IMG := $(OUT)/domU-sched.cpio.gz
DOM0_SCHED_IMG := $(OUT)/dom0-sched.cpio.gz
SCHED_CFGS := $(SCHED_DIR)/bench.cfg $(SCHED_DIR)/busy.cfg
SCHED_PROGS := $(wildcard $(SCHED_DIR)/progs/*.s)

.PHONY: kmods images-sched boot-sched boot-sched-debian e2e-sched stress-sched

# Out-of-tree modules against Debian's headers for the guest kernel
# (linux-headers-amd64), built in a copy so the source folders stay clean.
# build_kmod SRC-DIR MODULE
define build_kmod
	rm -rf $(KMOD_OUT)/$(2) && mkdir -p $(KMOD_OUT)/$(2)
	cp $(1)/*.c $(1)/Kbuild $(wildcard $(1)/*.h) $(KMOD_OUT)/$(2)/
	$(MAKE) -C $(KBUILD_DIR) M=$(KMOD_OUT)/$(2) modules
	cp $(KMOD_OUT)/$(2)/$(2).ko $(KMOD_OUT)/$(2).ko
endef

kmods: $(HU_GUEST_KO) $(HU_LOCKBENCH_KO)

$(HU_GUEST_KO): $(wildcard $(TOP)/guest-driver/kmod/*)
	$(call build_kmod,$(TOP)/guest-driver/kmod,hu_guest)

$(HU_LOCKBENCH_KO): $(wildcard $(SCHED_DIR)/lockbench/*)
	$(call build_kmod,$(SCHED_DIR)/lockbench,hu_lockbench)

$(HU_SHOOTDOWN): $(SCHED_DIR)/hu-shootdown.c
	mkdir -p $(OUT)
	gcc -O2 -Wall -Wextra -Werror -pthread -o $@ $<

# One domU image for both roles (hu.role= on the kernel command line).
GUEST_CMD := $(SCHED_DIR)/guest-cmd.sh
$(DOMU_SCHED_IMG): daemon-tools kmods $(HU_SHOOTDOWN) $(SCHED_DIR)/domU-init $(GUEST_CMD) $(MKINITRAMFS)
	$(MKINITRAMFS) $@ $(KVER) \
		bin:$(HU_SHOOTDOWN) file:$(HU_SHOOTDOWN):/bin/hu-shootdown \
		bin:$(STRIPPED)/hyperupcall file:$(STRIPPED)/hyperupcall:/usr/bin/hyperupcall \
		bin:/usr/bin/xenstore-read bin:/usr/bin/xenstore-write \
		file:$(HU_GUEST_KO):/hu/hu_guest.ko file:$(HU_LOCKBENCH_KO):/hu/hu_lockbench.ko \
		$(foreach p,tlb_linux preempt_linux,file:$(BUILD_DIR)/policies/$(p).bpf.o:/hu/$(p).bpf.o \
			file:$(TOP)/policies/$(p).manifest.json:/hu/$(p).manifest.json) \
		file:$(SCHED_DIR)/domU-init:/init file:$(GUEST_CMD):/usr/lib/hu/guest-cmd.sh

images-sched: $(DOM0_SCHED_IMG)

TCG_FAULT := $(XEN_TEST)/image/tcg-fault.sh
$(DOM0_SCHED_IMG): $(DOMU_SCHED_IMG) daemon-tools $(SCHED_DIR)/dom0-init $(GUEST_CMD) $(E2E_LIB) $(TCG_FAULT) \
		$(SCHED_CFGS) $(SCHED_PROGS) $(MKINITRAMFS)
	$(MKINITRAMFS) $@ $(KVER) $(DOM0_DAEMON_SPECS) \
		file:$(SCHED_DIR)/dom0-init:/init file:$(GUEST_CMD):/usr/lib/hu/guest-cmd.sh \
		file:$(TCG_FAULT):/usr/lib/hu/tcg-fault.sh \
		$(foreach c,$(SCHED_CFGS),file:$(c):/etc/hu/$(notdir $(c))) \
		$(foreach p,$(SCHED_PROGS),file:$(p):/hu/progs/$(notdir $(p))) \
		file:$(DOMU_SCHED_IMG):/hu/domU-sched.cpio.gz

# Seconds per benchmark run and rounds of without/with pairs (dom0-init);
# the QEMU limit of one boot: a patched boot takes ~5 minutes with the
# guest's TSC native on a quiet host (it took 15-28 with RDTSC emulated),
# several times that at a load of 9, and each revival adds 1-4. A hung
# boot (Xen's clock leapt once and dom0 stalled, tests/xen/README.md) is
# stopped by QEMU_STALL (Makefile.xen) well before this limit.
SHOOT_S ?= 6
LOCK_S ?= 6
ROUNDS ?= 2
SCHED_QEMU_TIMEOUT ?= 2400
boot-sched boot-sched-debian: DOM0_CMDLINE += SHOOT_S=$(SHOOT_S) LOCK_S=$(LOCK_S) ROUNDS=$(ROUNDS)
boot-sched boot-sched-debian: QEMU_TIMEOUT = $(SCHED_QEMU_TIMEOUT)

boot-sched: $(OUT)/xen.elf $(DOM0_SCHED_IMG)
	$(call run_qemu,$(OUT)/xen.elf,$(OUT)/e2e-sched.log,$(DOM0_SCHED_IMG),$(SCHED_DIR)/check-log.sh patched $(OUT)/e2e-sched.log)

boot-sched-debian: $(OUT)/xen-debian.elf $(DOM0_SCHED_IMG)
	$(call run_qemu,$(OUT)/xen-debian.elf,$(OUT)/e2e-sched-debian.log,$(DOM0_SCHED_IMG),$(SCHED_DIR)/check-log.sh unpatched $(OUT)/e2e-sched-debian.log)

e2e-sched: check-layout boot-sched boot-sched-debian
	$(SCHED_DIR)/check-log.sh patched $(OUT)/e2e-sched.log
	$(SCHED_DIR)/check-log.sh unpatched $(OUT)/e2e-sched-debian.log

# Not the test: dom0-init's stress mode (README, "Guests that die of the
# emulator") has the guest run one action STRESS_N times, counting deaths.
#   make -f Makefile.xen stress-sched STRESS=module:20 [STRESS_XEN=debian]
STRESS ?= module:20
STRESS_ELF = $(if $(filter debian,$(STRESS_XEN)),$(OUT)/xen-debian.elf,$(OUT)/xen.elf)
stress-sched: DOM0_CMDLINE += STRESS=$(STRESS)
stress-sched: QEMU_TIMEOUT = $(SCHED_QEMU_TIMEOUT)
stress-sched: $(STRESS_ELF) $(DOM0_SCHED_IMG)
	$(call run_qemu,$(STRESS_ELF),$(OUT)/stress-sched.log,$(DOM0_SCHED_IMG))
	grep -a 'HU-E2E: stress' $(OUT)/stress-sched.log
