# The migration end-to-end test (issue #17), included by Makefile.xen:
# programs follow their domain through save/restore and migration.
#
#   make -f Makefile.xen e2e-migrate     images, boot, judge the log
#                                        ($(OUT)/e2e-migrate.log)
#
# Uses Makefile.xen's variables (OUT, BUILD_DIR, KVER, KERNEL, MKINITRAMFS,
# STRIPPED, XEN_TEST, HU_GUEST, E2E_LIB), its daemon-tools target and run_qemu.
# See tests/xen/migrate/README.md.

MIG_TEST := $(XEN_TEST)/migrate
MIG_DOMU_IMG := $(OUT)/domU-migrate.cpio.gz
MIG_DOM0_IMG := $(OUT)/dom0-migrate.cpio.gz
MIG_LOG := $(OUT)/e2e-migrate.log
# The image gets the patched libxenguest where Debian's was (DEB_XENGUEST,
# Makefile.xen), and Debian's aside for the test's "unpatched host" (a
# receiver run with LD_LIBRARY_PATH=/usr/lib/hu/debian-xen).

.PHONY: images-migrate e2e-migrate

images-migrate: $(MIG_DOM0_IMG)

$(MIG_DOMU_IMG): daemon-tools $(HU_GUEST) $(MIG_TEST)/domU-init $(MKINITRAMFS)
	$(MKINITRAMFS) $@ $(KVER) $(DOMU_TOOL_SPECS) \
		file:$(MIG_TEST)/domU-init:/init mod:xen-privcmd

$(MIG_DOM0_IMG): $(MIG_DOMU_IMG) daemon-tools $(XENGUEST) $(MIG_TEST)/dom0-init $(E2E_LIB) \
		$(MIG_TEST)/domU.cfg $(MKINITRAMFS)
	[ -n "$(DEB_XENGUEST)" ] || { echo "e2e-migrate: Debian's libxenguest not found" >&2; exit 1; }
	$(MKINITRAMFS) $@ $(KVER) $(DOM0_DAEMON_SPECS) \
		file:$(XENGUEST):$(DEB_XENGUEST) \
		file:$(DEB_XENGUEST):/usr/lib/hu/debian-xen/libxenguest.so.4.17 \
		file:$(MIG_TEST)/dom0-init:/init \
		file:$(MIG_TEST)/domU.cfg:/etc/hu/domU.cfg \
		file:$(MIG_DOMU_IMG):/hu/domU.cpio.gz

# A save, a restore and four migrations of a 256 MiB domain under TCG: far
# longer than the other boots (1552 s here on 2 cores at load 17, where
# xen-e2e-daemon's boot takes 100-180 s unloaded). QEMU_TIMEOUT= on the
# command line still wins.
MIG_QEMU_TIMEOUT ?= 2700
e2e-migrate: QEMU_TIMEOUT = $(MIG_QEMU_TIMEOUT)
e2e-migrate: $(OUT)/xen.elf $(MIG_DOM0_IMG)
	$(call run_qemu,$(OUT)/xen.elf,$(MIG_LOG),$(MIG_DOM0_IMG),$(MIG_TEST)/check-log.sh $(MIG_LOG))
	$(MIG_TEST)/check-log.sh $(MIG_LOG)
