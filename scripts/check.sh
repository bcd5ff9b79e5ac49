#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# make check: everything CI runs, in order, ending with "N passed, N failed".
#
#   1. builds: ddemux.ko against Debian's 6.1 and 6.12 headers with W=1
#      (any warning fails), sparse over the 6.1 build, checkpatch --strict
#   2. KUnit under UML (scripts/kunit.sh): every test case counts
#
# Installs the Debian packages it needs when run as root.  Kernel trees,
# images and builds live in $DDEMUX_CACHE (~/.cache/ddemux), never in the
# repo.
set -uo pipefail
. "$(dirname "$0")/lib.sh"

PASSED=0
FAILED=0
FAILURES=()

# step NAME CMD...: run one check, count it, keep its log.
step() {
	local name=$1 logf
	shift
	logf=$DDEMUX_CACHE/logs/$name.log
	mkdir -p "$DDEMUX_CACHE/logs"
	log "$name"
	if "$@" >"$logf" 2>&1; then
		PASSED=$((PASSED + 1))
		printf '    ok   %s\n' "$name"
	else
		FAILED=$((FAILED + 1))
		FAILURES+=("$name")
		printf '    FAIL %s (log: %s)\n' "$name" "$logf"
		tail -n 30 "$logf" | sed 's/^/    | /'
	fi
}

# build_against SERIES [MAKEARGS...]: build a copy of the sources against
# the newest installed headers of SERIES; any compiler warning fails.
build_against() {
	local series=$1 kdir dir out
	shift
	kdir=$(headers_dir "$series") || { echo "no $series headers"; return 1; }
	dir=$DDEMUX_CACHE/build/$series
	rm -rf "$dir"
	mkdir -p "$dir/kunit"
	(cd "$DDEMUX_ROOT" && cp Kbuild Kconfig Makefile VERSION ./*.c ./*.h "$dir/")
	echo "headers: $kdir"
	out=$(make -C "$kdir" M="$dir" W=1 \
		DDEMUX_VERSION="$(cd "$DDEMUX_ROOT" && git describe --tags --always --dirty 2>/dev/null || cat VERSION)" \
		"$@" modules 2>&1)
	local rc=$?
	echo "$out"
	((rc == 0)) || return 1
	[[ -f $dir/ddemux.ko ]] || { echo "no ddemux.ko"; return 1; }
	if grep -E 'warning:|error:' <<<"$out" | grep -v 'Skipping BTF'; then
		echo "compiler or checker warnings (above)"
		return 1
	fi
}

cd "$DDEMUX_ROOT"
need_pkgs gcc make flex bison bc python3 perl xz-utils kmod libelf-dev \
	sparse linux-headers-amd64 linux-headers-6.12-amd64 linux-source-6.1

step build-6.1 build_against 6.1
step build-6.12 build_against 6.12
step sparse-6.1 build_against 6.1 C=2 CF="-D__CHECK_ENDIAN__"
step checkpatch scripts/style.sh

# KUnit: count its test cases, not the step.
log "kunit"
kres=$(mktemp)
if KUNIT_RESULT=$kres scripts/kunit.sh >"$DDEMUX_CACHE/logs/kunit.log" 2>&1; then
	printf '    ok   kunit\n'
else
	printf '    FAIL kunit (log: %s)\n' "$DDEMUX_CACHE/logs/kunit.log"
	grep -aE 'FAILED|CRASHED|error|Error|not ok' "$DDEMUX_CACHE/logs/kunit.log" | head -40 | sed 's/^/    | /'
	FAILURES+=(kunit)
fi
read -r kp kf <"$kres" 2>/dev/null || { kp=0; kf=1; }
rm -f "$kres"
grep -a 'Testing complete' "$DDEMUX_CACHE/logs/kunit.log" | sed 's/^/    /'
PASSED=$((PASSED + kp))
FAILED=$((FAILED + kf))

echo
((${#FAILURES[@]})) && echo "failed steps: ${FAILURES[*]}"
echo "$PASSED passed, $FAILED failed"
((FAILED == 0))
