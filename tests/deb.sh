#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# The Debian package (make deb), the way an administrator gets and uses it
# -- run on the host, as root; everything it installs goes into VMs whose
# writes are private (scripts/vm.sh):
#
#   tests/deb.sh
#
# 1. make deb, into $DDEMUX_CACHE/deb-test, and a second package, one
#    version newer, for the upgrade test;
# 2. lintian at its default level: no error, no warning;
# 3. a VM booting Debian's 6.1 kernel installs the package with
#    apt install ./ddemux-dkms_*.deb (DKMS builds it for 6.1 and 6.12),
#    loads it, makes one bind it must veto, and keeps its disk; a VM booting
#    Debian's 6.12 kernel starts from that disk, loads the module the
#    package built for 6.12, the same veto, purges the package and checks
#    that nothing is left, then an upgrade keeps the administrator's edits
#    of the conffiles (tests/deb-guest.sh says exactly what is checked).
#
# One line per check, "test deb-NAME: PASS|FAIL", counted by
# scripts/check.sh; logs in $DDEMUX_CACHE/deb-test.
set -u
. "$(dirname "$0")/../scripts/lib.sh"
cd "$DDEMUX_ROOT" || exit 1

T=$DDEMUX_CACHE/deb-test
rc=0
rm -rf "$T"
mkdir -p "$T"

pass() { echo "test deb-$1: PASS${2:+ ($2)}"; }
fail() {
	echo "test deb-$1: FAIL ($2)"
	rc=1
}

# guest SERIES ARGS...: tests/deb-guest.sh ARGS in a VM booting SERIES's
# kernel; its result lines, and one failure if the VM itself failed.
guest() {
	local series=$1 release out st=0 t0=$SECONDS
	shift
	release=$(release_of "$series") || {
		fail "vm-$series" "no $series kernel"
		return 1
	}
	out=$T/vm-$series
	mkdir -p "$out"
	scripts/vm.sh --kernel "$release" --timeout 2400 --out "$out" -- \
		tests/deb-guest.sh "$@" >"$T/vm-$series.log" 2>&1 || st=$?
	grep -aE '^test deb-' "$out/output.log"
	grep -aqE '^test deb-[^ ]+: FAIL' "$out/output.log" && rc=1
	case $st in
	0) ;;
	3) fail "vm-$series" "kernel warnings in the guest log: $T/vm-$series.log" ;;
	124) fail "vm-$series" "timed out" ;;
	*) grep -aqE '^test deb-[^ ]+: FAIL' "$out/output.log" ||
		fail "vm-$series" "exit status $st, log $T/vm-$series.log" ;;
	esac
	echo "deb: the $series guest took $((SECONDS - t0)) s"
	return $st
}

# 1. the packages
if deb=$(make -s deb DEBDIR="$T" 2>"$T/build.log" | tail -n1) && [[ -f $deb ]]; then
	ver=$(dpkg-deb -f "$deb" Version)
	pass build "${deb##*/}"
else
	fail build "make deb: $T/build.log"
	tail -n 20 "$T/build.log" | sed 's/^/    | /'
	exit 1
fi
newer=$(DDEMUX_DEB_VERSION=$ver+upgrade make -s deb DEBDIR="$T" 2>>"$T/build.log" |
	tail -n1)
[[ -f $newer ]] || fail build-newer "make deb DDEMUX_DEB_VERSION=$ver+upgrade"
# scripts/deb.sh reuses its build directory: keep this one's.
mv "$DDEMUX_CACHE/deb/build" "$T/build"

# 2. lintian.  While packaging/debian/maintainer is the project's
# placeholder on localhost, that address is the one thing lintian may
# report (bogus-mail-host): see packaging/debian/maintainer.
suppress=()
if [[ $(dpkg-deb -f "$deb" Maintainer) == *@localhost\> ]]; then
	suppress=(--suppress-tags "bogus-mail-host,bogus-mail-host-in-debian-changelog")
	echo "deb: the maintainer address is the placeholder $(dpkg-deb -f "$deb" Maintainer); lintian's bogus-mail-host tags not counted"
fi
out=$(lintian --fail-on error,warning "${suppress[@]}" "$deb" 2>&1)
st=$?
out=$(grep -v 'running with root privileges' <<<"$out")
if ((st == 0)) && [[ -z $out ]]; then
	pass lintian
else
	fail lintian "status $st: $(tr '\n' ' ' <<<"$out")"
fi

# 3. install on 6.1, reboot into 6.12
state=$T/vm-6.1/state.tar
guest 6.1 install "$deb" "$state"
if [[ -s $state ]]; then
	guest 6.12 reboot "$state" "$deb" "$newer"
else
	fail reboot "the 6.1 guest saved no disk state"
fi
exit $rc
