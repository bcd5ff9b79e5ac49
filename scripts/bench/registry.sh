#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# The registry's cost per operation and per entry, in the VM: a benchmark,
# not a test.
#
#   scripts/bench/registry.sh [--kernel 6.1|6.12] [--rounds N] [--ops N]
#                             [--sizes 1000,10000,...] [--hold N] [--quick]
#                             [--users N] [--tsv FILE] [--mem MB] [--smp N]
#
# Builds scripts/bench/registry/bench.c with copies of ddemux_table.c and
# ddemux_policy.c into ddemux_bench.ko (not ddemux.ko), boots the VM and:
#   1. loads it with hold=N (default: the largest size): it claims N
#      address sets and stays loaded while /proc/meminfo and
#      /proc/slabinfo are read, then rmmod frees them -- the allocator's
#      view of the bytes per entry, to cross-check the module's own;
#   2. loads it to populate one registry per --sizes (default
#      1000,10000,100000,1000000) and, at each, time --rounds (default 7)
#      rounds of --ops (default 100000) packet-path lookups that hit and
#      that miss (random keys, and the same over 64 hot keys), lookups by
#      socket, inserts (a bind's check-and-insert) and removes; it prints
#      the results and refuses to stay loaded.  A round measures each
#      case at every size back to back.
# The population (--users owner domains, default 64) and the keys are
# described at the top of bench.c.
# Prints the median ns per operation of every case, the spread (min-max),
# the median per-round ratio to the smallest size (flat lookups stay near
# 1), and the bytes per entry; writes every round to --tsv (default
# $DDEMUX_CACHE/bench/results/registry.tsv: bench case config round value
# unit).  --quick is --rounds 3 --ops 20000.  The default run takes about
# 2 minutes on a quiet 2-core machine, --quick about 1; the VM has one
# CPU (--smp) and 2 GiB (--mem).  Under TCG the absolute
# figures are several times a real machine's; compare them with each
# other.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"

kernel=6.1
rounds=7
ops=100000
users=64
sizes=1000,10000,100000,1000000
hold=
tsv=$DDEMUX_CACHE/bench/results/registry.tsv
mem=2048
smp=1
while (($#)); do
	case $1 in
	--kernel) kernel=$2; shift 2 ;;
	--rounds) rounds=$2; shift 2 ;;
	--ops) ops=$2; shift 2 ;;
	--sizes) sizes=$2; shift 2 ;;
	--hold) hold=$2; shift 2 ;;
	--quick) rounds=3; ops=20000; shift ;;
	--users) users=$2; shift 2 ;;
	--tsv) tsv=$2; shift 2 ;;
	--mem) mem=$2; shift 2 ;;
	--smp) smp=$2; shift 2 ;;
	-h | --help) sed -n '3,/^set -e/{/^set -e/d;s/^# \{0,1\}//;p}' "$0"; exit 0 ;;
	*) die "unknown argument $1 (see --help)" ;;
	esac
done
[[ $sizes =~ ^[0-9]+(,[0-9]+){0,7}$ ]] || die "--sizes: up to 8 numbers, comma-separated"
for v in "$rounds" "$ops" "$users" "$mem" "$smp"; do
	[[ $v =~ ^[1-9][0-9]*$ ]] || die "not a positive number: $v"
done
largest=$(tr , '\n' <<<"$sizes" | sort -n | tail -n1)
hold=${hold:-$largest}
[[ $hold =~ ^[0-9]+$ ]] || die "--hold: a number (0: no memory cross-check)"

need_pkgs make gcc kmod
release=$(release_of "$kernel") || die "no $kernel kernel installed (apt-get install $(kernel_pkgs "$kernel"))"
[[ -d /usr/src/linux-headers-$release ]] || need_pkgs "linux-headers-$release"

work=$DDEMUX_CACHE/bench/registry
rm -rf "$work/mod-$release"
mkdir -p "$work/mod-$release" "$(dirname "$tsv")"
mod=$work/mod-$release
cp "$DDEMUX_ROOT"/{ddemux_table.c,ddemux_policy.c,ddemux.h} \
	"$DDEMUX_ROOT"/scripts/bench/registry/{bench.c,Kbuild} "$mod/"
