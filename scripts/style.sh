#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# checkpatch.pl --strict on the given files (default: every C source),
# from the linux-source tree the KUnit runner prepared or from the
# linux-source package.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

cd "$DDEMUX_ROOT"
if ! (($#)); then
	for f in ./*.c ./*.h kunit/*.c kunit/*.h; do
		# not kbuild's generated file, when the module was built in place
		[[ $f == *.mod.c ]] || set -- "$@" "$f"
	done
fi

checkpatch=
for d in "$DDEMUX_CACHE"/kunit/linux-source-*; do
	[[ -x $d/scripts/checkpatch.pl ]] && checkpatch=$d/scripts/checkpatch.pl
done
if [[ -z $checkpatch ]]; then
	need_pkgs linux-source-6.1 xz-utils perl
	mkdir -p "$DDEMUX_CACHE/checkpatch"
	tar -C "$DDEMUX_CACHE/checkpatch" -xJf /usr/src/linux-source-6.1.tar.xz \
		--wildcards 'linux-source-6.1/scripts/checkpatch.pl' \
		'linux-source-6.1/scripts/spelling.txt' \
		'linux-source-6.1/scripts/const_structs.checkpatch'
	checkpatch=$DDEMUX_CACHE/checkpatch/linux-source-6.1/scripts/checkpatch.pl
fi

# ddemux_compat.h is where kernel versions are compared, by design (see
# its header); everywhere else LINUX_VERSION_CODE stays forbidden.
rc=0
for f; do
	ignore=
	[[ $(basename "$f") == ddemux_compat.h ]] && ignore=--ignore=LINUX_VERSION_CODE
	"$checkpatch" --no-tree --strict --terse --show-types $ignore -f "$f" || rc=1
done
exit $rc
