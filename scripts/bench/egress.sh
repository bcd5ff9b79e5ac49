#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# The per-packet cost of rule 3, in the VM: a benchmark, not a test.
#
#   scripts/bench/egress.sh [--kernel 6.1|6.12] [--rounds N] [--seconds S]
#                           [--quick] [--cases LIST] [--configs LIST]
#                           [--smp N] [--icount] [--tsv FILE]
#
#   --kernel K    the Debian kernel the VM boots (default 6.1)
#   --rounds N    rounds (default 7; 2 with --quick)
#   --seconds S   length of one measurement (default 3, 2 with --quick;
#                 1 with --icount)
#   --quick       a short run, about 3 minutes
#   --cases LIST  comma-separated subset of: udp-lo,udp-veth,tcp-rr-lo,
#                 tcp-rr-veth,raw-lo (default: all)
#   --configs LIST  comma-separated, stock first, from stock,ddemux,nft
#                 (the default) and ddemux-noegress (the module loaded
#                 with net.ddemux.egress=0: what it costs besides rule 3)
#   --smp N       guest CPUs (default 1: every process of a measurement
#                 shares one CPU, as everything shares one host thread
#                 under TCG anyway)
#   --icount      the guest's clock counts instructions, 8 ns each (qemu
#                 -icount shift=3 through DDEMUX_ICOUNT=3 for vm.sh)
#                 instead of following the host's: figures no longer
#                 depend on other load on the host (default: the host's)
#   --tsv FILE    raw results (default $DDEMUX_CACHE/bench/results/egress.tsv)
#
# Builds the module, scripts/bench/sendrate.c and scripts/bench/tcprr.c,
# boots the VM once, sets up a veth pair to a second network namespace
# (10.99.0.1/24 here, 10.99.0.2/24 in "peer", static neighbours), and for
# each round measures every case under each configuration (by default
# these three), back to back and in an order rotated from round to round:
#
#   stock   the module not loaded, no ruleset
#   ddemux  the module loaded, net.ddemux.mode=2 (enforce), egress=1,
#           domain=1 (uid), set in both namespaces
#   nft     the module not loaded; an nftables output chain (in both
#           namespaces) doing a per-packet owner check: a set of reserved
#           port ranges and a set of uid . port-range pairs (uid 1000 owns
#           20000-20999, 63 other uids 100 ports each), dropping a TCP or
#           UDP packet whose source port is reserved to another uid
#
# The cases; every sender and server runs as uid 1000 (setpriv), except
# raw-lo's sender, root for CAP_NET_RAW:
#
#   udp-lo       16-byte sendto()s, for S seconds, from an unconnected UDP
#                socket bound to 0.0.0.0:PORT to 127.0.0.1 (pkt/s)
#   udp-veth     the same to 10.99.0.2, over the veth pair (pkt/s)
#   tcp-rr-lo    1-byte request / 1-byte response on one TCP connection,
#                client and server bound to ports of uid 1000 (trans/s)
#   tcp-rr-veth  the same, the server in the peer namespace (trans/s)
#   raw-lo       16-byte UDP datagrams built on a raw socket from port
#                40999, held by no one: ddemux's slow path (pkt/s)
#
# A UDP datagram goes to a socket that never reads and has a small receive
# buffer (in the peer namespace for udp-veth): it crosses the whole
# receive path up to that socket and is dropped there, on the sender's CPU
# (loopback and veth deliver in the sender's softirq), without a reader
# competing for the CPU or ICMP errors coming back.  So pkt/s is the cost
# of one send plus one delivery, the same work in every configuration.
#
# Before the rounds the nft ruleset is checked once: the benchmark's
# packets (UDP and both directions of TCP) pass its owner lookup and are
# accepted, and a datagram of uid 1001 from a port of uid 1000 is dropped.
# Each ddemux measurement checks that egress_checked grew and nothing was
# dropped; each nft measurement that its drop counter stayed 0.
#
# Prints a table per case (median, min-max, and the median per-round ratio
# to stock with its min-max) on stdout, the VM's progress on stderr, and
# writes the TSV (bench case config round value unit).  Under TCG the
# absolute figures are several times a real machine's; compare the
# configurations with each other.  With the host's clock (the default) a
# busy host makes them vary by tens of percent from one measurement to the
# next; --icount makes them repeat to 0.1%, but then they count guest
# instructions (each costing the same), not time.
#
# Time, 2 cores shared with other VMs: 9 to 12 minutes for the default
# run (7 rounds of 3 s) as the host is more or less busy, 2 to 3 for
# --quick, 5 for --icount (7 rounds of 1 s), 2 for --quick --icount.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"

