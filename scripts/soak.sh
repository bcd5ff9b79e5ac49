#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# make soak: the long runs that do not fit make check.
#
#   1. the debug kernel (scripts/debug-kernel.sh: KASAN, lockdep with
#      PROVE_RCU, DEBUG_ATOMIC_SLEEP, kmemleak, debug objects, full
#      preemption), and ddemux built against it with W=1;
#   2. the integration suite in it (tests/run.sh), with a longer stress
#      and reload run and a longer interface fuzz, under vm.sh --kmemleak:
#      every KASAN, lockdep, RCU or sleep-in-atomic report and every
#      leaked object fails the run;
#   3. libFuzzer over the pure code, DDEMUX_SOAK_FUZZ_SECONDS a target.
#
# Sizes (environment): DDEMUX_STRESS_SECONDS (120), DDEMUX_RELOADS (50),
# DDEMUX_FUZZ_WRITES (20000), DDEMUX_SOAK_FUZZ_SECONDS (600).
# Ends with "N passed, N failed" like make check.
set -uo pipefail
. "$(dirname "$0")/lib.sh"

DDEMUX_STRESS_SECONDS=${DDEMUX_STRESS_SECONDS:-120}
DDEMUX_RELOADS=${DDEMUX_RELOADS:-50}
DDEMUX_FUZZ_WRITES=${DDEMUX_FUZZ_WRITES:-20000}
fuzz_seconds=${DDEMUX_SOAK_FUZZ_SECONDS:-600}

cd "$DDEMUX_ROOT"
PASSED=0
FAILED=0
logs=$DDEMUX_CACHE/logs/soak
mkdir -p "$logs"

log "debug kernel"
if ! kbuild=$(scripts/debug-kernel.sh 2>"$logs/debug-kernel.log" | tail -n 1) ||
	[[ ! -d $kbuild ]]; then
	tail -n 20 "$logs/debug-kernel.log" >&2
	die "the debug kernel did not build (log: $logs/debug-kernel.log)"
fi
echo "    $kbuild"

log "ddemux against it"
mdir=$DDEMUX_CACHE/build/debug
rm -rf "$mdir"
mkdir -p "$mdir"
cp Kbuild Kconfig Makefile VERSION ./*.c ./*.h "$mdir/"
if ! out=$(make -C "$kbuild" M="$mdir" W=1 \
	DDEMUX_VERSION="$(module_version)" modules 2>&1) ||
	grep -E 'warning:|error:' <<<"$out"; then
	echo "$out" | tail -n 30
	die "ddemux does not build against the debug kernel"
fi

log "integration suite, stress ${DDEMUX_STRESS_SECONDS} s, ${DDEMUX_RELOADS} reloads, kmemleak"
rc=0
scripts/vm.sh --kernel-image "$kbuild" --kmemleak --append panic_on_warn=1 \
	--timeout 7200 \
	--out "$logs/vm" -- env DDEMUX_STRESS_SECONDS="$DDEMUX_STRESS_SECONDS" \
	DDEMUX_RELOADS="$DDEMUX_RELOADS" DDEMUX_FUZZ_WRITES="$DDEMUX_FUZZ_WRITES" \
	tests/run.sh "$mdir/ddemux.ko" \
	>"$logs/vm.log" 2>&1 || rc=$?
p=$(grep -acE '^(test|stock) [^ ]+: PASS' "$logs/vm/output.log")
f=$(grep -acE '^(test|stock) [^ ]+: FAIL' "$logs/vm/output.log")
grep -aE '^(test|stock) [^ ]+: FAIL|^tests:|^test stress-' "$logs/vm/output.log" |
	cut -c1-300 | sed 's/^/    /'
PASSED=$((PASSED + p))
FAILED=$((FAILED + f))
case $rc in
0) ;;
3)
	FAILED=$((FAILED + 1))
	echo "    FAIL kernel reports (KASAN, lockdep, RCU, kmemleak, ...):"
	grep -aE 'BUG:|WARNING:|KASAN|kmemleak|lockdep|suspicious RCU' \
		"$logs/vm/console.log" | head -n 20 | sed 's/^/    | /'
	;;
*) ((f)) || { FAILED=$((FAILED + 1)); echo "    FAIL vm.sh exit status $rc"; } ;;
esac
echo "    (logs: $logs/vm)"

log "libFuzzer, ${fuzz_seconds} s a target"
fout=$(scripts/fuzz.sh "$fuzz_seconds" 2>"$logs/fuzz.log")
grep '^test ' <<<"$fout" | sed 's/^/    /'
PASSED=$((PASSED + $(grep -c '^test .*: PASS' <<<"$fout")))
f=$(grep -c '^test .*: FAIL' <<<"$fout")
grep -q '^test ' <<<"$fout" || f=1
FAILED=$((FAILED + f))

echo "$PASSED passed, $FAILED failed"
((FAILED == 0))
