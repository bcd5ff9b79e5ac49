#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# The integration suite in the debug kernel: the step make check runs
# bounded and make soak runs long.
#
#   scripts/debug-suite.sh [--stress SECONDS] [--reloads N] [--writes N]
#                          [--oracle-seeds N] [--oracle-steps N]
#                          [--timeout SECONDS] [--tag NAME]
#
# 1. scripts/debug-kernel.sh builds (or finds in the cache, or waits for
#    a build already running) the KASAN/lockdep/kmemleak kernel;
# 2. ddemux is built against it with W=1: any warning fails;
# 3. tests/run.sh runs in it under vm.sh --kmemleak with panic_on_warn,
#    with DDEMUX_STRESS_SECONDS, DDEMUX_RELOADS, DDEMUX_FUZZ_WRITES,
#    DDEMUX_ORACLE_SEEDS and DDEMUX_ORACLE_STEPS set from the options
#    (defaults 20, 10, 3000, 1, 100).
#
# Prints the guest's "test|stock NAME: PASS|FAIL" lines and three of its
# own: debug-build, debug-module and debug-reports (no KASAN, lockdep,
# RCU, sleep-in-atomic, WARN or kmemleak report, and the VM finished).
# Exits 0 when every line passed.  Logs: $DDEMUX_CACHE/logs/debug/, or
# debug-NAME/ with --tag NAME (so that make soak and make check can run
# at once).
set -uo pipefail
. "$(dirname "$0")/lib.sh"

stress=20
reloads=10
writes=3000
oracle_seeds=1
oracle_steps=100
timeout=3600
tag=
while (($#)); do
	case $1 in
	--stress) stress=$2 ;;
	--reloads) reloads=$2 ;;
	--writes) writes=$2 ;;
	--oracle-seeds) oracle_seeds=$2 ;;
	--oracle-steps) oracle_steps=$2 ;;
	--timeout) timeout=$2 ;;
	--tag) tag=-$2 ;;
	*) die "usage: $0 [--stress S] [--reloads N] [--writes N] [--oracle-seeds N] [--oracle-steps N] [--timeout S] [--tag NAME]" ;;
	esac
	shift 2
done

cd "$DDEMUX_ROOT"
logs=$DDEMUX_CACHE/logs/debug$tag
rm -rf "$logs"
mkdir -p "$logs"

result() {
	printf 'test %s: %s\n' "$1" "$2"
	[[ $2 == PASS* ]]
}

if ! kbuild=$(scripts/debug-kernel.sh 2>"$logs/debug-kernel.log" | tail -n 1) ||
	[[ ! -f $kbuild/.ddemux-done ]]; then
	tail -n 20 "$logs/debug-kernel.log" >&2
	result debug-build "FAIL (log: $logs/debug-kernel.log)"
	exit 1
fi
result debug-build "PASS $(cat "$kbuild/include/config/kernel.release")"

mdir=$DDEMUX_CACHE/build/debug$tag
rm -rf "$mdir"
mkdir -p "$mdir"
cp Kbuild Kconfig Makefile VERSION ./*.c ./*.h "$mdir/"
out=$(make -C "$kbuild" M="$mdir" W=1 DDEMUX_VERSION="$(module_version)" \
	modules 2>&1)
rc=$?
echo "$out" >"$logs/module.log"
if ((rc)) || grep -E 'warning:|error:' <<<"$out" >&2; then
	tail -n 30 <<<"$out" >&2
	result debug-module "FAIL (log: $logs/module.log)"
	exit 1
fi
result debug-module PASS

rc=0
scripts/vm.sh --kernel-image "$kbuild" --kmemleak --append panic_on_warn=1 \
	--timeout "$timeout" --out "$logs/vm" -- \
	env DDEMUX_ALLOW_SKIP=1 \
	DDEMUX_STRESS_SECONDS="$stress" DDEMUX_RELOADS="$reloads" \
	DDEMUX_FUZZ_WRITES="$writes" DDEMUX_ORACLE_SEEDS="$oracle_seeds" \
	DDEMUX_ORACLE_STEPS="$oracle_steps" DDEMUX_ORACLE_SHRINK="${DDEMUX_ORACLE_SHRINK:-60}" \
	tests/run.sh "$mdir/ddemux.ko" \
	>"$logs/vm.log" 2>&1 || rc=$?
grep -aE '^(test|stock) [^ ]+: (PASS|FAIL)' "$logs/vm/output.log" | cut -c1-300
fails=$(grep -acE '^(test|stock) [^ ]+: FAIL' "$logs/vm/output.log")
# the debug kernel has no SCTP, DCCP, MPTCP, L2TP/IP or AF_XDP: those
# tests say SKIP there (ddemux_tests.py, DDEMUX_ALLOW_SKIP), and run on
# Debian's kernels in step 4
echo "skipped on the debug kernel: $(grep -acE '^(test|stock) [^ ]+: SKIP' "$logs/vm/output.log")"
case $rc in
0) result debug-reports "PASS (no report, no leak)" ;;
3)
	grep -aE 'BUG:|WARNING:|KASAN|kmemleak|lockdep|suspicious RCU|Call Trace' \
		"$logs/vm/console.log" | head -n 20 | sed 's/^/    | /' >&2
	result debug-reports "FAIL (kernel reports; log: $logs/vm/console.log)"
	;;
124) result debug-reports "FAIL (timed out after $timeout s; log: $logs/vm)" ;;
*)
	# The suite's own failures are counted above; else the VM failed.
	((fails)) || result debug-reports "FAIL (vm.sh exit status $rc; log: $logs/vm)"
	;;
esac
((rc == 0 && fails == 0))
