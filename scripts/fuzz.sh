#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Coverage-guided fuzzing of the pure policy code (ddemux_policy.c) in
# userspace with libFuzzer; see fuzz/README.
#
#   scripts/fuzz.sh [SECONDS_PER_TARGET]      (default 30)
#
# Builds fuzz/fuzz_shares.c and fuzz/fuzz_overlap.c against an unmodified
# ddemux_policy.c and the header shim in fuzz/shim/ (clang,
# -fsanitize=fuzzer,address,undefined) into $DDEMUX_CACHE/fuzz/, runs each
# for the given time on a copy of fuzz/corpus/NAME in the cache (the repo
# is never written to), and prints one line per target:
#
#   test fuzz-NAME: PASS (N execs, N s)
#   test fuzz-NAME: FAIL (reason)
#
# Exits non-zero if any target failed.
set -euo pipefail
# shellcheck source=scripts/lib.sh disable=SC1091
. "$(dirname "$0")/lib.sh"

secs=${1:-30}
[[ $secs =~ ^[1-9][0-9]*$ ]] || die "usage: $0 [SECONDS_PER_TARGET]"

need_pkgs clang libclang-rt-14-dev

src=$DDEMUX_ROOT
out=$DDEMUX_CACHE/fuzz
mkdir -p "$out/obj" "$out/corpus" "$out/artifacts" "$out/logs"

CC=${FUZZ_CC:-clang}
cflags=(-std=gnu11 -g -O1 -fno-omit-frame-pointer -Wall -Wextra
	-fsanitize=address -fsanitize=undefined -fno-sanitize-recover=all)
shim=(-I"$src/fuzz/shim" -I"$src")

# The kernel code and the targets get the shim and coverage; the shim's
# vsprintf.c gets neither (it uses libc's <arpa/inet.h>, and its branches
# are not what is being explored).
log "building the fuzz targets into $out"
"$CC" "${cflags[@]}" -fsanitize=fuzzer-no-link "${shim[@]}" \
	-c "$src/ddemux_policy.c" -o "$out/obj/ddemux_policy.o" ||
	die "ddemux_policy.c does not build against fuzz/shim"
"$CC" "${cflags[@]}" \
	-c "$src/fuzz/shim/vsprintf.c" -o "$out/obj/vsprintf.o" ||
	die "fuzz/shim/vsprintf.c does not build"

targets=(shares overlap)
for t in "${targets[@]}"; do
	"$CC" "${cflags[@]}" -fsanitize=fuzzer "${shim[@]}" \
		"$src/fuzz/fuzz_$t.c" "$out/obj/ddemux_policy.o" \
		"$out/obj/vsprintf.o" -o "$out/fuzz_$t" ||
		die "fuzz/fuzz_$t.c does not build"
done

export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

failed=0
results=()
for t in "${targets[@]}"; do
	corpus=$out/corpus/$t
	logf=$out/logs/$t.log
	[[ -d $src/fuzz/corpus/$t ]] || die "fuzz/corpus/$t missing"
	# a fresh copy each run: the repo corpus stays as it is
	rm -rf "$corpus"
	mkdir -p "$corpus"
	cp -pR "$src/fuzz/corpus/$t/." "$corpus/"

	case $t in
	shares) opts=(-max_len=4800 -dict="$src/fuzz/shares.dict") ;;
	*) opts=(-max_len=256) ;;
	esac

	log "fuzz-$t: ${secs}s on $corpus (log: $logf)"
	rc=0
	"$out/fuzz_$t" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
		-print_final_stats=1 -artifact_prefix="$out/artifacts/$t-" \
		"${opts[@]}" "$corpus" >"$logf" 2>&1 || rc=$?

	execs=$(sed -n 's/^stat::number_of_executed_units: *\([0-9]*\).*/\1/p' "$logf" | tail -n1)
	took=$(sed -n 's/^Done [0-9]* runs in \([0-9]*\) second.*/\1/p' "$logf" | tail -n1)
	crash=$(sed -n 's/.*Test unit written to \([^ ]*\).*/\1/p' "$logf" | tail -n1)

	if ((rc == 0)) && [[ -n $execs ]]; then
		results+=("test fuzz-$t: PASS (${execs} execs, ${took:-$secs} s)")
		continue
	fi
	failed=1
	reason=$(grep -m1 -o 'property violated: .*' "$logf" ||
		grep -m1 -oE 'ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer): [^(]*' "$logf" ||
		grep -m1 -oE 'runtime error: .*' "$logf" ||
		grep -m1 -oE 'vsprintf shim: .*' "$logf" ||
		echo "exit status $rc")
	detail=$(grep -m1 -A1 'property violated: ' "$logf" | sed -n '2s/^ *//p' || true)
	[[ -n $detail ]] && reason="$reason; $detail"
	results+=("test fuzz-$t: FAIL (${reason}${crash:+; input $crash})")
	log "fuzz-$t: see $logf; reproduce with: $out/fuzz_$t ${crash:-CRASH_FILE}"
done

printf '%s\n' "${results[@]}"
cat >&2 <<EOF
>>> new inputs stay in $out/corpus/NAME; to add the interesting ones to the
>>> repo corpus (minimised, only inputs with new coverage):
>>>   $out/fuzz_NAME -merge=1 fuzz/corpus/NAME $out/corpus/NAME
EOF
exit $failed
