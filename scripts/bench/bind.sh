#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# The cost of a port claim, in the VM: a benchmark, not a test.
#
#   scripts/bench/bind.sh [--kernel 6.1|6.12] [--rounds N] [--quick]
#                         [--secs S] [--sizes N,N,...] [--icount]
#                         [--smp N] [--mem MB] [--tsv FILE]
#
# Builds the module, scripts/bench/bindrate.c and the cgroup BPF program
# scripts/bench/bind_deny.bpf.c, and boots the VM once.  For each size
# (default 0,10000,100000) a holder process running as uid 1001 opens
# that many sockets, half TCP and half UDP, each bound to its own
# 127.0.0.X:port (ports 1024-32767 on 127.0.0.2, then 127.0.0.3, ...),
# and keeps them open; then for N rounds (default 5) three configurations
# are measured back to back, their order rotating from round to round:
#
#   stock   the module not loaded
#   ddemux  the module loaded (enforce; it registers the holder's sockets
#           at load, which is checked in /proc/net/ddemux/stats), then 5 s
#           for its tables to finish growing to them (rhashtable resizes
#           run in a worker, which slowed the first case after a load of
#           200k sockets to half its rate)
#   bpf     the module not loaded; bind_deny.bpf.c attached to the root
#           cgroup as bind4 and bind6, with the rules "allow 1024-32767,
#           deny any" (what systemd's SocketBindAllow=/SocketBindDeny=
#           loads); checked once to refuse a bind to port 40000 with EPERM
#
# and in each, as uid 1000, for S seconds (default 2, --quick 0.5) each:
#
#   bind-close-tcp     socket(); bind(127.0.0.1:P); close() -- P cycles
#                      through 3000-3999, explicit free ports that the
#                      holder holds on other addresses (so ddemux walks
#                      another domain's entries on the port)
#   bind-close-udp     the same, UDP
#   connect-close-udp  socket(); connect(127.0.0.1:9) on an unbound UDP
#                      socket: the kernel picks a port (autobind); close().
#                      The bind4 program does not run on this path (a
#                      cgroup connect4 program would): bpf only shows the
#                      cost of a program being attached elsewhere.
#   accept-tcp         a listener of uid 1000 on 127.0.0.1:4000; each
#                      operation connects to it (autobind), accepts the
#                      connection and closes both.  For a size N above 0 a
#                      second holder of uid 1001 keeps N TCP sockets bound
#                      to port 4000 on other addresses (127.0.3.232, ...),
#                      so the port holds N other-address sockets of
#                      another user (accept-tcp-0 is the empty port).
#   bind-close-tcp-held  socket(); bind(127.0.0.1:4000); close(): a bind on
#                      that port (bind-close-tcp-held-0: the empty port)
#
# Prints the median ops/s of each case and configuration, the spread
# (min-max) and the median (min-max) of the per-round ratio to stock, and
# writes every measurement to FILE (default
# $DDEMUX_CACHE/bench/results/bind.tsv) as "bench case config round value
# unit".  Under TCG the absolute figures are several times a real
# machine's; compare the ratios.  --smp defaults to 1 (steadier figures).
#
# --icount runs the guest with qemu's instruction counter as its clock
# (DDEMUX_ICOUNT=3 for vm.sh: 8 ns an instruction), so "ops/s" become
# operations per 125 million guest instructions: repeatable to well under
# 1% whatever else the host runs, but blind to cache and memory costs
# (which TCG does not model faithfully anyway).  Without it the guest's
# clock is the host's, and a busy host shows in the figures.
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/../lib.sh"

usage() {
	sed -n '3,/^set -euo/{/^set/d;s/^# \{0,1\}//;p}' "$0" >&2
	exit "$1"
}

kernel=6.1
rounds=5
secs=
quick=0
sizes=0,10000,100000
smp=1
mem=2048
icount=
tsv=$DDEMUX_CACHE/bench/results/bind.tsv
while (($#)); do
	case $1 in
	--kernel) kernel=${2:?}; shift ;;
	--rounds) rounds=${2:?}; shift ;;
	--secs) secs=${2:?}; shift ;;
	--sizes) sizes=${2:?}; shift ;;
	--smp) smp=${2:?}; shift ;;
	--mem) mem=${2:?}; shift ;;
	--tsv) tsv=${2:?}; shift ;;
	--quick) quick=1 ;;
	--icount) icount=3 ;;
	-h | --help) usage 0 ;;
	*) usage 2 ;;
	esac
	shift