usage() {
	sed -n '4,/^# Builds/{/^# Builds/d;s/^# \{0,1\}//;p}' "$0" >&2
	exit 2
}

all_cases=udp-lo,udp-veth,tcp-rr-lo,tcp-rr-veth,raw-lo
kernel=6.1
rounds=
seconds=
quick=0
cases=$all_cases
all_configs=stock,ddemux,nft,ddemux-noegress
configs=stock,ddemux,nft
smp=1
icount=
tsv=$DDEMUX_CACHE/bench/results/egress.tsv
while (($#)); do
	case $1 in
	--kernel) kernel=${2:?}; shift ;;
	--rounds) rounds=${2:?}; shift ;;
	--seconds) seconds=${2:?}; shift ;;
	--quick) quick=1 ;;
	--cases) cases=${2:?}; shift ;;
	--smp) smp=${2:?}; shift ;;
	--configs) configs=${2:?}; shift ;;
	--icount) icount=3 ;;
	--tsv) tsv=${2:?}; shift ;;
	-h | --help) usage ;;
	*) echo "egress.sh: unknown argument $1" >&2; usage ;;
	esac
	shift
done
# Under --icount the figures do not vary: a second is enough.
((quick)) && : "${rounds:=2}" "${seconds:=${icount:+1}}" "${seconds:=2}"
: "${rounds:=7}" "${seconds:=${icount:+1}}" "${seconds:=3}"
[[ $rounds =~ ^[1-9][0-9]*$ ]] || die "--rounds: a positive number"
[[ $seconds =~ ^[1-9][0-9]*$ ]] || die "--seconds: a positive number"
[[ $smp =~ ^[1-9][0-9]*$ ]] || die "--smp: a positive number"
IFS=, read -ra case_list <<<"$cases"
((${#case_list[@]})) || die "--cases: empty"
for c in "${case_list[@]}"; do
	[[ ,$all_cases, == *,"$c",* ]] || die "unknown case $c (known: $all_cases)"
done
IFS=, read -ra config_list <<<"$configs"
[[ ${config_list[0]:-} == stock ]] || die "--configs: stock first"
for c in "${config_list[@]}"; do
	[[ ,$all_configs, == *,"$c",* ]] ||
		die "unknown config $c (known: $all_configs)"
done

need_pkgs nftables iproute2 util-linux gcc make python3-minimal
release=$(release_of "$kernel") || die "no $kernel kernel installed"
work=$DDEMUX_CACHE/bench/egress
rm -rf "$work/mod"
mkdir -p "$work/mod" "$(dirname "$tsv")"
cp "$DDEMUX_ROOT"/{Kbuild,Kconfig,Makefile,VERSION,*.c,*.h} "$work/mod/"
make -s -C "/usr/src/linux-headers-$release" M="$work/mod" modules >/dev/null
for p in sendrate tcprr; do
	gcc -O2 -Wall -Wextra -o "$work/$p" "$DDEMUX_ROOT/scripts/bench/$p.c"
done

# The nftables ruleset of the nft configuration.
{
	echo 'table inet ddemux_bench {'
	echo '	set reserved {'
	echo '		type inet_service; flags interval'
	echo '		elements = { 20000-27299 }'
	echo '	}'
	echo '	set owned {'
	echo '		type uid . inet_service; flags interval'
	printf '		elements = { 1000 . 20000-20999'
	for i in $(seq 0 62); do
		printf ',\n\t\t\t%d . %d-%d' $((1001 + i)) $((21000 + 100 * i)) \
			$((21099 + 100 * i))
	done
	echo ' }'
	echo '	}'
	echo '	chain output {'
	echo '		type filter hook output priority filter; policy accept;'
	echo '		meta l4proto { tcp, udp } th sport @reserved meta skuid . th sport != @owned counter drop'
	echo '	}'
	echo '}'
} >"$work/owner.nft"

cat >"$work/guest.sh" <<'GUEST'
# The guest side: bash guest.sh WORK ROUNDS SECONDS CASES CONFIGS
set -euo pipefail
shopt -s inherit_errexit
W=$1 ROUNDS=$2 SECS=$3
read -ra CASES <<<"${4//,/ }"
B=/tmp/egress-bench
U="setpriv --reuid 1000 --regid 1000 --clear-groups"
PEER="ip netns exec peer"
read -ra CONFIGS <<<"${5//,/ }"

mkdir -p $B
cp "$W/sendrate" "$W/tcprr" "$W/owner.nft" $B/
chmod -R a+rX $B

ip netns add peer
ip link add veth0 type veth peer name veth1 netns peer
ip addr add 10.99.0.1/24 dev veth0
ip link set veth0 up
$PEER ip addr add 10.99.0.2/24 dev veth1
$PEER ip link set veth1 up
$PEER ip link set lo up
ip neigh replace 10.99.0.2 dev veth0 nud permanent \
	lladdr "$($PEER cat /sys/class/net/veth1/address)"
$PEER ip neigh replace 10.99.0.1 dev veth1 nud permanent \
	lladdr "$(cat /sys/class/net/veth0/address)"

fail() { echo "FAIL $*" >&2; exit 1; }

# Process starts are slow under TCG (a fifth of a second each): the
# helpers below read /proc with builtins where they can.

# wait_udp PID PORT: until PID (in its namespace) has a UDP socket on PORT.
wait_udp() {
	local n=0 hex l
	printf -v hex %04X "$2"
	while :; do
		while read -r _ l _; do
			[[ $l == *:$hex ]] && return 0
		done </proc/"$1"/net/udp
		n=$((n + 1))
		[ $n -le 100 ] || fail "nothing bound on UDP port $2"
		sleep 0.05
	done
}

stat_of() { # NAME: the initial namespace's ddemux counter
	local k v
	while read -r k v; do
		[ "$k" = "$1" ] && echo "$v" && return 0
	done </proc/net/ddemux/stats
	fail "no ddemux counter $1"
}

nft_drops() { # the drop counter in the output of "nft list chain"
	sed -n 's/.*counter packets \([0-9]*\) .* drop$/\1/p'
}

setup() {
	local e=1
	case $1 in
	ddemux*)
		[ "$1" = ddemux ] || e=0
		insmod "$W/mod/ddemux.ko" mode=2 egress=$e domain=1
		sysctl -q -w net.ddemux.mode=2 net.ddemux.egress=$e \
			net.ddemux.domain=1
		$PEER sysctl -q -w net.ddemux.mode=2 net.ddemux.egress=$e \
			net.ddemux.domain=1
		[ "$(stat_of egress_hook_errors)" = 0 ] ||
			fail "ddemux egress hooks missing" ;;
	nft)
		nft -f $B/owner.nft
		$PEER nft -f $B/owner.nft ;;
	esac
}

# teardown CONFIG: undo setup, failing if the configuration dropped any
# of the benchmark's packets or (ddemux) did not look at them.
teardown() {
	local d
	case $1 in
	ddemux)
		[ "$(stat_of egress_checked)" -gt "$before" ] ||
			fail "ddemux checked no packet"
		[ "$(stat_of egress_dropped)" = 0 ] ||
			fail "ddemux dropped the benchmark's packets"
		rmmod ddemux ;;
	ddemux-noegress)
		rmmod ddemux ;;
	nft)
		for ns in "" "$PEER"; do
			d=$($ns nft list chain inet ddemux_bench output | nft_drops)
			[ "$d" = 0 ] || fail "nft dropped the benchmark's packets"
			$ns nft delete table inet ddemux_bench
		done ;;
	esac
}

