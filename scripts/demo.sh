#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# make demo: ddemux doing its job, with real sockets and real users.
#
#   make demo                    in a VM booting Debian's 6.1 kernel (default)
#   make demo DEMO_KERNEL=6.12   ... or its 6.12 kernel
#   make demo DEMO_ON=host       on this machine (root; it must be able to
#                                load modules; ports 5400-5460 must be free)
#
# Installs the Debian packages it needs (as root; otherwise prints the
# apt-get line), builds the module for the kernel the story runs on, and
# plays scripts/demo-story.py, which ends with a one-line verdict.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

on=${DEMO_ON:-vm}
series=${DEMO_KERNEL:-6.1}
cd "$DDEMUX_ROOT"
t0=$(date +%s)
color=0
[[ -t 1 ]] && color=1
export DEMO_COLOR=$color

# build_for RELEASE KDIR: the module, built in the cache, its path printed.
build_for() {
	local dir=$DDEMUX_CACHE/demo/$1
	rm -rf "$dir"
	mkdir -p "$dir"
	cp Kbuild Kconfig Makefile VERSION ./*.c ./*.h "$dir/"
	make -s -C "$2" M="$dir" DDEMUX_VERSION="$(module_version)" modules >&2
	echo "$dir/ddemux.ko"
}

case $on in
vm)
	# shellcheck disable=SC2046	# two package names
	need_pkgs gcc make python3 kmod cpio xz-utils zstd qemu-system-x86 \
		qemu-system-data busybox-static iproute2 procps util-linux \
		$(kernel_pkgs "$series")
	release=$(release_of "$series") || die "no $series kernel installed"
	log "building ddemux.ko for $release"
	ko=$(build_for "$release" "/usr/src/linux-headers-$release")
	log "booting $release in qemu (TCG) and playing the story"
	# dmesg -n 1: kernel lines on the console would interleave with the
	# story, which quotes the ones that matter
	scripts/vm.sh --kernel "$release" --timeout 600 -- env DEMO_COLOR="$color" \
		sh -c 'dmesg -n 1 && exec python3 scripts/demo-story.py --ko "$1"' \
		sh "$ko"
	;;
host)
	[[ $(id -u) == 0 ]] || die "DEMO_ON=host needs root (sudo make demo DEMO_ON=host)"
	[[ -d /lib/modules/$(uname -r)/build ]] ||
		die "no headers for $(uname -r): apt-get install linux-headers-$(uname -r)"
	ko=$(build_for "$(uname -r)" "/lib/modules/$(uname -r)/build")
	python3 scripts/demo-story.py --ko "$ko" --port 5400
	;;
*)
	die "DEMO_ON is vm or host, not $on"
	;;
esac
log "demo done in $(($(date +%s) - t0)) s"