done
if [[ -z $secs ]]; then
	secs=2
	((!quick)) || secs=0.5
fi
[[ $rounds =~ ^[1-9][0-9]*$ ]] || die "bad --rounds: $rounds"
[[ $secs =~ ^[0-9]*\.?[0-9]+$ ]] || die "bad --secs: $secs"
[[ $sizes =~ ^[0-9]+(,[0-9]+)*$ ]] || die "bad --sizes: $sizes"

need_pkgs gcc make clang bpftool libbpf-dev
release=$(release_of "$kernel") || die "no $kernel kernel installed"
work=$DDEMUX_CACHE/bench/bind
rm -rf "$work"
mkdir -p "$work/mod" "$(dirname "$tsv")"
cp "$DDEMUX_ROOT"/{Kbuild,Kconfig,Makefile,VERSION,*.c,*.h} "$work/mod/"
make -s -C "/usr/src/linux-headers-$release" M="$work/mod" modules >/dev/null
gcc -O2 -Wall -Wextra -o "$work/bindrate" "$DDEMUX_ROOT/scripts/bench/bindrate.c"
clang -target bpf -O2 -g -Wall -I"/usr/include/$(gcc -print-multiarch)" \
	-c "$DDEMUX_ROOT/scripts/bench/bind_deny.bpf.c" -o "$work/bind_deny.bpf.o"

# The guest runs under dash; every exec of a host binary costs a good
# fraction of a second under TCG, so it sticks to builtins in the loops.
cat >"$work/guest.sh" <<GUEST
set -eu
B=$work/bindrate
CASES="bind-close-tcp bind-close-udp connect-close-udp accept-tcp bind-close-tcp-held"
PIN=/sys/fs/bpf/ddb
[ "\$(cat /proc/sys/fs/file-max)" -ge 1048576 ] ||
	echo 1048576 >/proc/sys/fs/file-max
mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf
bpftool prog loadall $work/bind_deny.bpf.o \$PIN pinmaps \$PIN/maps
# rules: {family u32, nr_ports u16, port_min u16, action u32}, little endian
# allow 1024-32767 (1024 + 31744 ports), then deny any
bpftool map update pinned \$PIN/maps/rules key 0 0 0 0 \\
	value 0 0 0 0 0x00 0x7c 0x00 0x04 1 0 0 0
bpftool map update pinned \$PIN/maps/rules key 1 0 0 0 \\
	value 0 0 0 0 0 0 0 0 2 0 0 0
bpf() {
	for t in bind4 bind6; do
		bpftool cgroup \$1 /sys/fs/cgroup \$t pinned \$PIN/ddb_\$t
	done
}
bpf attach
echo "bpf-check \$(\$B probe 1000 40000) (want EPERM)"
echo "bpf-check \$(\$B probe 1000 3000) (want 0)"
bpf detach
echo "stock-check \$(\$B probe 1000 40000) (want 0)"

stats() {
	out=
	while read -r k v; do
		case \$k in
		registry_entries | enumerated | binds_checked | binds_vetoed | \\
		registry_full | registry_nomem | overlaps_observed)
			out="\$out \$k=\$v" ;;
		esac
	done </proc/net/ddemux/stats
	echo "\$out"
}

mkfifo /tmp/holder
for n in $(tr , ' ' <<<"$sizes"); do
	\$B hold 1001 \$((n / 2)) \$((n - n / 2)) >/tmp/holder &
	hp=\$!
	line=
	read -r line </tmp/holder || true
	[ -n "\$line" ] || { echo "holder of \$n sockets failed"; exit 1; }
	echo "size \$n: holder uid 1001 \$line"
	hp2=
	if [ "\$n" -gt 0 ]; then
		\$B holdport 1001 \$n 4000 >/tmp/holder &
		hp2=\$!
		line=
		read -r line </tmp/holder || true
		[ -n "\$line" ] || { echo "port holder of \$n sockets failed"; exit 1; }
		echo "size \$n: holder uid 1001 \$line"
	fi
	for r in \$(seq $rounds); do
		case \$(((r - 1) % 3)) in
		0) order="stock ddemux bpf" ;;
		1) order="ddemux bpf stock" ;;
		*) order="bpf stock ddemux" ;;
		esac
		for cfg in \$order; do
			case \$cfg in
			ddemux)
				insmod $work/mod/ddemux.ko
				# the tables grow to the sockets found at
				# load in a worker (rhashtable resizes), and
				# that work would fall on the first case
				sleep 5
				echo "registry size=\$n round=\$r:\$(stats)" ;;
			bpf) bpf attach ;;
			esac
			res=\$(\$B run 1000 $secs 3000 3999 \$CASES)
			printf '%s\n' "\$res" | while read -r c v; do
				echo "R \$n \$r \$cfg \$c \$v"
			done
			case \$cfg in
			ddemux)
				echo "after size=\$n round=\$r:\$(stats)"
				rmmod ddemux ;;
			bpf) bpf detach ;;
			esac
		done
	done
	kill \$hp \$hp2
	{ wait \$hp \$hp2; } 2>/dev/null || true