# measure CASE K: run the K-th measurement, print its value and unit.
measure() {
	local sp cp pid v unit=pkt/s
	sp=$((20000 + $2 % 450))
	cp=$((20500 + $2 % 450))
	case $1 in
	udp-lo | raw-lo)
		$U $B/sendrate sink 127.0.0.1 $sp &
		pid=$!
		wait_udp $pid $sp
		if [ "$1" = udp-lo ]; then
			v=$($U $B/sendrate udp 0.0.0.0 $cp 127.0.0.1 $sp "$SECS")
		else
			v=$($B/sendrate raw 127.0.0.1 $sp "$SECS")
		fi
		kill $pid
		wait $pid || true ;;
	udp-veth)
		$PEER $U $B/sendrate sink 10.99.0.2 $sp &
		pid=$!
		wait_udp $pid $sp
		v=$($U $B/sendrate udp 0.0.0.0 $cp 10.99.0.2 $sp "$SECS")
		kill $pid
		wait $pid || true ;;
	tcp-rr-lo)
		unit=trans/s
		$U $B/tcprr server 127.0.0.1 $sp &
		pid=$!
		v=$($U $B/tcprr client 127.0.0.1 $cp 127.0.0.1 $sp "$SECS")
		wait $pid ;;
	tcp-rr-veth)
		unit=trans/s
		$PEER $U $B/tcprr server 10.99.0.2 $sp &
		pid=$!
		v=$($U $B/tcprr client 10.99.0.1 $cp 10.99.0.2 $sp "$SECS")
		wait $pid ;;
	esac
	echo "$v $unit"
}

# The nft ruleset, once: the benchmark's packets are looked up and
# accepted, a foreign sender's dropped.
nft -f $B/owner.nft
nft add rule inet ddemux_bench output meta l4proto '{ tcp, udp }' \
	th sport @reserved meta skuid . th sport @owned counter
