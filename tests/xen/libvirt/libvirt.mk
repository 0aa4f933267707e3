# The libvirt step of the Xen end-to-end test (issue #6), included by
# Makefile.xen: dom0 runs libvirtd with the libxl driver, hyperupcalld
# --backend xen --libvirt-uri xen:///system with hyperupcall's libxl hook,
# and a PV domU started with `virsh create`. See tests/xen/libvirt/README.md.
#
#   make -f Makefile.xen e2e-libvirt     images, boot, judge the log
#                                        ($(OUT)/e2e-libvirt.log)
#
# Uses Makefile.xen's variables (OUT, BUILD_DIR, KVER, KERNEL, MKINITRAMFS,
# STRIPPED, XEN_TEST), its daemon-tools target and run_qemu.

LV_TEST := $(XEN_TEST)/libvirt
LV_STAGE_SH := $(TOP)/dom0-daemon/libvirt/initramfs/stage-libvirtd.sh
LV_HOOK := $(TOP)/dom0-daemon/libvirt/hooks/libxl
LV_DOMU_IMG := $(OUT)/domU-libvirt.cpio.gz
LV_BASE_IMG := $(OUT)/dom0-libvirt-base.cpio.gz
LV_STAGE_IMG := $(OUT)/libvirt-stage.cpio.gz
LV_DOM0_IMG := $(OUT)/dom0-libvirt.cpio.gz
LV_LOG := $(OUT)/e2e-libvirt.log
# The checks dom0-init makes; a run that stops early reports fewer passes.
LV_CHECKS := 22

.PHONY: images-libvirt e2e-libvirt

images-libvirt: $(LV_DOM0_IMG)

$(LV_DOMU_IMG): daemon-tools $(LV_TEST)/domU-init $(MKINITRAMFS)
	$(MKINITRAMFS) $@ $(KVER) \
		bin:$(STRIPPED)/hyperupcall file:$(STRIPPED)/hyperupcall:/usr/bin/hyperupcall \
		file:$(BUILD_DIR)/policies/trace.bpf.o:/hu/trace.bpf.o \
		file:$(TOP)/policies/trace.manifest.json:/hu/trace.manifest.json \
		file:$(LV_TEST)/domU-init:/init

# dom0 without libvirt: Xen's tools, our daemon, the domU's kernel and image.
$(LV_BASE_IMG): $(LV_DOMU_IMG) daemon-tools $(LV_TEST)/dom0-init $(E2E_LIB) $(LV_TEST)/domain.xml \
		$(MKINITRAMFS)
	$(MKINITRAMFS) $@ $(KVER) $(DOM0_DAEMON_SPECS) \
		file:$(LV_TEST)/dom0-init:/init \
		file:$(LV_TEST)/domain.xml:/etc/hu/domain.xml \
		file:$(LV_DOMU_IMG):/hu/domU-libvirt.cpio.gz

# libvirtd + libxl driver + virsh + the hook (with python3), as its own
# archive: Linux unpacks concatenated initramfs archives in order.
$(LV_STAGE_IMG): $(LV_STAGE_SH) $(LV_HOOK)
	rm -rf $(OUT)/libvirt-stage
	$(LV_STAGE_SH) $(OUT)/libvirt-stage
	(cd $(OUT)/libvirt-stage && find . | LC_ALL=C sort | cpio -o -H newc --quiet | gzip -6) >$@.tmp
	mv $@.tmp $@
	rm -rf $(OUT)/libvirt-stage
	echo "libvirt-stage: $$(du -h $@ | cut -f1)"

# Last, the patched libxenguest (issue #17: virsh save/restore carry the
# programs) over the Debian one libvirt's part brought.
$(LV_DOM0_IMG): $(LV_BASE_IMG) $(LV_STAGE_IMG) $(XENGUEST_IMG)
	cat $^ >$@.tmp
	mv $@.tmp $@
	echo "dom0-libvirt: $$(du -h $@ | cut -f1) (libvirt part $$(du -h $(LV_STAGE_IMG) | cut -f1))"

# An Intel-vendor CPU: libvirt 9.0's libxl driver refuses to start unless it
# can name the host CPU after a model of its CPU map from Xen's physinfo
# hw_caps, and every model needs VME or SEP. TCG has no VME, and Xen clears
# SEP on AMD and unknown vendors (cpu/amd.c, cpu/common.c), so with the
# default qemu64 (AMD) libvirtd dies with "Cannot find suitable CPU model
# for given data". The PV dom0 and domU need neither SVM nor VMX.
LV_QEMU_CPU ?= qemu64,vendor=GenuineIntel,+rdrand
e2e-libvirt: QEMU_CPU = $(LV_QEMU_CPU)
e2e-libvirt: $(OUT)/xen.elf $(LV_DOM0_IMG)
	$(call run_qemu,$(OUT)/xen.elf,$(LV_LOG),$(LV_DOM0_IMG),$(LV_TEST)/check-log.sh $(LV_LOG) $(LV_CHECKS))
	$(LV_TEST)/check-log.sh $(LV_LOG) $(LV_CHECKS)