make -s -C "/usr/src/linux-headers-$release" M="$mod" modules >"$mod/build.log" 2>&1 ||
	{ cat "$mod/build.log" >&2; die "ddemux_bench.ko did not build"; }

out=$work/out-$release	# vm.sh's output directory: the guest writes there
rm -rf "$out"
mkdir -p "$out"
gscript=$work/guest-$release.sh
glog=$work/guest-$release.log
cat >"$gscript" <<GUEST
set -e
dmesg -n 1	# results are read from the log, not the (slow) serial console
snap() { cat /proc/meminfo >"$out/\$1.meminfo"; cat /proc/slabinfo >"$out/\$1.slabinfo"; }
if [ $hold -gt 0 ]; then
	dmesg -C
	snap before
	insmod "$mod/ddemux_bench.ko" hold=$hold users=$users
	snap held
	rmmod ddemux_bench
	snap after
	dmesg | sed -n 's/^.*ddemux_bench: /HOLD /p'
fi
dmesg -C
start=\$(date +%s)
if insmod "$mod/ddemux_bench.ko" sizes=$sizes ops=$ops rounds=$rounds users=$users; then
	rmmod ddemux_bench
	echo "error: ddemux_bench stayed loaded"
fi
dmesg | sed -n 's/^.*ddemux_bench: //p'
echo "ELAPSED \$((\$(date +%s) - start))"
GUEST

# Generous: the default run takes about a minute and a half of VM time.
timeout=$((900 + rounds * ops / 1000))
log "registry bench on $release: sizes $sizes, $rounds rounds of $ops ops, $users users, hold $hold"
t0=$(date +%s)
scripts_dir=$DDEMUX_ROOT/scripts
"$scripts_dir/vm.sh" --kernel "$release" --mem "$mem" --smp "$smp" \
	--timeout "$timeout" --out "$out" -- sh "$gscript" |
	tr -d '\r' >"$glog" || { cat "$glog" >&2; die "the VM run failed"; }
log "VM run: $(($(date +%s) - t0)) s"
grep -q '^I done' "$glog" ||
	{ cat "$glog" >&2; die "the benchmark did not finish"; }

# Raw results: one row per round.
{
	printf 'bench\tcase\tconfig\tround\tvalue\tunit\n'
	awk '$1 == "R" { printf "registry\t%s\tddemux\t%s\t%s\t%s\n", $2, $3, $4, $5 }' \
		"$glog"
	if ((hold)); then
		# the allocator's view: unreclaimable slab + vmalloc, held - before
		awk -v n="$hold" -v lf="$glog" '
			BEGIN {
				while ((getline l < lf) > 0)
					if (l ~ /^HOLD I holding/) { split(l, f, " "); e = f[4] }
			}
			FNR == 1 { file++ }
			$1 ~ /^(SUnreclaim|VmallocUsed):$/ { v[file, $1] = $2 }
			END {
				d = (v[2, "SUnreclaim:"] - v[1, "SUnreclaim:"]) + \
				    (v[2, "VmallocUsed:"] - v[1, "VmallocUsed:"])
				if (e > 0)
					printf "registry\tbytes-per-entry-meminfo-%d\tddemux\t1\t%.1f\tbytes\n",
					       n, d * 1024 / e
			}' "$out/before.meminfo" "$out/held.meminfo"
	fi
} >"$tsv"