SECS=1 measure udp-lo 0 >/dev/null
SECS=1 measure tcp-rr-lo 1 >/dev/null
ok=$(nft list chain inet ddemux_bench output |
	sed -n '/!= @owned/!s/.*@owned counter packets \([0-9]*\) .*/\1/p')
[ "$(nft list chain inet ddemux_bench output | nft_drops)" = 0 ] ||
	fail "nft dropped the benchmark's packets"
[ "${ok:-0}" -gt 1000 ] || fail "nft did not look up the benchmark's packets"
$U $B/sendrate sink 127.0.0.1 20999 &
pid=$!
wait_udp $pid 20999
if setpriv --reuid 1001 --regid 1001 --clear-groups \
	$B/sendrate udp 0.0.0.0 20998 127.0.0.1 20999 1 2>/dev/null; then
	fail "nft let uid 1001 send from a port of uid 1000"
fi
kill $pid
wait $pid || true
[ "$(nft list chain inet ddemux_bench output | nft_drops)" -ge 1 ] ||
	fail "nft did not count the foreign drop"
echo "# nft check: $ok benchmark packets accepted by the owner lookup, a foreign one dropped"
nft delete table inet ddemux_bench

k=1
for r in $(seq "$ROUNDS"); do
	for c in "${CASES[@]}"; do
		for i in "${!CONFIGS[@]}"; do
			cfg=${CONFIGS[$(((r - 1 + i) % ${#CONFIGS[@]}))]}
			k=$((k + 1))
			setup $cfg
			if [ $cfg = ddemux ]; then
				before=$(stat_of egress_checked)
			fi
			out=$(measure $c $k)
			teardown $cfg
			echo "RESULT $c $cfg $r $out"
		done
	done
	echo "# round $r done, ${SECONDS}s into the run"
done
echo "# done"
GUEST

timeout=$((120 + rounds * ${#case_list[@]} * ${#config_list[@]} * (seconds + 10)))
log "$rounds rounds of ${case_list[*]}, $seconds s each, on $release" \
	"(smp $smp, clock ${icount:+icount shift=}${icount:-wall})"
raw=$work/guest.log
if ! DDEMUX_ICOUNT=$icount "$DDEMUX_ROOT/scripts/vm.sh" --kernel "$release" \
	--smp "$smp" --timeout "$timeout" -- bash "$work/guest.sh" "$work" \
	"$rounds" "$seconds" "$cases" "$configs" | sed -u 's/\r$//' | tee "$raw" >&2; then
	die "the VM run failed; its output is in $raw"
fi
grep -q '^# done$' "$raw" || die "the guest did not finish; see $raw"

{
	printf 'bench\tcase\tconfig\tround\tvalue\tunit\n'
	awk '$1 == "RESULT" { printf "egress\t%s\t%s\t%s\t%s\t%s\n", $2, $3, $4, $5, $6 }' "$raw"
} >"$tsv"
log "raw results in $tsv"

echo "egress: $rounds rounds of $seconds s on $release, smp $smp," \
	"clock ${icount:+icount shift=}${icount:-wall}"
/usr/bin/python3 - "$tsv" "$configs" <<'PY'
import collections
import csv
import statistics
import sys

rows = list(csv.DictReader(open(sys.argv[1]), delimiter="\t"))
configs = sys.argv[2].split(",")
val = collections.defaultdict(dict)
units = {}
for r in rows:
    val[(r["case"], r["config"])][int(r["round"])] = float(r["value"])
    units[r["case"]] = r["unit"]


def spread(xs, fmt):
    return "%s (%s-%s)" % (fmt % statistics.median(xs), fmt % min(xs),
                           fmt % max(xs))


head = ["case", "unit"] + configs + ["%s/stock" % c for c in configs[1:]]
table = [head]
short = []
for case in dict.fromkeys(r["case"] for r in rows):
    line = [case, units[case]]
    line += [spread(list(val[(case, c)].values()), "%.0f")
             if val[(case, c)] else "-" for c in configs]
    for c in configs[1:]:
        st, v = val[(case, "stock")], val[(case, c)]
        ratios = [v[i] / st[i] for i in v if i in st and st[i]]
        line.append(spread(ratios, "%.3f") if ratios else "-")
        if c == "ddemux" and ratios and statistics.median(ratios) < 0.98:
            short.append("%s %.3f" % (case, statistics.median(ratios)))
    table.append(line)
width = [max(len(line[i]) for line in table) for i in range(len(head))]
for line in table:
    print("  ".join(x.ljust(w) for x, w in zip(line, width)).rstrip())
if "ddemux" in configs:
    print("target ddemux/stock >= 0.98: %s" % (
        "met in every case" if not short else
        "NOT met: " + ", ".join(short)))
PY
