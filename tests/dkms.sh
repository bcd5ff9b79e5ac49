#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# DKMS, the way an administrator installs ddemux, against Debian's
# installed headers -- run on the host, as root, with DKMS's trees in
# $DDEMUX_CACHE/dkms so that /usr/src, /var/lib/dkms/ddemux and
# /lib/modules stay untouched (DKMS may create its module signing key in
# /var/lib/dkms, as it does on any Debian host):
#
#   tests/dkms.sh KERNEL...
#
# make dkms-install, dkms add, dkms build and dkms install for every
# KERNEL, then modinfo of each module built.  One line per step, "test
# dkms-STEP: PASS|FAIL"; for each kernel the last line "module KERNEL
# PATH" names the installed module, which scripts/check.sh then loads in
# that kernel's VM.
set -u
. "$(dirname "$0")/../scripts/lib.sh"
cd "$DDEMUX_ROOT"

T=$DDEMUX_CACHE/dkms
version=$(cat VERSION)
dkms=(dkms --dkmstree "$T/tree" --sourcetree "$T/root/usr/src"
	--installtree "$T/lib")
rc=0
modules=()

step() {
	local name=$1 out
	shift
	if out=$("$@" 2>&1); then
		echo "test dkms-$name: PASS"
	else
		echo "test dkms-$name: FAIL"
		sed 's/^/    | /' <<<"$out" | tail -n 25
		rc=1
	fi
}

# The sources DKMS gets: the module's, and nothing else (no tests, no
# scripts), and dkms.conf with its version filled in.
check_sources() {
	local dir=$T/root/usr/src/ddemux-$version extra
	extra=$(cd "$dir" && ls -A | grep -vxE 'Kbuild|Kconfig|Makefile|dkms.conf|VERSION|ddemux[a-z0-9_]*\.[ch]')
	[[ -z $extra ]] || { echo "unexpected files: $extra"; return 1; }
	grep -q "^PACKAGE_VERSION=\"$version\"\$" "$dir/dkms.conf"
}

# modinfo: the version from git describe, every parameter with its
# default and range, licence, description, author.
check_modinfo() {
	local info p
	info=$(modinfo "$1") || return 1
	echo "$info"
	grep -qx "version: *$(cat "$T/root/usr/src/ddemux-$version/VERSION")" <<<"$info" || return 1
	grep -qx 'license: *GPL' <<<"$info" || return 1
	grep -q '^description: ' <<<"$info" || return 1
	grep -q '^author: ' <<<"$info" || return 1
	for p in mode domain egress max_entries; do
		grep -qE "^parm: *$p:.*\([0-9]+-[0-9]+, default [0-9]+\)" <<<"$info" || {
			echo "parameter $p: no range and default"
			return 1
		}
	done
}

rm -rf "$T"
mkdir -p "$T/tree"
for k; do
	mkdir -p "$T/lib/$k"
	ln -s "/usr/src/linux-headers-$k" "$T/lib/$k/build"
done
step install make -s dkms-install DESTDIR="$T/root"
step sources check_sources
step add "${dkms[@]}" add -m ddemux -v "$version"
for k; do
	step "build-$k" "${dkms[@]}" build -m ddemux -v "$version" -k "$k"
	step "install-$k" "${dkms[@]}" install -m ddemux -v "$version" -k "$k" --no-depmod
	ko=$(find "$T/lib/$k" -name 'ddemux.ko*' | head -n1)
	if [[ -n $ko ]]; then
		step "modinfo-$k" check_modinfo "$ko"
		modules+=("module $k $ko")
	fi
done
step status sh -c "${dkms[*]} status -m ddemux | grep -c installed | grep -qx $#"
printf '%s\n' "${modules[@]}"
exit $rc
