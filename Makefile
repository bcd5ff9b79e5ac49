# SPDX-License-Identifier: GPL-2.0-only
#
# Front end.  The kbuild description is in Kbuild.
#
#   make                 build ddemux.ko for the running kernel
#   make KERNELRELEASE=6.1.0-56-amd64    ... or for another installed one
#   make KDIR=/path/to/headers           ... or against any build tree
#   make check           the test suite (README); installs what it needs
#   make kunit           the KUnit suites under UML
#   make style           checkpatch --strict on every source file
#   make clean

KERNELRELEASE ?= $(shell uname -r)
KDIR ?= /lib/modules/$(KERNELRELEASE)/build
DDEMUX_VERSION ?= $(shell git -C $(CURDIR) describe --tags --always --dirty 2>/dev/null || cat $(CURDIR)/VERSION)

SOURCES := $(wildcard *.c *.h kunit/*.c)

all: module

module:
	@test -d $(KDIR) || { echo "no kernel build tree at $(KDIR): install linux-headers-$(KERNELRELEASE) or pass KDIR=" >&2; exit 1; }
	$(MAKE) -C $(KDIR) M=$(CURDIR) DDEMUX_VERSION=$(DDEMUX_VERSION) modules

clean:
	$(MAKE) -C $(KDIR) M=$(CURDIR) clean 2>/dev/null || \
		rm -rf *.o *.ko *.mod *.mod.c .*.cmd kunit/*.o kunit/.*.cmd modules.order Module.symvers .tmp_versions

check:
	scripts/check.sh

kunit:
	scripts/kunit.sh

style:
	scripts/style.sh $(SOURCES)

.PHONY: all module clean check kunit style
