#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# make soak: the long runs that do not fit make check.
#
#   1. the integration suite in the debug kernel (scripts/debug-suite.sh:
#      KASAN, lockdep with PROVE_RCU, DEBUG_ATOMIC_SLEEP, kmemleak, debug
#      objects, full preemption, panic_on_warn), with a long stress and
#      reload run and a long interface fuzz: every KASAN, lockdep, RCU or
#      sleep-in-atomic report and every leaked object fails the run;
#      and the differential oracle (tests/oracle.py) over many seeds, each
#      failure shrunk for up to 10 minutes;
#   2. libFuzzer over the pure code, DDEMUX_SOAK_FUZZ_SECONDS a target.
#
# Sizes (environment): DDEMUX_STRESS_SECONDS (120), DDEMUX_RELOADS (50),
# DDEMUX_FUZZ_WRITES (20000), DDEMUX_SOAK_FUZZ_SECONDS (600),
# DDEMUX_ORACLE_SEEDS (10), DDEMUX_ORACLE_STEPS (300), DDEMUX_ORACLE_SHRINK
# (600).
# Ends with "N passed, N failed" like make check.
set -uo pipefail
. "$(dirname "$0")/lib.sh"

stress=${DDEMUX_STRESS_SECONDS:-120}
reloads=${DDEMUX_RELOADS:-50}
writes=${DDEMUX_FUZZ_WRITES:-20000}
fuzz_seconds=${DDEMUX_SOAK_FUZZ_SECONDS:-600}
oracle_seeds=${DDEMUX_ORACLE_SEEDS:-10}
oracle_steps=${DDEMUX_ORACLE_STEPS:-300}
export DDEMUX_ORACLE_SHRINK=${DDEMUX_ORACLE_SHRINK:-600}

cd "$DDEMUX_ROOT"
PASSED=0
FAILED=0
mkdir -p "$DDEMUX_CACHE/logs/soak"

log "debug kernel: stress $stress s, $reloads reloads, $writes writes, oracle $oracle_seeds x $oracle_steps steps, kmemleak"
out=$(scripts/debug-suite.sh --stress "$stress" --reloads "$reloads" \
	--writes "$writes" --oracle-seeds "$oracle_seeds" --oracle-steps "$oracle_steps" \
	--timeout 10800 --tag soak 2>"$DDEMUX_CACHE/logs/soak/debug-suite.log")
grep -aE ': FAIL|^test (debug-|stress-|oracle-)|^tests:' <<<"$out" | cut -c1-300 |
	sed 's/^/    /'
tally <<<"$out"
echo "    (logs: $DDEMUX_CACHE/logs/debug-soak)"

log "libFuzzer, ${fuzz_seconds} s a target"
fout=$(scripts/fuzz.sh "$fuzz_seconds" 2>"$DDEMUX_CACHE/logs/soak/fuzz.log")
grep '^test ' <<<"$fout" | sed 's/^/    /'
tally <<<"$fout"

echo "$PASSED passed, $FAILED failed"
((FAILED == 0))
