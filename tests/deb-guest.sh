#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# The Debian package the way an administrator uses it, run as root INSIDE
# the test VM (scripts/vm.sh), whose writes are private to the guest.
# tests/deb.sh boots two guests, as a host that installs the package and
# then reboots into its other kernel:
#
#   scripts/vm.sh --kernel 6.1 -- tests/deb-guest.sh install DEB STATE
#   scripts/vm.sh --kernel 6.12 -- tests/deb-guest.sh reboot STATE DEB NEWER_DEB
#
# install (boots 6.1, every installed kernel's headers visible):
#   apt install ./DEB: DKMS must build and install the module for every
#   kernel in /lib/modules that has headers, and load nothing; the boot file
#   is commented out and the /etc files are conffiles; modprobe ddemux
#   loads the module DKMS built for the running kernel; one vetoed bind
#   (tests/ddemux_tests.py -k udp4_reuseaddr_cobind: uid 1000 binds UDP
#   with SO_REUSEADDR, uid 1001's same bind fails with EADDRINUSE);
#   modprobe -r.  Then every file the installation created or changed
#   (under /etc, /lib/modules, /lib/udev, /usr/src, /usr/share/doc,
#   /var/lib/dkms, /var/lib/dpkg, /var/cache/debconf) is saved to the tar
#   file STATE: the host's disk across the reboot.
# reboot (boots 6.12): STATE restored; modprobe ddemux loads the module the
#   package built for this kernel, the same vetoed bind, modprobe -r; apt
#   purge: no source, no DKMS tree, no module, no /etc file, no udev rule,
#   no dpkg record left.  Then, on this host with every kernel's headers
#   removed (each DKMS build takes minutes under TCG, and a host without
#   headers must install too): dpkg -i DEB installs, builds nothing and
#   asks DKMS for every kernel in /lib/modules, not only the running and
#   the newest one; the administrator edits /etc/sysctl.d/60-ddemux.conf
#   and /etc/modprobe.d/ddemux.conf, dpkg -i NEWER_DEB upgrades, both edits
#   survive and only NEWER_DEB's DKMS version is left; dpkg --purge leaves
#   nothing.
#
# One line per check, "test deb-NAME: PASS|FAIL (why)"; apt's and DKMS's
# output is shown indented.
set -u
phase=$1
shift
cd "$(dirname "$0")/.." || exit 1
k=$(uname -r)
series=$(cut -d. -f1,2 <<<"$k")
rc=0
export DEBIAN_FRONTEND=noninteractive
# What the package installs, and what DKMS and dpkg change.
STATE_DIRS=(/etc "$(realpath /lib/modules)" "$(realpath /lib/udev)" /usr/src
	/usr/share/doc /var/lib/dkms /var/lib/dpkg /var/cache/debconf)

pass() { echo "test deb-$1: PASS${2:+ ($2)}"; }
fail() {
	echo "test deb-$1: FAIL ($2)"
	rc=1
}
indent() { sed 's/^/    | /'; }

# check NAME WHY CMD...: one test line for CMD's status.
check() {
	local name=$1 why=$2
	shift 2
	if "$@"; then
		pass "$name"
	else
		fail "$name" "$why"
	fi
}

# headers_kernels: the kernels DKMS can build for (headers installed).
headers_kernels() {
	local d
	for d in /lib/modules/*; do
		[[ -e $d/build/include ]] && echo "${d##*/}"
	done
}

# installed_for VERSION KERNEL: DKMS installed VERSION's module for KERNEL.
installed_for() {
	dkms status -m ddemux -v "$1" -k "$2" | grep -q ': installed' &&
		compgen -G "/lib/modules/$2/updates/dkms/ddemux.ko*" >/dev/null
}

# run CMD...: CMD, timed, its output indented and kept in /tmp/out.
run() {
	local t0=$SECONDS st
	"$@" >/tmp/out 2>&1
	st=$?
	grep -vE '^(WARNING: apt does not have a stable CLI|$)' /tmp/out |
		sed 's/(Reading database \.\.\. [0-9]*%//g' | indent
	echo "    ($*: $((SECONDS - t0)) s)"
	return $st
}

