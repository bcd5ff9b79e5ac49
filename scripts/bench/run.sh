#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# make bench: every benchmark, then the table and the plot.
#
#   scripts/bench/run.sh [--quick] [--wall-clock] [--kernel 6.1|6.12]
#                        [--out DIR]
#
# Runs scripts/bench/egress.sh, bind.sh and registry.sh one after the
# other (each boots its own VM; see their headers for what they measure),
# each writing its raw measurements to a TSV in
# $DDEMUX_CACHE/bench/results/, then scripts/bench/report.py turns them
# into DIR/results.md and DIR/results.png (default: Documentation/bench,
# where the latest are kept).  --quick runs few rounds with small counts:
# a smoke run of the harness, not figures to keep (it writes to
# $DDEMUX_CACHE/bench/quick unless --out is given).
#
# Every benchmark runs with the guest's clock counting instructions
# (--icount for egress and bind, DDEMUX_ICOUNT=3 for the registry's VM:
# qemu -icount), so that the figures do not depend on what else the host
# runs; --wall-clock uses the host's clock instead (the registry's cache
# and TLB misses show only then, exaggerated by the emulation).
#
# Benchmarks print figures; they are not tests and pass or fail nothing.
# Run them on an otherwise idle machine: the VM is emulated (TCG), so
# anything else running on the host shows in the spread.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"

quick=0
icount=1
kernel=6.1
out=
while (($#)); do
	case $1 in
	--quick) quick=1 ;;
	--kernel) kernel=$2; shift ;;
	--out) out=$2; shift ;;
	--wall-clock) icount=0 ;;
	*) die "usage: $0 [--quick] [--wall-clock] [--kernel 6.1|6.12] [--out DIR]" ;;
	esac
	shift
done
if [[ -z $out ]]; then
	((quick)) && out=$DDEMUX_CACHE/bench/quick || out=$DDEMUX_ROOT/Documentation/bench
fi
need_pkgs python3-matplotlib

res=$DDEMUX_CACHE/bench/results
rm -rf "$res"
mkdir -p "$res" "$out"
release=$(release_of "$kernel") || die "no $kernel kernel installed"
qargs=()
((quick)) && qargs=(--quick)

start=$(date +%s)
for b in egress bind registry; do
	log "$b"
	t0=$(date +%s)
	clock=()
	env=()
	if ((icount)); then
		# registry.sh has no option: vm.sh reads DDEMUX_ICOUNT itself
		[[ $b == registry ]] && env=(DDEMUX_ICOUNT=3) || clock=(--icount)
	fi
	env "${env[@]}" "$DDEMUX_ROOT/scripts/bench/$b.sh" --kernel "$kernel" \
		"${qargs[@]}" "${clock[@]}" --tsv "$res/$b.tsv" | tee "$res/$b.txt"
	echo "$b: $(($(date +%s) - t0)) s" >>"$res/times"
done

{
	echo "kernel: Debian $release (qemu $(qemu-system-x86_64 --version |
		head -n1 | awk '{print $4}'), TCG, one thread)"
	if ((icount)); then
		echo "clock: guest instructions throughout (qemu -icount shift=3: 8 ns an instruction)"
	else
		echo "clock: host time throughout"
	fi
	echo "host CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 |
		sed 's/^ *//'), $(nproc) cores"
	echo "ddemux: $(module_version)"
	echo "date: $(date -u +%Y-%m-%d)"
	echo "run: scripts/bench/run.sh$( ((quick)) && echo ' --quick') ($(($(date +%s) - start)) s: $(paste -sd, "$res/times" | sed 's/,/, /g'))"
} >"$res/meta"
/usr/bin/python3 "$DDEMUX_ROOT/scripts/bench/report.py" --meta "$res/meta" \
	--out "$out" "$res"/*.tsv >/dev/null
log "wrote $out/results.md and $out/results.png"
cat "$out/results.md"
