#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# The integration suite, run inside the test VM (scripts/vm.sh) as root:
#
#   tests/run.sh DDEMUX_KO [SELFTEST_DIR [DKMS_KO]]
#
# 1. the stock kernel, no module: every "differs" test must fail, every
#    "same" test must pass (tests/ddemux_tests.py --stock); then the
#    differential oracle's model against the stock kernel's own deliveries
#    (tests/oracle.py --stock, one seed);
# 2. insmod, then the whole suite with ddemux in enforce mode;
# 3. the interface fuzzed (tests/fuzz_proc.py) and the stress and churn
#    load with module reloads (tests/stress.py), sized by DDEMUX_FUZZ_WRITES
#    (3000), DDEMUX_STRESS_SECONDS (20) and DDEMUX_RELOADS (25);
#    the differential oracle (tests/oracle.py): DDEMUX_ORACLE_SEEDS (2)
#    random sequences of DDEMUX_ORACLE_STEPS (150) operations, a reload
#    every 60, domains 1 and 3, a failure shrunk for up to
#    DDEMUX_ORACLE_SHRINK (90) seconds (0 seeds: skipped);
#    then the kernel's own socket selftests with ddemux loaded, when built
#    (tests/selftests.sh);
# 4. rmmod; then the module DKMS built (tests/dkms.sh), when given: it
#    must load, work and unload.
# Every result is a line "test|stock|selftest NAME: PASS|FAIL ..." that
# scripts/check.sh counts.
set -u
ko=$1
selftests=${2:-}
dkms_ko=${3:-}
cd "$(dirname "$0")/.."

rc=0
oracle_seeds=${DDEMUX_ORACLE_SEEDS:-2}
oracle_steps=${DDEMUX_ORACLE_STEPS:-150}
oracle_shrink=${DDEMUX_ORACLE_SHRINK:-90}
echo "== stock kernel"
python3 tests/ddemux_tests.py --stock || rc=1
if ((oracle_seeds)); then
	python3 tests/oracle.py --stock --seeds 1 --steps "$oracle_steps" \
		--shrink-seconds "$oracle_shrink" || rc=1
fi

echo "== ddemux loaded"
if insmod "$ko"; then
	echo "test insmod: PASS"
else
	echo "test insmod: FAIL"
	exit 1
fi
python3 tests/ddemux_tests.py --ko "$ko" || rc=1

echo "== fuzzing the interface"
python3 tests/fuzz_proc.py --writes "${DDEMUX_FUZZ_WRITES:-3000}" || rc=1
echo "== stress and churn"
python3 tests/stress.py --ko "$ko" --seconds "${DDEMUX_STRESS_SECONDS:-20}" \
	--reloads "${DDEMUX_RELOADS:-25}" || rc=1
if ((oracle_seeds)); then
	echo "== differential oracle"
	python3 tests/oracle.py --ko "$ko" --seeds "$oracle_seeds" \
		--steps "$oracle_steps" --reload-every 60 --domain 1,3 \
		--shrink-seconds "$oracle_shrink" || rc=1
fi

if [[ -n $selftests && -x tests/selftests.sh ]]; then
	echo "== kernel selftests with ddemux"
	tests/selftests.sh "$selftests" || rc=1
fi

if rmmod ddemux; then
	echo "test rmmod: PASS"
else
	echo "test rmmod: FAIL"
	rc=1
fi

if [[ -n $dkms_ko ]]; then
	if insmod "$dkms_ko" && grep -q '^binds_checked' /proc/net/ddemux/stats &&
		python3 tests/ddemux_tests.py --ko "$dkms_ko" -k udp4_reuseaddr_cobind &&
		rmmod ddemux; then
		echo "test dkms-load: PASS"
	else
		echo "test dkms-load: FAIL"
		rc=1
	fi
fi
exit $rc