# apt_install DEB: apt install ./DEB, from a copy _apt can read.
apt_install() {
	cp "$1" /tmp/
	run apt install -y "/tmp/${1##*/}"
}

# smoke VERSION: modprobe loads VERSION's DKMS module for this kernel, one
# vetoed bind, modprobe -r.
smoke() {
	local ver=$1 ko out
	if ! modprobe ddemux; then
		fail "modprobe-$series" "modprobe ddemux"
		return
	fi
	ko=$(modinfo -n ddemux)
	if [[ $ko == /lib/modules/$k/updates/dkms/ddemux.ko* && -e /sys/module/ddemux &&
		$(modinfo -F version ddemux) == "$(cat "/usr/src/ddemux-$ver/VERSION")" ]] &&
		grep -q '^binds_checked' /proc/net/ddemux/stats; then
		pass "modprobe-$series" "$ko"
	else
		fail "modprobe-$series" "loaded $ko, not the DKMS module of $ver for $k"
	fi
	if out=$(python3 tests/ddemux_tests.py --ko "$ko" -k udp4_reuseaddr_cobind 2>&1) &&
		grep -qx 'test udp4_reuseaddr_cobind: PASS' <<<"$out"; then
		pass "smoke-$series" "uid 1001's co-bind of uid 1000's UDP port: EADDRINUSE"
	else
		fail "smoke-$series" "the vetoed bind"
	fi
	indent <<<"$out"
	check "unload-$series" "modprobe -r ddemux" \
		sh -c 'modprobe -r ddemux && ! test -e /sys/module/ddemux'
}

# nothing_left: print what the package left behind, if anything.
nothing_left() {
	ls -d /usr/src/ddemux-* /var/lib/dkms/ddemux /usr/share/doc/ddemux-dkms \
		/etc/modules-load.d/ddemux.conf /etc/modprobe.d/ddemux.conf \
		/etc/sysctl.d/60-ddemux.conf /lib/udev/rules.d/90-ddemux.rules \
		2>/dev/null
	find /lib/modules -name 'ddemux.ko*' 2>/dev/null
	grep -l ddemux /lib/modules/*/modules.dep 2>/dev/null
	dpkg-query -W -f='${Status}\n' ddemux-dkms 2>/dev/null | grep -v 'not-installed'
}

# purge NAME CMD...: CMD purges the package; then nothing may be left.
purge() {
	local name=$1 left
	shift
	run "$@" || fail "$name" "$*"
	left=$(nothing_left)
	if [[ -z $left ]]; then
		pass "$name"
	else
		fail "$name" "left behind: $(tr '\n' ' ' <<<"$left")"
	fi
}

install_phase() {
	local deb=$1 state=$2 ver kernels bad='' conffiles want
	ver=$(dpkg-deb -f "$deb" Version)
	kernels=$(headers_kernels)
	echo "kernel $k; headers for: $(tr '\n' ' ' <<<"$kernels")"
	: >/tmp/before-install
	if apt_install "$deb" &&
		dpkg-query -W -f='${Status}' ddemux-dkms | grep -qx 'install ok installed'; then
		pass install "$ver"
	else
		fail install "apt install ./${deb##*/}"
		return
	fi
	for kk in $kernels; do
		installed_for "$ver" "$kk" || bad+=" $kk"
	done
	dkms status -m ddemux | indent
	if [[ -z $kernels || -n $bad ]]; then
		fail built "not installed by DKMS for:${bad:- (no kernel with headers)}"
	else
		pass built "$(wc -w <<<"$kernels") kernels"
	fi
	check not-loaded "installing the package loaded the module" \
		test ! -e /sys/module/ddemux
	check boot-opt-in "/etc/modules-load.d/ddemux.conf missing or not commented out" \
		sh -c 'test -f /etc/modules-load.d/ddemux.conf &&
			! grep -qvE "^[[:space:]]*(#|\$)" /etc/modules-load.d/ddemux.conf'
	conffiles=$(dpkg-query -W -f='${Conffiles}' ddemux-dkms | awk '{ print $1 }' |
		sort | tr '\n' ' ')
	want='/etc/modprobe.d/ddemux.conf /etc/modules-load.d/ddemux.conf /etc/sysctl.d/60-ddemux.conf '
	check conffiles "conffiles: $conffiles" test "$conffiles" == "$want"
	smoke "$ver"

	# The disk, as the next boot finds it.
	find "${STATE_DIRS[@]}" -xdev -cnewer /tmp/before-install -print0 2>/dev/null |
		tar --null --no-recursion -T - -cpf "$state" 2>/dev/null
	echo "    (saved $(tar -tf "$state" | wc -l) changed files for the reboot)"
}

