# SPDX-License-Identifier: GPL-2.0-only
# shellcheck shell=bash
#
# Shared by the scripts/ harnesses: paths, logging, Debian packages.

DDEMUX_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DDEMUX_CACHE=${DDEMUX_CACHE:-$HOME/.cache/ddemux}
export DDEMUX_ROOT DDEMUX_CACHE

log() { printf '>>> %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# need_pkgs PKG...: install the Debian packages that are missing, as root;
# otherwise print the exact command and fail.
need_pkgs() {
	local missing=() p
	for p; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
			grep -q 'install ok installed' || missing+=("$p")
	done
	((${#missing[@]})) || return 0
	if [[ $(id -u) != 0 ]]; then
		die "missing packages; run: sudo apt-get install -y --no-install-recommends ${missing[*]}"
	fi
	log "installing ${missing[*]}"
	if ! DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
		"${missing[@]}" >"$DDEMUX_CACHE/apt.log" 2>&1; then
		DEBIAN_FRONTEND=noninteractive apt-get update >>"$DDEMUX_CACHE/apt.log" 2>&1 || true
		DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
			"${missing[@]}" >>"$DDEMUX_CACHE/apt.log" 2>&1 ||
			{ tail -20 "$DDEMUX_CACHE/apt.log" >&2; die "apt-get install failed"; }
	fi
}

# headers_dir SERIES: the newest installed Debian amd64 headers of a
# kernel series ("6.1", "6.12").
headers_dir() {
	local d
	d=$(ls -d /usr/src/linux-headers-"$1".*-amd64 2>/dev/null | sort -V | tail -n1)
	[[ -n $d ]] || return 1
	echo "$d"
}

# release_of SERIES: the newest installed Debian amd64 kernel release.
release_of() {
	local v
	v=$(ls /boot/vmlinuz-"$1".*-amd64 2>/dev/null | sort -V | tail -n1)
	[[ -n $v ]] || return 1
	echo "${v#/boot/vmlinuz-}"
}

# kernel_pkgs SERIES: Debian's image and headers packages of a series.
kernel_pkgs() {
	case $1 in
	6.1) echo linux-image-amd64 linux-headers-amd64 ;;
	*) echo "linux-image-$1-amd64" "linux-headers-$1-amd64" ;;
	esac
}

# tally: add the "test|stock|selftest NAME: PASS|FAIL" lines on stdin to
# the caller's PASSED and FAILED; input with no such line counts as one
# failure.  False when anything failed.
tally() {
	local lines p f
	lines=$(grep -aE '^(test|stock|selftest) [^ ]+: (PASS|FAIL)')
	p=$(grep -acE ': PASS' <<<"$lines")
	f=$(grep -acE ': FAIL' <<<"$lines")
	((p + f)) || f=1
	PASSED=$((PASSED + p))
	FAILED=$((FAILED + f))
	((f == 0))
}

# module_version: what modinfo shows (see the Makefile).
module_version() {
	make -s --no-print-directory -C "$DDEMUX_ROOT" version
}

mkdir -p "$DDEMUX_CACHE"
