# SPDX-License-Identifier: GPL-2.0-only
#
# Front end.  The kbuild description is in Kbuild.
#
#   make                 build ddemux.ko for the running kernel
#   make KERNELRELEASE=6.1.0-56-amd64    ... or for another installed one
#   make KDIR=/path/to/build/tree        ... or against any build tree
#   make check           the test suite (README); installs what it needs
#   make soak            the long runs: a KASAN/lockdep/kmemleak kernel, long
#                        stress and fuzzing (scripts/soak.sh)
#   make bench           the benchmarks, in a VM: a table and a plot in
#                        Documentation/bench (scripts/bench/run.sh)
#   make demo            ddemux at work, in a VM with Debian's kernel
#   make load / unload   insmod / rmmod on this host (root)
#   make install         modules_install + depmod (DESTDIR, INSTALL_MOD_PATH)
#   make dkms-install    the DKMS sources into DESTDIR/usr/src/ddemux-VERSION
#   make deb             the Debian package ddemux-dkms_VERSION_all.deb, in
#                        DEBDIR (default: here) (scripts/deb.sh)
#   make kunit           the KUnit suites under UML
#   make style           checkpatch --strict on every source file
#   make clean

KERNELRELEASE ?= $(shell uname -r)
KDIR ?= /lib/modules/$(KERNELRELEASE)/build
DEPMOD ?= depmod
DESTDIR ?=
INSTALL_MOD_PATH ?= $(DESTDIR)

# The release in VERSION; from a git checkout, git describe on top of it
# (a vX.Y.Z tag if there is one, else VERSION-gHASH).
VERSION_FILE := $(shell cat $(CURDIR)/VERSION)
GIT_DESCRIBE := $(shell git -C $(CURDIR) describe --tags --always --dirty --match 'v[0-9]*' 2>/dev/null)
DDEMUX_VERSION ?= $(if $(GIT_DESCRIBE),$(if $(filter v%,$(GIT_DESCRIBE)),$(patsubst v%,%,$(GIT_DESCRIBE)),$(VERSION_FILE)-g$(GIT_DESCRIBE)),$(VERSION_FILE))

# What DKMS needs to build the module, and nothing else.
DKMS_SOURCES := Kbuild Kconfig Makefile dkms.conf $(wildcard ddemux*.c ddemux*.h)
# The DKMS module version (the Debian package passes its own).
DKMS_VERSION ?= $(VERSION_FILE)
DKMS_DIR := $(DESTDIR)/usr/src/ddemux-$(DKMS_VERSION)

# Where make deb writes the package.
DEBDIR ?= $(CURDIR)

all: module

module:
	@test -d $(KDIR) || { echo "no kernel build tree at $(KDIR): install linux-headers-$(KERNELRELEASE) or pass KDIR=" >&2; exit 1; }
	$(MAKE) -C $(KDIR) M=$(CURDIR) DDEMUX_VERSION=$(DDEMUX_VERSION) modules

install: module
	$(MAKE) -C $(KDIR) M=$(CURDIR) INSTALL_MOD_PATH=$(INSTALL_MOD_PATH) modules_install
	$(DEPMOD) $(if $(INSTALL_MOD_PATH),-b $(INSTALL_MOD_PATH)) -a $(KERNELRELEASE)

load: module
	@test -e /sys/module/ddemux && { echo "ddemux is already loaded (make unload first)" >&2; exit 1; } || true
	insmod $(CURDIR)/ddemux.ko $(PARAMS)
	@dmesg | grep 'ddemux: loaded' | tail -n1

unload:
	rmmod ddemux

dkms-install:
	install -d $(DKMS_DIR)
	for f in $(DKMS_SOURCES); do install -m 0644 $$f $(DKMS_DIR)/$$f; done
	echo $(DDEMUX_VERSION) >$(DKMS_DIR)/VERSION
	sed -i 's/@VERSION@/$(DKMS_VERSION)/' $(DKMS_DIR)/dkms.conf
	@echo "next: dkms add -m ddemux -v $(DKMS_VERSION) && dkms install -m ddemux -v $(DKMS_VERSION)"

clean:
	$(MAKE) -C $(KDIR) M=$(CURDIR) clean 2>/dev/null || \
		rm -rf *.o *.ko *.mod *.mod.c .*.cmd kunit/*.o kunit/.*.cmd modules.order Module.symvers .tmp_versions

version:
	@echo $(DDEMUX_VERSION)

check:
	scripts/check.sh

soak:
	scripts/soak.sh

bench:
	scripts/bench/run.sh

demo:
	scripts/demo.sh

deb:
	DEBDIR="$(DEBDIR)" scripts/deb.sh

kunit:
	scripts/kunit.sh

style:
	scripts/style.sh

.PHONY: all module install load unload dkms-install deb clean version check soak bench demo kunit style
