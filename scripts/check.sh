#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# make check: everything CI runs, in order, ending with "N passed, N failed".
#
#   1. builds: ddemux.ko against Debian's 6.1 and 6.12 headers with W=1
#      (any warning fails), sparse over the 6.1 build, the one-way layers
#      of its object files (scripts/layers.py), checkpatch --strict,
#      docutils over Documentation/
#   2. libFuzzer over the pure code, 30 s a target (scripts/fuzz.sh), and
#      KUnit under UML (scripts/kunit.sh): every test case counts
#   3. DKMS: dkms add/build/install against both kernels' headers, in
#      trees of its own (tests/dkms.sh); the Debian package: make deb,
#      lintian, then in VMs apt install (DKMS builds for 6.1 and 6.12),
#      load and one vetoed bind on 6.1, reboot into 6.12, the same there,
#      purge, upgrade keeping edited conffiles (tests/deb.sh); its VMs run
#      beside those of steps 4 and 5, on the core they leave idle, and
#      are counted last
#   4. the integration suite in a VM booting Debian's 6.1 kernel, then its
#      6.12 kernel, each with the module built against its headers
#      (tests/run.sh via scripts/vm.sh), followed by the kernel's own
#      socket selftests with ddemux loaded (scripts/build-selftests.sh,
#      tests/selftests.sh): every test counts, and a kernel splat in the
#      guest's log fails the run; the DKMS-built module is loaded there
#   5. the integration suite again, bounded (20 s of stress, 10 reloads,
#      3000 fuzzed writes), in the debug kernel: KASAN, lockdep with
#      PROVE_RCU, DEBUG_ATOMIC_SLEEP, kmemleak, panic_on_warn
#      (scripts/debug-suite.sh); any report or leak fails the run
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
# the headers of the newest installed kernel of SERIES (the one the VM
# boots); any compiler warning fails.
build_against() {
	local series=$1 release kdir dir out
	shift
	release=$(release_of "$series") || { echo "no $series kernel"; return 1; }
	kdir=/usr/src/linux-headers-$release
	[[ -d $kdir ]] || { echo "no headers for $release"; return 1; }
	dir=$DDEMUX_CACHE/build/$series
	rm -rf "$dir"
	mkdir -p "$dir/kunit"
	(cd "$DDEMUX_ROOT" && cp Kbuild Kconfig Makefile VERSION ./*.c ./*.h "$dir/")
	echo "headers: $kdir"
	out=$(make -C "$kdir" M="$dir" W=1 DDEMUX_VERSION="$(module_version)" \
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

# vm_suite SERIES: boot SERIES's kernel and run tests/run.sh with the
# module built by build_against; count the guest's result lines.
vm_suite() {
	local series=$1 release ko out rc=0 p f
	release=$(release_of "$series") || { note_fail "vm-$series (no $series kernel)"; return; }
	ko=$DDEMUX_CACHE/build/$series/ddemux.ko
	[[ -f $ko ]] || { note_fail "vm-$series (no ddemux.ko)"; return; }
	out=$DDEMUX_CACHE/logs/vm-$series
	rm -rf "$out"
	log "vm-$series: $release"
	scripts/vm.sh --kernel "$release" --timeout 2400 --out "$out" -- \
		tests/run.sh "$ko" "$SELFTESTS" "${DKMS_KO[$release]:-}" \
		>"$DDEMUX_CACHE/logs/vm-$series.log" 2>&1 || rc=$?
	p=$(grep -acE '^(test|stock|selftest) [^ ]+: PASS' "$out/output.log")
	f=$(grep -acE '^(test|stock|selftest) [^ ]+: FAIL' "$out/output.log")
	grep -aE '^(test|stock|selftest) [^ ]+: FAIL|^tests:|^selftests:' \
		"$out/output.log" | sed "s/^/    [$series] /"
	PASSED=$((PASSED + p))
	FAILED=$((FAILED + f))
	case $rc in
	0) ;;
	3) note_fail "vm-$series: kernel warnings in the guest log" ;;
	124) note_fail "vm-$series: timed out" ;;
	*) ((f)) || note_fail "vm-$series: exit status $rc" ;;
	esac
	((rc == 0)) && printf '    ok   vm-%s (%s passed)\n' "$series" "$p"
	((rc == 0)) || printf '    FAIL vm-%s (log: %s)\n' "$series" "$out"
}

note_fail() {
	FAILED=$((FAILED + 1))
	FAILURES+=("$1")
	printf '    FAIL %s\n' "$1"
}

cd "$DDEMUX_ROOT"
need_pkgs gcc make flex bison bc python3 perl xz-utils zstd kmod libelf-dev \
	sparse linux-headers-amd64 linux-headers-6.12-amd64 linux-source-6.1 \
	linux-image-amd64 linux-image-6.12-amd64 qemu-system-x86 \
	qemu-system-data busybox-static cpio iproute2 procps util-linux dkms \
	python3-docutils clang libclang-rt-14-dev libssl-dev dpkg-dev debhelper \
	dh-dkms lintian

# The debug kernel takes the longest to build and the VM steps leave a
# core idle: build it meanwhile, niced (scripts/debug-kernel.sh holds a
# lock; the debug step waits on it).
mkdir -p "$DDEMUX_CACHE/logs"
nice -n 19 scripts/debug-kernel.sh >"$DDEMUX_CACHE/logs/debug-kernel-bg.log" 2>&1 &

step build-6.1 build_against 6.1
step build-6.12 build_against 6.12
# -Wno-flexible-array-array: <net/sctp/structs.h> (6.1) has an array of
# structures that end in a flexible array, which sparse reports in every
# file that includes it; nothing of ddemux's own is of that kind.
step sparse-6.1 build_against 6.1 C=2 CF="-D__CHECK_ENDIAN__ -Wno-flexible-array-array"
step layers python3 scripts/layers.py "$DDEMUX_CACHE/build/6.1"
step checkpatch scripts/style.sh
step docs scripts/check-docs.py

# libFuzzer over the pure code, 30 s a target: count its targets.
log "fuzz"
fout=$(scripts/fuzz.sh "${DDEMUX_FUZZ_SECONDS:-30}" 2>"$DDEMUX_CACHE/logs/fuzz.log")
grep '^test ' <<<"$fout" | sed 's/^/    /'
tally <<<"$fout" || FAILURES+=(fuzz)

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

log "build-selftests"
if SELFTESTS=$(scripts/build-selftests.sh 2>"$DDEMUX_CACHE/logs/build-selftests.log"); then
	PASSED=$((PASSED + 1))
	printf '    ok   build-selftests\n'
else
	SELFTESTS=
	note_fail "build-selftests (log: $DDEMUX_CACHE/logs/build-selftests.log)"
fi

log "dkms"
declare -A DKMS_KO=()
dout=$(tests/dkms.sh "$(release_of 6.1)" "$(release_of 6.12)" 2>&1)
p=$(grep -c '^test .*: PASS' <<<"$dout")
grep -A25 ': FAIL' <<<"$dout" | sed 's/^/    /'
if tally <<<"$dout"; then
	printf '    ok   dkms (%d passed)\n' "$p"
else
	printf '    FAIL dkms (%d passed)\n' "$p"
	FAILURES+=(dkms)
fi
while read -r _ k path; do
	DKMS_KO[$k]=$path
done < <(grep '^module ' <<<"$dout")

# The Debian package (tests/deb.sh): built and linted in seconds, then two
# VMs, which DKMS builds and depmod under TCG make long (10 to 15 minutes
# of a core).  They run in the background, niced, beside the VM suites and
# the debug step, which use one core; counted at the end.
log "deb: make deb, lintian, VMs (in the background)"
nice -n 10 tests/deb.sh >"$DDEMUX_CACHE/logs/deb.log" 2>&1 &
deb_pid=$!

vm_suite 6.1
vm_suite 6.12

# The suite again in the debug kernel (KASAN, lockdep, kmemleak, ...),
# bounded; its build started in the background at the top.
log "debug kernel: 20 s stress, 10 reloads, 3000 writes"
dbg=$(scripts/debug-suite.sh --stress 20 --reloads 10 --writes 3000 \
	2>"$DDEMUX_CACHE/logs/debug-suite.log")
grep -aE ': FAIL|^test (debug-|stress-)' <<<"$dbg" | cut -c1-200 | sed 's/^/    [debug] /'
if tally <<<"$dbg"; then
	printf '    ok   debug (%d passed)\n' "$(grep -c ': PASS' <<<"$dbg")"
else
	printf '    FAIL debug (logs: %s)\n' "$DDEMUX_CACHE/logs/debug"
	FAILURES+=(debug)
fi

# The package's VMs, started before the VM suites.
log "deb"
wait "$deb_pid"
dout=$(<"$DDEMUX_CACHE/logs/deb.log")
grep -aE ': FAIL|^deb: ' <<<"$dout" | sed 's/^/    /'
if tally <<<"$dout"; then
	printf '    ok   deb (%d passed)\n' "$(grep -c ': PASS' <<<"$dout")"
else
	printf '    FAIL deb (log: %s)\n' "$DDEMUX_CACHE/logs/deb.log"
	FAILURES+=(deb)
fi

echo
((${#FAILURES[@]})) && echo "failed steps: ${FAILURES[*]}"
echo "$PASSED passed, $FAILED failed"
((FAILED == 0))