reboot_phase() {
	local state=$1 deb=$2 newer=$3 ver nver kk bad=''
	ver=$(dpkg-deb -f "$deb" Version)
	nver=$(dpkg-deb -f "$newer" Version)
	tar -xpf "$state" -C / || fail reboot "restoring $state"
	if [[ $(dpkg-query -W -f='${Version}' ddemux-dkms 2>/dev/null) == "$ver" ]] &&
		installed_for "$ver" "$k"; then
		pass reboot "$k: DKMS module of $ver installed"
	else
		fail reboot "$k: no DKMS module of $ver after the reboot"
		dkms status -m ddemux | indent
	fi
	smoke "$ver"
	purge purge apt purge -y ddemux-dkms

	# A host without headers; an upgrade keeps the administrator's edits.
	# dpkg -i: what apt adds was checked above, and under TCG it costs.
	# The package asks DKMS for every kernel, not only for the running
	# one and the newest (DKMS's default), which here are the same.
	rm -f /lib/modules/*/build
	if run dpkg -i "$deb" &&
		dkms status -m ddemux -v "$ver" | grep -q ': added' &&
		! compgen -G '/lib/modules/*/updates/dkms/ddemux.ko*' >/dev/null; then
		pass no-headers "installed, DKMS built nothing"
	else
		fail no-headers "dpkg -i without headers"
	fi
	for kk in /lib/modules/*; do
		grep -q "^Building for .*${kk##*/}" /tmp/out || bad+=" ${kk##*/}"
	done
	check all-kernels "the package did not ask DKMS to build for:$bad" test -z "$bad"
	echo 'net.ddemux.mode = 1' >>/etc/sysctl.d/60-ddemux.conf
	echo 'options ddemux mode=1' >>/etc/modprobe.d/ddemux.conf
	if run dpkg -i "$newer" &&
		[[ $(dpkg-query -W -f='${Version}' ddemux-dkms) == "$nver" ]]; then
		pass upgrade "$ver -> $nver"
	else
		fail upgrade "apt install of $nver over $ver"
	fi
	check upgrade-keeps-conffiles "the administrator's edits are gone" \
		sh -c "tail -n1 /etc/sysctl.d/60-ddemux.conf | grep -qx 'net.ddemux.mode = 1' &&
			tail -n1 /etc/modprobe.d/ddemux.conf | grep -qx 'options ddemux mode=1'"
	dkms status -m ddemux | indent
	check upgrade-dkms "DKMS still has $ver, or not $nver" \
		sh -c "test ! -e '/usr/src/ddemux-$ver' && test -d '/usr/src/ddemux-$nver' &&
			test \"\$(ls /var/lib/dkms/ddemux)\" = '$nver'"
	purge purge-upgraded dpkg --purge ddemux-dkms
}

case $phase in
install) install_phase "$@" ;;
reboot) reboot_phase "$@" ;;
*)
	echo "usage: $0 install DEB STATE | reboot STATE DEB NEWER_DEB" >&2
	exit 2
	;;
esac
exit $rc
