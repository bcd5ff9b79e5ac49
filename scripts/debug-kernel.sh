#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Build the debug kernel: Debian's linux-source-6.1, x86_64 allnoconfig
# plus scripts/debug-kernel.config (KASAN, lockdep, PROVE_RCU, kmemleak,
# debugobjects, ...; everything vm.sh and the suite need built in).
#
#   scripts/debug-kernel.sh [--config-only]
#
# Prints the build directory last: it has vmlinux (ELF, bootable through
# PVH), arch/x86/boot/bzImage and what "make -C DIR M=... modules" needs.
# Boot it with "scripts/vm.sh --kernel-image DIR".
#
# Everything lives in $DDEMUX_CACHE/debug-kernel: one extracted source tree
# per package version, and one out-of-tree (O=) build per package version
# and fragment, so a second run is instant and a change of either rebuilds.
# A build that was interrupted resumes where it stopped.  --config-only
# stops after generating and checking the .config.  Installs the Debian
# packages it needs when run as root.
set -euo pipefail
# shellcheck source=scripts/lib.sh disable=SC1091
. "$(dirname "$0")/lib.sh"

readonly SERIES=6.1
readonly TARBALL=/usr/src/linux-source-$SERIES.tar.xz
readonly FRAGMENT=$DDEMUX_ROOT/scripts/debug-kernel.config
readonly BASE=$DDEMUX_CACHE/debug-kernel
readonly SRC=$BASE/linux-source-$SERIES

config_only=0
case ${1-} in
--config-only) config_only=1 ;;
'') ;;
*) die "usage: $0 [--config-only]" ;;
esac

need_pkgs "linux-source-$SERIES" gcc make flex bison bc libelf-dev \
	libssl-dev xz-utils
[[ -f $TARBALL ]] || die "$TARBALL missing"

pkgver=$(dpkg-query -W -f='${Version}' "linux-source-$SERIES")
pkgkey=$(tr -c 'A-Za-z0-9.+\n-' _ <<<"$pkgver")
build=$BASE/build-$pkgkey-$(sha256sum "$FRAGMENT" | cut -c1-12)

mkdir -p "$BASE"
# Parallel runs: one builds, the others wait for it.
exec {lock}>"$BASE/.lock"
flock "$lock"

if [[ -f $build/.ddemux-done && $config_only == 0 ]]; then
	echo "$build"
	exit 0
fi

# ---- the sources, once per package version ----------------------------

if [[ $(cat "$SRC/.ddemux-pkgver" 2>/dev/null) != "$pkgver" ]]; then
	log "extracting linux-source-$SERIES $pkgver"
	rm -rf "$SRC" "$BASE/extract.tmp"
	mkdir -p "$BASE/extract.tmp"
	tar -C "$BASE/extract.tmp" -xJf "$TARBALL"
	mv "$BASE/extract.tmp/linux-source-$SERIES" "$SRC"
	rm -rf "$BASE/extract.tmp"
	echo "$pkgver" >"$SRC/.ddemux-pkgver"
fi

# ---- the configuration ----------------------------------------------

# A new fragment: start from the build of the previous one, if any; kbuild
# recompiles what the changed options affect.
if [[ ! -d $build ]]; then
	# shellcheck disable=SC2012	# our own names: no odd characters
	prev=$(ls -dt "$BASE/build-$pkgkey"-* 2>/dev/null | head -n 1 || true)
	if [[ -n $prev ]]; then
		log "starting from ${prev##*/}"
		rm -f "$prev/.ddemux-done"
		mv "$prev" "$build"
	fi
fi
mkdir -p "$build"
kmake() {
	make -C "$SRC" O="$build" ARCH=x86_64 "$@"
}

log "configuring $build"
# allnoconfig with the fragment as KCONFIG_ALLCONFIG; merge_config.sh
# writes a scratch file into the current directory, our own tree.
(cd "$SRC" && ARCH=x86_64 scripts/kconfig/merge_config.sh -n -O "$build" \
	"$FRAGMENT") >"$build/config.log" 2>&1 ||
	{ tail -n 30 "$build/config.log" >&2; die "merge_config.sh failed"; }
kmake olddefconfig >>"$build/config.log" 2>&1 ||
	{ tail -n 30 "$build/config.log" >&2; die "olddefconfig failed"; }

# allnoconfig silently drops what a missing dependency forbids: every
# line of the fragment must be in the final .config as written.
missing=()
while read -r line; do
	case $line in
	CONFIG_*=*)
		grep -qxF -- "$line" "$build/.config" || missing+=("$line")
		;;
	"# CONFIG_"*" is not set")
		opt=${line#\# }
		opt=${opt%% *}
		! grep -q "^$opt=" "$build/.config" || missing+=("$line")
		;;
	esac
done <"$FRAGMENT"
if ((${#missing[@]})); then
	for line in "${missing[@]}"; do
		opt=${line#\# }
		opt=${opt%%[= ]*}
		got=$(grep -E "^$opt=|^# $opt is not set" "$build/.config" || true)
		printf 'not in .config: %s (got: %s)\n' "$line" "${got:-nothing}" >&2
	done
	die "${#missing[@]} option(s) of $FRAGMENT did not take effect"
fi
log "all $(grep -cE '^(CONFIG_|# CONFIG_.* is not set)' "$FRAGMENT") options of the fragment are set"

if ((config_only)); then
	echo "$build"
	exit 0
fi

# ---- the build --------------------------------------------------------

jobs=$(nproc)
log "building with $jobs jobs (log: $build/build.log)"
start=$(date +%s)
if ! kmake -j"$jobs" all >"$build/build.log" 2>&1; then
	tail -n 40 "$build/build.log" >&2
	die "the kernel build failed (log: $build/build.log)"
fi
for f in vmlinux arch/x86/boot/bzImage Module.symvers; do
	[[ -f $build/$f ]] || die "the build made no $f"
done
took=$(($(date +%s) - start))
echo "$took" >"$build/.ddemux-build-seconds"
log "built $(<"$build/include/config/kernel.release") in ${took} s"
touch "$build/.ddemux-done"

# Builds of other package versions or fragments are stale now.
find "$BASE" -mindepth 1 -maxdepth 1 -type d -name 'build-*' \
	! -path "$build" -exec rm -rf {} +

echo "$build"