done
echo "bench done"
GUEST

log "bind benchmark on $release: sizes $sizes, $rounds rounds, ${secs}s a case, smp $smp, clock ${icount:+icount shift=}${icount:-wall}"
start=$SECONDS
status=0
DDEMUX_ICOUNT=$icount "$DDEMUX_ROOT/scripts/vm.sh" --kernel "$release" --smp "$smp" --mem "$mem" \
	--timeout 3600 --out "$work/vm" -- sh "$work/guest.sh" |
	tr -d '\r' | tee "$work/output.txt" >&2 || status=$?
if ((status != 0)) || ! grep -q '^bench done' "$work/output.txt"; then
	die "the VM run failed (status $status): see $work/vm/output.log"
fi
grep -q '^bpf-check probe 40000 tcp=EPERM udp=EPERM' "$work/output.txt" ||
	log "caution: the BPF program did not refuse port 40000 with EPERM"
log "VM run took $((SECONDS - start)) s"

awk -v tsv="$tsv" '
function label(n) { return (n >= 1000 && n % 1000 == 0) ? n / 1000 "k" : n }
function stats(s,   a, n, i, j, t) {
	n = split(s, a, " ")
	for (i = 1; i <= n; i++)
		for (j = i + 1; j <= n; j++)
			if (a[j] + 0 < a[i] + 0) { t = a[i]; a[i] = a[j]; a[j] = t }
	med = (n % 2) ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
	lo = a[1]; hi = a[n]
	return n
}
BEGIN { print "bench\tcase\tconfig\tround\tvalue\tunit" > tsv }
$1 == "R" {
	c = $5 "-" label($2)
	if (!(c in seen)) { seen[c] = 1; cases[++nc] = c }
	printf "bind\t%s\t%s\t%d\t%s\tops/s\n", c, $4, $3, $6 > tsv
	v[c, $4] = v[c, $4] " " $6
	x[c, $4, $3] = $6
	if ($3 > maxr) maxr = $3
}
/^(bpf|stock)-check / { checks = checks "\n  " $0 }
/^registry size=/ {
	sub(/^registry /, "")
	split($1, a, "="); n = a[2]
	for (i = 2; i <= NF; i++) {
		split($i, a, "=")
		if (a[1] == "registry_entries" && !(n in ent))
			sizes[++ns] = n
		if (a[1] == "registry_entries" && (!(n in ent) || a[2] < ent[n]))
			ent[n] = a[2]
		if (a[1] == "enumerated")
			enu[n] = a[2]
	}
}
END {
	printf "%-24s %-7s %24s %24s\n", "case", "config", "ops/s median (min-max)",
	       "vs stock median (min-max)"
	for (i = 1; i <= nc; i++) {
		c = cases[i]
		for (k = 1; k <= 3; k++) {
			g = k == 1 ? "stock" : k == 2 ? "ddemux" : "bpf"
			if (!stats(v[c, g]))
				continue
			m = sprintf("%d (%d-%d)", med, lo, hi)
			r = ""
			if (g != "stock") {
				s = ""
				for (j = 1; j <= maxr; j++)
					if (x[c, g, j] != "" && x[c, "stock", j] > 0)
						s = s " " x[c, g, j] / x[c, "stock", j]
				if (stats(s))
					r = sprintf("%.3f (%.3f-%.3f)", med, lo, hi)
			}
			printf "%-24s %-7s %24s %24s\n", c, g, m, r
		}
	}
	printf "\nregistry with ddemux loaded (fewest of the rounds):\n"
	for (i = 1; i <= ns; i++) {
		n = sizes[i]
		printf "  %d sockets held: %d entries, %d registered at load%s\n",
		       n, ent[n], enu[n], ent[n] < n ? "  <-- fewer than held" : ""
	}
	printf "checks:%s\n", checks
}' "$work/output.txt"
log "raw results in $tsv"
