#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Run the KUnit suites (ddemux_policy, ddemux_table) under UML.
#
# Prepares a kernel tree from Debian's linux-source-6.1 in the cache
# (outside the repo), copies the module sources in as net/ddemux, wires
# them into net/Kconfig and net/Makefile, and runs kunit.py with
# kunit/.kunitconfig.  The build directory is kept, so a re-run rebuilds
# only what changed.  Exits non-zero on any failed or crashed test and
# writes "passed failed" to $KUNIT_RESULT if that is set.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

SERIES=${KUNIT_SERIES:-6.1}
need_pkgs "linux-source-$SERIES" gcc make flex bison bc python3 xz-utils

tarball=/usr/src/linux-source-$SERIES.tar.xz
[[ -f $tarball ]] || die "$tarball missing"
pkgver=$(dpkg-query -W -f='${Version}' "linux-source-$SERIES")
src=$DDEMUX_CACHE/kunit/linux-source-$SERIES
build=$DDEMUX_CACHE/kunit/build-$SERIES

# A tree per package version: extract once, re-extract on upgrade.
if [[ $(cat "$src/.ddemux-pkgver" 2>/dev/null) != "$pkgver" ]]; then
	log "extracting linux-source-$SERIES $pkgver"
	rm -rf "$src" "$build"
	mkdir -p "$DDEMUX_CACHE/kunit"
	tar -C "$DDEMUX_CACHE/kunit" -xJf "$tarball"
	echo "$pkgver" >"$src/.ddemux-pkgver"
fi

# Wire net/ddemux into the tree (idempotent), as WireGuard's jury-rig does.
grep -q '^source "net/ddemux/Kconfig"' "$src/net/Kconfig" ||
	sed -i '/^if INET$/a source "net/ddemux/Kconfig"' "$src/net/Kconfig"
grep -q 'ddemux/' "$src/net/Makefile" ||
	printf 'obj-$(CONFIG_DDEMUX) += ddemux/\nobj-$(CONFIG_DDEMUX_KUNIT_TEST) += ddemux/\n' \
		>>"$src/net/Makefile"

# Copy, not link: an M= build leaves objects in the repo, and kbuild with
# O= must not find them in the source tree.  A file is copied only when
# its content differs, and then gets a new mtime: unchanged files are not
# rebuilt, and a changed one always is, even when the tree was last
# filled from another checkout with newer timestamps.
dst=$src/net/ddemux
mkdir -p "$dst/kunit"
cd "$DDEMUX_ROOT"
sync_to() {
	local dir=$1 f
	shift
	for f; do
		cmp -s "$f" "$dir/$(basename "$f")" || cp "$f" "$dir/"
	done
}
sync_to "$dst" Kbuild Kconfig VERSION ./*.c ./*.h
sync_to "$dst/kunit" kunit/*.c kunit/*.h kunit/.kunitconfig
# and nothing that is no longer in the tree
for f in "$dst"/*.[ch] "$dst"/kunit/*.[ch]; do
	[[ -e ${f#"$dst"/} ]] || rm -f "$f"
done

cd "$src"
log "kunit.py run (UML, linux-source-$SERIES), build dir $build"
out=$(mktemp)
trap 'rm -f "$out"' EXIT
rc=0
python3 tools/testing/kunit/kunit.py run --kunitconfig "$dst/kunit" \
	--build_dir "$build" --jobs "$(nproc)" --timeout 600 2>&1 | tee "$out" ||
	rc=$?

# "Testing complete. Ran N tests: passed: P, failed: F, ..."
summary=$(grep -a 'Testing complete' "$out" | tail -n1 || true)
passed=$(sed -n 's/.*passed: \([0-9]*\).*/\1/p' <<<"$summary")
failed=$(sed -n 's/.*failed: \([0-9]*\).*/\1/p' <<<"$summary")
crashed=$(sed -n 's/.*crashed: \([0-9]*\).*/\1/p' <<<"$summary")
passed=${passed:-0}
failed=$((${failed:-0} + ${crashed:-0}))
if [[ -z $summary ]]; then
	failed=$((failed + 1))	# the build or the boot failed: count it
	rc=1
fi
# Both suites must have run: a suite that silently vanished is a failure.
for suite in ddemux_policy ddemux_table; do
	if ! grep -aq "# Subtest: $suite\|$suite (.* subtests)\|====== $suite" "$out"; then
		log "suite $suite did not run"
		failed=$((failed + 1))
		rc=1
	fi
done
[[ -n ${KUNIT_RESULT:-} ]] && echo "$passed $failed" >"$KUNIT_RESULT"
log "kunit: $passed passed, $failed failed"
((rc == 0 && failed == 0))