# The human table.
echo
grep '^I \|^HOLD I' "$glog" | sed 's/^/  /'
echo
awk -F'\t' '
	NR == 1 { next }
	function sortv(a, n,   i, j, t) {
		for (i = 1; i <= n; i++)
			for (j = i + 1; j <= n; j++)
				if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
	}
	function sizeof_(c,   s) { s = c; sub(/^.*-/, "", s); return s + 0 }
	function median(a, n) {
		sortv(a, n)
		return (n % 2) ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
	}
	{
		c = $2; op = c; size = c
		sub(/-[0-9]+$/, "", op); sub(/^.*-/, "", size)
		if (!(c in seen)) { seen[c] = 1; opof[c] = op; nsz[op]++; cs[op, nsz[op]] = c }
		val[c, $4] = $5; unit[c] = $6; nr[c]++; rr[c, nr[c]] = $4
		if (!(op in small)) opord[++nop] = op
		if (!(op in small) || size + 0 < small[op] + 0) small[op] = size
	}
	END {
		printf "%-34s %10s %22s %6s %10s\n", "case", "median", "(min-max)", "rounds",
		       "x smallest"
		nc = 0
		for (k = 1; k <= nop; k++) {
			o = opord[k]
			for (i = 1; i <= nsz[o]; i++)
				for (j = i + 1; j <= nsz[o]; j++)
					if (sizeof_(cs[o, j]) < sizeof_(cs[o, i])) {
						t = cs[o, i]; cs[o, i] = cs[o, j]; cs[o, j] = t
					}
			for (i = 1; i <= nsz[o]; i++) order[++nc] = cs[o, i]
		}
		for (k = 1; k <= nc; k++) {
			c = order[k]; n = nr[c]
			for (i = 1; i <= n; i++) a[i] = val[c, rr[c, i]]
			sortv(a, n); lo = a[1]; hi = a[n]; m = median(a, n)
			base = opof[c] "-" small[opof[c]]
			nrat = 0
			for (i = 1; i <= n; i++) {
				r = rr[c, i]
				if ((base, r) in val && val[base, r] > 0)
					rat[++nrat] = val[c, r] / val[base, r]
			}
			x = (nrat && base != c) ? sprintf("%.2f", median(rat, nrat)) : "-"
			if (base != c && nrat) flat[opof[c]] = x
			printf "%-34s %10.1f %22s %6d %10s  %s\n", c, m,
			       sprintf("(%.1f-%.1f)", lo, hi), n, x, unit[c]
		}
		printf "\nlargest size / smallest, median of the per-round ratios (lookups: target <= 1.5):\n"
		for (k = 1; k <= nop; k++)
			if (opord[k] in flat && opord[k] ~ /^lookup/)
				printf "  %-18s %s\n", opord[k], flat[opord[k]]
	}' "$tsv"
if ((hold)); then
	echo
	echo "memory with $hold entries held (guest /proc, held - before; after = after rmmod - before):"
	awk '
		FNR == 1 { file++ }
		$1 ~ /^(MemFree|Slab|SUnreclaim|VmallocUsed):$/ { v[file, $1] = $2; k[$1] = 1 }
		END {
			for (x in k)
				printf "  %-13s %+10d kB held %+10d kB after\n", x,
				       v[2, x] - v[1, x], v[3, x] - v[1, x]
		}' "$out/before.meminfo" "$out/held.meminfo" "$out/after.meminfo"
	echo "  /proc/slabinfo, caches that grew by more than 1 MiB (slab pages, objects):"
	awk '
		FNR == 1 { file++ }
		$1 !~ /^#/ && NF > 14 && $1 != "slabinfo" {
			# name active_objs num_objs objsize objperslab pagesperslab ... num_slabs
			b[file, $1] = $15 * $6 * 4096; o[file, $1] = $2; sz[$1] = $4; names[$1] = 1
		}
		END {
			for (x in names) {
				d = b[2, x] - b[1, x]
				if (d > 1048576)
					printf "    %-22s objsize %4d  %+9.1f MiB  %+9d objects\n", x, sz[x],
					       d / 1048576, o[2, x] - o[1, x]
			}
		}' "$out/before.slabinfo" "$out/held.slabinfo"
fi
echo
awk -F'\t' '$2 ~ /^bytes-per-entry/ { printf "%s: %s %s (target <= 128)\n", $2, $5, $6 }' "$tsv"
echo "VM time of the timed part: $(awk '$1 == "ELAPSED" { print $2 }' "$glog") s"
log "rounds: $tsv; guest output: $out/guest.log"
