# `virsh migrate` between two Xen hosts (issue #17), included by
# Makefile.xen: three QEMUs, each its own Xen host with libvirtd's libxl
# driver, joined by QEMU socket netdevs. See tests/xen/migrate-hosts/README.md.
#
#   make -f Makefile.xen e2e-migrate-hosts   image, boot A, B and C at once,
#                                            judge the three logs
#                                            ($(OUT)/e2e-migrate-hosts-{a,b,c}.log)
#
# Uses Makefile.xen's variables (OUT, BUILD_DIR, KVER, KERNEL, MKINITRAMFS,
# STRIPPED, XEN_TEST, HU_GUEST, E2E_LIB, XENGUEST_IMG, DEB_XENGUEST), its
# daemon-tools target, and libvirt.mk's libvirtd stage (LV_STAGE_IMG).

MH_TEST := $(XEN_TEST)/migrate-hosts
MH_DOMU_IMG := $(OUT)/domU-mh.cpio.gz
MH_BASE_IMG := $(OUT)/dom0-mh-base.cpio.gz
MH_DOM0_IMG := $(OUT)/dom0-mh.cpio.gz
MH_LOGS := $(OUT)/e2e-migrate-hosts-a.log $(OUT)/e2e-migrate-hosts-b.log $(OUT)/e2e-migrate-hosts-c.log
MH_XENGUEST_PATH := $(OUT)/mh-xenguest.path

.PHONY: images-migrate-hosts e2e-migrate-hosts

images-migrate-hosts: $(MH_DOM0_IMG)

$(MH_DOMU_IMG): daemon-tools $(HU_GUEST) $(MH_TEST)/domU-init $(MKINITRAMFS)
	$(MKINITRAMFS) $@ $(KVER) $(DOMU_TOOL_SPECS) \
		file:$(MH_TEST)/domU-init:/init mod:xen-privcmd

# Where the image's libxenguest is: host C puts Debian's back there.
$(MH_XENGUEST_PATH):
	[ -n "$(DEB_XENGUEST)" ] || { echo "e2e-migrate-hosts: Debian's libxenguest not found" >&2; exit 1; }
	echo "$(DEB_XENGUEST)" >$@

# One dom0 image for the three hosts (the role is on dom0's command line):
# Xen's tools, our daemon and tools, Debian's libxenguest kept aside for
# host C, the NIC's driver, the domU's kernel and image, the roles' scripts.
$(MH_BASE_IMG): $(MH_DOMU_IMG) daemon-tools $(MH_XENGUEST_PATH) $(E2E_LIB) $(MKINITRAMFS) \
		$(addprefix $(MH_TEST)/,dom0-init dom0-init-a dom0-init-b dom0-init-c hosts-lib.sh hu-mh.xml hu-plain.xml)
	$(MKINITRAMFS) $@ $(KVER) $(DOM0_DAEMON_SPECS) \
		file:$(DEB_XENGUEST):/usr/lib/hu/debian-xen/libxenguest.so.4.17 \
		file:$(MH_XENGUEST_PATH):/etc/hu/xenguest.path \
		file:$(MH_TEST)/dom0-init:/init \
		file:$(MH_TEST)/hosts-lib.sh:/usr/lib/hu/hosts-lib.sh \
		$(foreach r,a b c,file:$(MH_TEST)/dom0-init-$(r):/usr/lib/hu/dom0-init-$(r)) \
		file:$(MH_TEST)/hu-mh.xml:/etc/hu/hu-mh.xml file:$(MH_TEST)/hu-plain.xml:/etc/hu/hu-plain.xml \
		file:$(MH_DOMU_IMG):/hu/domU-mh.cpio.gz mod:e1000

# libvirt's part, then the patched libxenguest over Debian's (as
# dom0-libvirt.cpio.gz): hosts A and B run it, host C puts Debian's back.
$(MH_DOM0_IMG): $(MH_BASE_IMG) $(LV_STAGE_IMG) $(XENGUEST_IMG)
	cat $^ >$@.tmp
	mv $@.tmp $@
	echo "dom0-mh: $$(du -h $@ | cut -f1)"

# Host A's QEMU limit: its boot, its guest's, a refused and two done
# migrations of 256 MiB domains under TCG with two other QEMUs beside it on
# the same cores (1109 s at load 10). B and C get MH_GRACE more, and are stopped MH_GRACE after
# A ends. An Intel-vendor CPU for libvirt (libvirt.mk, LV_QEMU_CPU).
MH_QEMU_TIMEOUT ?= 2400
MH_GRACE ?= 600
e2e-migrate-hosts: $(OUT)/xen.elf $(OUT)/xen-debian.elf $(MH_DOM0_IMG)
	XEN_PATCHED=$(OUT)/xen.elf XEN_DEBIAN=$(OUT)/xen-debian.elf KERNEL=$(KERNEL) IMG=$(MH_DOM0_IMG) \
	XEN_CMDLINE="$(XEN_CMDLINE)" DOM0_CMDLINE="$(DOM0_CMDLINE)" QEMU_ACCEL=$(QEMU_ACCEL) \
	QEMU_CPU=$(LV_QEMU_CPU) QEMU_MEM=$(QEMU_MEM) QEMU_TIMEOUT=$(MH_QEMU_TIMEOUT) GRACE=$(MH_GRACE) \
	JUDGE="$(MH_TEST)/check-log.sh $(MH_LOGS)" TCG_FAULT=$(XEN_TEST)/image/tcg-fault.sh \
		$(MH_TEST)/run-hosts.sh $(MH_LOGS)
	$(MH_TEST)/check-log.sh $(MH_LOGS)
