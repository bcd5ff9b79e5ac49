#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# The per-packet cost of rule 3, in the VM: a benchmark, not a test.
#
#   scripts/bench/egress.sh [--kernel 6.1|6.12] [ROUNDS] [PACKETS]
#
# Builds the module and scripts/bench/sendrate.c, boots the VM, and for
# ROUNDS rounds (default 7) alternates the stock kernel and ddemux loaded
# (enforce, egress on), timing PACKETS (default 200000) sendto()s of a
# bound UDP socket (the fast path) and of a raw socket from a port nobody
# holds (the slow path: a registry lookup).  Prints the median ns per
# packet of each, the spread (min-max), and the difference.  Under TCG the
# absolute figures are several times a real machine's; compare them with
# each other.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"

kernel=6.1
if [[ ${1:-} == --kernel ]]; then
	kernel=$2
	shift 2
fi
rounds=${1:-7}
packets=${2:-200000}

release=$(release_of "$kernel") || die "no $kernel kernel installed"
work=$DDEMUX_CACHE/bench
mkdir -p "$work"
rm -rf "$work/mod"
mkdir -p "$work/mod"
cp "$DDEMUX_ROOT"/{Kbuild,Kconfig,Makefile,VERSION,*.c,*.h} "$work/mod/"
make -s -C "/usr/src/linux-headers-$release" M="$work/mod" modules >/dev/null
gcc -O2 -Wall -o "$work/sendrate" "$DDEMUX_ROOT/scripts/bench/sendrate.c"

cat >"$work/guest.sh" <<GUEST
set -e
for r in \$(seq $rounds); do
	for cfg in stock ddemux; do
		[ \$cfg = ddemux ] && insmod $work/mod/ddemux.ko
		for m in udp raw; do
			echo "\$cfg \$($work/sendrate \$m $packets)"
		done
		[ \$cfg = ddemux ] && rmmod ddemux
	done
done
GUEST
log "$rounds rounds of $packets packets on $release"
scripts/vm.sh --kernel "$release" --timeout 3000 -- sh "$work/guest.sh" |
	tr -d '\r' | awk '
	$1 ~ /^(stock|ddemux)$/ { v[$1" "$2] = v[$1" "$2] " " $3 }
	function stats(s,   a, n, i, j, t) {
		n = split(s, a, " ")
		for (i = 1; i <= n; i++)
			for (j = i + 1; j <= n; j++)
				if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
		med = (n % 2) ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
		lo = a[1]; hi = a[n]
	}
	END {
		printf "%-6s %12s %12s %14s %12s\n", "path", "stock ns/pkt",
		       "ddemux ns/pkt", "cost ns/pkt", "rate ratio"
		for (m = 1; m <= 2; m++) {
			p = m == 1 ? "udp" : "raw"
			stats(v["stock " p]); s = med; slo = lo; shi = hi
			stats(v["ddemux " p]); d = med; dlo = lo; dhi = hi
			printf "%-6s %5d (%d-%d) %5d (%d-%d) %8d %12.3f\n", p, s, slo,
			       shi, d, dlo, dhi, d - s, s / d
		}
	}'
