# The memory hooks' boot (issue #14), included by Makefile.xen: Xen with
# FLASK enforcing, hyperupcalld --backend xen in dom0, two PVH domUs: hu-mem
# (mem.protect demo with the hu_protect kernel module, hyperupcall reclaim
# checked by hu-memcheck) and its idle twin hu-balloon (the balloon
# comparison); then hu-mem, its protected range and its reclaim's debt,
# through xl save/restore and xl migrate to localhost (tests/xen/mem/move.sh,
# the patched libxenguest of xen-patches/0031). See tests/xen/mem/README.md.
#
#   make -f Makefile.xen e2e-mem     images, both boots, judge both logs
#                                    ($(OUT)/e2e-mem.log, e2e-mem-debian.log)
#
# Uses Makefile.xen's variables (OUT, BUILD_DIR, KVER, KERNEL, MKINITRAMFS,
# STRIPPED, XEN_TEST, E2E_LIB), its daemon-tools target and run_qemu.

MEM_TEST := $(XEN_TEST)/mem
MEM_GUEST := $(XEN_TEST)/guest
HU_MEMCHECK := $(OUT)/hu-memcheck
HU_PROTECT_KO := $(OUT)/hu_protect/hu_protect.ko
PROTECT_DEMO := $(BUILD_DIR)/tests/xen/mem/protect_demo.bpf.o
MEM_DOMU_IMG := $(OUT)/domU-mem.cpio.gz
MEM_DOM0_IMG := $(OUT)/dom0-mem.cpio.gz
MEM_LOG := $(OUT)/e2e-mem.log
MEM_DEBIAN_LOG := $(OUT)/e2e-mem-debian.log

.PHONY: images-mem boot-mem boot-mem-debian e2e-mem mem-objects

$(HU_MEMCHECK): $(MEM_GUEST)/hu-memcheck.c $(GUEST_LIB_DEPS)
	mkdir -p $(OUT)
	gcc -O2 -Wall -Wextra -Werror -o $@ $(MEM_GUEST)/hu-memcheck.c $(GUEST_LIB) -lxenstore

# Kbuild writes next to the sources: build a copy, against Debian's headers
# for the kernel the domU boots (linux-headers-amd64).
$(HU_PROTECT_KO): $(MEM_GUEST)/hu_protect/hu_protect.c $(MEM_GUEST)/hu_protect/Kbuild
	rm -rf $(OUT)/hu_protect
	mkdir -p $(OUT)/hu_protect
	cp $^ $(OUT)/hu_protect/
	$(MAKE) -C /lib/modules/$(KVER)/build M=$(OUT)/hu_protect modules

mem-objects: daemon-tools
	cmake --build $(BUILD_DIR) -j$(JOBS) --target hu_xen_mem_objects

images-mem: $(MEM_DOM0_IMG)

$(MEM_DOMU_IMG): mem-objects $(HU_MEMCHECK) $(HU_PROTECT_KO) $(MEM_TEST)/domU-init $(MKINITRAMFS)
	$(MKINITRAMFS) $@ $(KVER) \
		bin:$(HU_MEMCHECK) file:$(HU_MEMCHECK):/bin/hu-memcheck \
		bin:$(STRIPPED)/hyperupcall file:$(STRIPPED)/hyperupcall:/usr/bin/hyperupcall \
		bin:/usr/bin/xenstore-read bin:/usr/bin/xenstore-write \
		file:$(BUILD_DIR)/policies/reclaim_buddy.bpf.o:/hu/reclaim_buddy.bpf.o \
		file:$(TOP)/policies/reclaim_buddy.manifest.json:/hu/reclaim_buddy.manifest.json \
		file:$(PROTECT_DEMO):/hu/protect_demo.bpf.o \
		file:$(HU_PROTECT_KO):/lib/modules/hu_protect.ko \
		file:$(MEM_TEST)/domU-init:/init mod:xen-privcmd

# The patched libxenguest where Debian's was (DEB_XENGUEST, Makefile.xen):
# it carries the programs through save/restore and migration.
$(MEM_DOM0_IMG): $(MEM_DOMU_IMG) daemon-tools $(XENGUEST) $(MEM_TEST)/dom0-init $(MEM_TEST)/move.sh \
		$(E2E_LIB) $(MEM_TEST)/mem.cfg $(MEM_TEST)/balloon.cfg $(MKINITRAMFS)
	[ -n "$(DEB_XENGUEST)" ] || { echo "e2e-mem: Debian's libxenguest not found" >&2; exit 1; }
	$(MKINITRAMFS) $@ $(KVER) $(DOM0_DAEMON_SPECS) \
		file:$(XENGUEST):$(DEB_XENGUEST) \
		file:$(MEM_TEST)/dom0-init:/init file:$(MEM_TEST)/move.sh:/usr/lib/hu/move.sh \
		file:$(MEM_TEST)/mem.cfg:/etc/hu/mem.cfg file:$(MEM_TEST)/balloon.cfg:/etc/hu/balloon.cfg \
		file:$(MEM_DOMU_IMG):/hu/domU-mem.cpio.gz

# FLASK enforcing with the policy built into our Xen (xen-patches/
# hyperupcall.config); Debian's Xen has no XSM and ignores both options.
# Two 512 MiB domUs need more than the default 2 GiB. dom0 may grow to
# 1.5 GiB (the later dom0_mem wins): move.sh balloons it up, once the twin
# is gone, for hu-mem's save file in its tmpfs; the migration to localhost
# then still finds a second 512 MiB, and QEMU keeps the 3072 MiB this boot
# always had.
MEM_XEN_EXTRA := xsm=flask flask=enforcing dom0_mem=1024M,max:1536M
boot-mem boot-mem-debian: QEMU_MEM = 3072
boot-mem boot-mem-debian: XEN_EXTRA_CMDLINE = $(MEM_XEN_EXTRA)
# A boot took 790 s here before the moves (load ~9); the save, restore and
# migration of a 512 MiB domain add minutes under TCG. QEMU_TIMEOUT= on
# the command line still wins.
MEM_QEMU_TIMEOUT ?= 1800
boot-mem boot-mem-debian: QEMU_TIMEOUT = $(MEM_QEMU_TIMEOUT)

boot-mem: $(OUT)/xen.elf $(MEM_DOM0_IMG)
	$(call run_qemu,$(OUT)/xen.elf,$(MEM_LOG),$(MEM_DOM0_IMG),$(MEM_TEST)/check-log.sh patched $(MEM_LOG))

boot-mem-debian: $(OUT)/xen-debian.elf $(MEM_DOM0_IMG)
	$(call run_qemu,$(OUT)/xen-debian.elf,$(MEM_DEBIAN_LOG),$(MEM_DOM0_IMG),$(MEM_TEST)/check-log.sh unpatched $(MEM_DEBIAN_LOG))

e2e-mem: boot-mem boot-mem-debian
	$(MEM_TEST)/check-log.sh patched $(MEM_LOG)
	$(MEM_TEST)/check-log.sh unpatched $(MEM_DEBIAN_LOG)
