#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# The kernel's own socket selftests (tools/testing/selftests/net of Debian's
# linux-source-6.1, built by scripts/build-selftests.sh), run as root INSIDE
# the VM, with or without ddemux.  ddemux only refuses binds across
# security domains, so every test that binds from one uid must give exactly
# stock Linux's result; the one test that binds from two euids on purpose
# is expected to change, and that change is checked (see below).
#
#   scripts/vm.sh -- tests/selftests.sh --stock DIR
#   scripts/vm.sh -- sh -c 'insmod ddemux.ko && tests/selftests.sh DIR'
#
# Options:
#   --stock    stock expectations; ddemux must not be loaded
#              (same as DDEMUX_SELFTESTS_EXPECT=stock)
#   --ddemux   ddemux expectations, the default: ddemux must be loaded,
#              in enforce mode (net.ddemux.mode=2) and with the default
#              domain (uid)
#   -v         show the output of every test, not only of failures
#
# Environment:
#   DDEMUX_SELFTESTS_EXPECT  stock or ddemux (the options win)
#   SELFTESTS_ONLY           space-separated names: run only these
#   SELFTESTS_TIMEOUT        seconds per test (default 900)
#   SELFTESTS_LOGS           directory for one log per test (default
#                            $DDEMUX_OUT/selftests, else a mktemp -d)
#
# One line per test, "selftest NAME: PASS|FAIL|SKIP (details)", then
# "selftests: N passed, N failed, N skipped".  Exit status 0 when nothing
# failed, 1 when something did, 2 on a usage or setup error.
#
# Under ddemux, each test also counts the veto, audit and overlap lines
# ddemux logged meanwhile: a single-uid test that makes ddemux intervene
# at all fails, whatever its own verdict.
set -euo pipefail

PROG=${0##*/}
expect=${DDEMUX_SELFTESTS_EXPECT:-ddemux}
verbose=0
timeout_s=${SELFTESTS_TIMEOUT:-900}

usage() {
	sed -n '/^# The kernel/,/^# "selftests:/{ s/^# \{0,1\}//; p; }' "$0"
}

die() {
	echo "$PROG: $*" >&2
	exit 2
}

while (($#)); do
	case $1 in
	--stock) expect=stock ;;
	--ddemux) expect=ddemux ;;
	-v) verbose=1 ;;
	-h | --help)
		usage
		exit 0
		;;
	--)
		shift
		break
		;;
	-*) die "unknown option $1 (see --help)" ;;
	*) break ;;
	esac
	shift
done
(($# == 1)) || die "usage: $PROG [--stock|--ddemux] [-v] DIR"
DIR=$(cd "$1" && pwd -P) || die "no directory $1"
[[ -x $DIR/nettest ]] || die "$DIR holds no selftests (run scripts/build-selftests.sh)"
[[ $(id -u) == 0 ]] || die "must run as root (in the VM: scripts/vm.sh)"
[[ $timeout_s =~ ^[1-9][0-9]*$ ]] || die "bad SELFTESTS_TIMEOUT: $timeout_s"

case $expect in
stock)
	[[ ! -e /sys/module/ddemux ]] ||
		die "--stock: ddemux is loaded (rmmod ddemux first)"
	;;
ddemux)
	[[ -r /proc/net/ddemux/stats ]] ||
		die "ddemux is not loaded (insmod ddemux.ko, or pass --stock)"
	[[ $(</proc/sys/net/ddemux/mode) == 2 ]] ||
		die "net.ddemux.mode is $(</proc/sys/net/ddemux/mode), not 2 (enforce)"
	[[ $(</proc/sys/net/ddemux/domain) == 1 ]] ||
		die "net.ddemux.domain is $(</proc/sys/net/ddemux/domain), not 1 (uid)"
	;;
*) die "DDEMUX_SELFTESTS_EXPECT must be stock or ddemux, not $expect" ;;
esac

LOGS=${SELFTESTS_LOGS:-}
if [[ -z $LOGS ]]; then
	if [[ -n ${DDEMUX_OUT:-} && -d ${DDEMUX_OUT:-} ]]; then
		LOGS=$DDEMUX_OUT/selftests
	else
		LOGS=$(mktemp -d)
	fi
fi
mkdir -p "$LOGS"

# The wrappers call ./PROG; fcnal-test.sh finds nettest and slowwait on
# PATH.
cd "$DIR"
export PATH=$DIR:$PATH

passed=0
failed=0
skipped=0
note=
ddemux_lines=
ddemux_checked=0

# What ddemux logs when it refuses, audits or notices an overlap.
readonly DDEMUX_LOG_RE='ddemux: (deny|audit|overlap) '

# ddemux_stat NETNS NAME: a counter of /proc/net/ddemux/stats in NETNS
# ("" for this one).
ddemux_stat() {
	local ns=$1 name=$2
	if [[ -n $ns ]]; then
		ip netns exec "$ns" cat /proc/net/ddemux/stats
	else
		cat /proc/net/ddemux/stats
	fi | awk -v k="$name" '$1 == k { print $2 }'
}

# ---- running one test ----------------------------------------------------

# run NAME CMD...: run CMD (a program or one of the functions below) in
# $DIR with the timeout, its output (stdout and stderr) in $LOGS/NAME.log.
# Sets $rc, $secs and $log, clears $note, and under ddemux sets
# $ddemux_lines, the ddemux log lines the kernel printed meanwhile, and
# $ddemux_checked, how many binds ddemux judged in this namespace (tests
# that make their own namespaces are not counted).
run() {
	local name=$1 start mark= checked=0
	shift
	log=$LOGS/$name.log
	mkdir -p "$(dirname "$log")"
	note=
	if [[ $expect == ddemux ]]; then
		# a line count stops growing once the ring buffer is full
		mark="ddemux-selftest-mark $$.$RANDOM.$(date +%s%N)"
		echo "$mark" >/dev/kmsg
		checked=$(ddemux_stat "" binds_checked)
	fi
	start=$(date +%s%N)
	rc=0
	if declare -F "$1" >/dev/null; then
		timeout -k 10 "$timeout_s" bash -c '"$@"' run "$@" \
			>"$log" 2>&1 </dev/null || rc=$?
	else
		timeout -k 10 "$timeout_s" "$@" >"$log" 2>&1 </dev/null || rc=$?
	fi
	secs=$((($(date +%s%N) - start) / 1000000))
	secs=$((secs / 1000)).$((secs % 1000 / 100))
	ddemux_lines=
	ddemux_checked=0
	if [[ $expect == ddemux ]]; then
		ddemux_lines=$(dmesg | awk -v m="$mark" \
			'{ l[NR] = $0 } index($0, m) { s = NR }
			 END { for (i = s + 1; i <= NR; i++) print l[i] }' |
			grep -E "$DDEMUX_LOG_RE" || true)
		ddemux_checked=$(($(ddemux_stat "" binds_checked) - checked))
	fi
	((verbose)) && sed "s/^/    | /" "$log"
	return 0
}

# report NAME PASS|FAIL|SKIP DETAILS: the result line, and the count.
report() {
	local name=$1 result=$2 details=$3

	case $result in
	PASS) passed=$((passed + 1)) ;;
	FAIL) failed=$((failed + 1)) ;;
	SKIP) skipped=$((skipped + 1)) ;;
	esac
	if ((ddemux_checked > 0)); then
		details+="; ddemux judged $ddemux_checked binds"
	fi
	echo "selftest $name: $result (${note:+$note; }$details)"
	if [[ $result == FAIL ]] && ((!verbose)); then
		tail -n 25 "$log" | sed 's/^/    | /'
		if [[ -n $ddemux_lines ]]; then
			while IFS= read -r line; do
				echo "    dmesg| $line"
			done <<<"$ddemux_lines"
		fi
	fi
}

# verdict NAME [--rc N] [CHECK...]: report the exit status of the last
# run: N (default 0) is PASS if every CHECK (a function, which sets $why
# when it fails) succeeds too, 4 (kselftest's skip) is SKIP, anything else
# FAIL.  Under ddemux, any ddemux log line left in $ddemux_lines fails a
# test that passes otherwise: single-uid tests must not meet ddemux at
# all.
verdict() {
	local name=$1 want=0 check
	shift
	if [[ ${1-} == --rc ]]; then
		want=$2
		shift 2
	fi

	if ((rc == 124 || rc == 137)); then
		report "$name" FAIL "timed out after ${timeout_s}s"
		return
	fi
	if ((rc == 4 && want != 4)); then
		report "$name" SKIP "$(grep -v '^\s*$' "$log" | tail -n 1); ${secs}s"
		return
	fi
	if ((rc != want)); then
		report "$name" FAIL "exit $rc, expected $want; ${secs}s"
		return
	fi
	for check; do
		if ! "$check"; then
			report "$name" FAIL "exit $rc, but $why; ${secs}s"
			return
		fi
	done
	if [[ -n $ddemux_lines ]]; then
		report "$name" FAIL "passed, but ddemux logged $(wc -l <<<"$ddemux_lines") deny/audit/overlap lines; ${secs}s"
		return
	fi
	report "$name" PASS "${secs}s"
}

# selected NAME: whether SELFTESTS_ONLY lets NAME run.
selected() {
	[[ -z ${SELFTESTS_ONLY:-} ]] && return 0
	[[ " $SELFTESTS_ONLY " == *" $1 "* ]]
}

# simple NAME CMD...: a test whose exit status is its verdict.
simple() {
	local name=$1
	shift
	selected "$name" || return 0
	if [[ ! -x $DIR/$name ]]; then
		ddemux_lines=''
		ddemux_checked=0
		log=/dev/null
		report "$name" SKIP "not built: see scripts/build-selftests.sh"
		return
	fi
	run "$name" "$@"
	verdict "$name"
}

# ---- the tests -------------------------------------------------------------

# The reuseport tests bind many sockets of one uid to one port, in this
# namespace (reuseport_addr_any.sh: in a fresh one).
simple reuseport_bpf ./reuseport_bpf
simple reuseport_bpf_cpu ./reuseport_bpf_cpu
# With one NUMA node (the VM), a single socket per protocol.
simple reuseport_bpf_numa ./reuseport_bpf_numa
simple reuseport_dualstack ./reuseport_dualstack
simple reuseport_addr_any ./reuseport_addr_any.sh
simple reuseaddr_conflict ./reuseaddr_conflict
simple so_netns_cookie ./so_netns_cookie
simple sk_bind_sendto_listen ./sk_bind_sendto_listen

# -- reuseaddr_ports_exhausted ---------------------------------------------
#
# Three kselftest-harness tests in a namespace whose only ephemeral port is
# 32768, with net.ipv4.ip_autobind_reuse=1.  Each pair of TCP sockets
# autobinds (bind to 127.0.0.1:0) with various SO_REUSEADDR/SO_REUSEPORT
# settings:
#   1 reuseaddr_ports_exhausted_unreusable         one uid (root)
#   2 reuseaddr_ports_exhausted_reusable_same_euid one uid (root)
#   3 reuseaddr_ports_exhausted_reusable_different_euid: socket 0 created
#     under euid 10, socket 1 under euid 20, both SO_REUSEADDR; stock lets
#     socket 1 share 127.0.0.1:32768 ("one socket can be bound in each
#     euid"), and only refuses the second listen().
# Test 3 is exactly the cross-uid overlap ddemux exists to refuse, so under
# ddemux its four second binds fail (autobind finds no port that euid 10
# does not hold: EADDRINUSE) and the test reports failure; 1 and 2 must
# pass unchanged.

readonly RPE_T3=reuseaddr_ports_exhausted_reusable_different_euid
readonly RPE_T3_MSG='should succeed to bind because one socket can be bound in each euid'

# Stock: every harness test passed.
rpe_stock_ok() {
	why="the harness did not report 3 passes"
	[[ $(grep -cE '^ok [1-3] ' "$log") == 3 ]]
}

# ddemux: tests 1 and 2 passed, test 3 failed, and only because its four
# second binds failed (not at the listen() checks, nor an ASSERT).
rpe_ddemux_ok() {
	local n
	why="tests 1 or 2 did not pass"
	grep -qE '^ok 1 .*reuseaddr_ports_exhausted_unreusable$' "$log" || return 1
	grep -qE '^ok 2 .*reuseaddr_ports_exhausted_reusable_same_euid$' "$log" || return 1
	why="test 3 did not fail"
	grep -qE "^not ok 3 .*$RPE_T3\$" "$log" || return 1
	n=$(grep -c "$RPE_T3_MSG" "$log" || true)
	why="test 3 reported $n failed second binds, not 4"
	((n == 4)) || return 1
	why="test 3 failed at another check"
	! grep -E "^# .*:$RPE_T3:" "$log" | grep -v "$RPE_T3_MSG" |
		grep -qvE 'Expected -1 \(-1\) != fd\[1\] \(-1\)'
}

# ddemux: its log lines name euid 20 against euid 10, and nobody else.
rpe_vetoes_ok() {
	why="no ddemux deny line for euid 20 against euid 10"
	grep -q 'deny autobind.* uid=20 .*holder_uid=10 ' <<<"$ddemux_lines" ||
		return 1
	why="ddemux logged lines other than euid 20 against euid 10"
	! grep -v ' uid=20 .*holder_uid=10 ' <<<"$ddemux_lines" | grep -q . ||
		return 1
	ddemux_lines=	# all expected
}

if selected reuseaddr_ports_exhausted; then
	run reuseaddr_ports_exhausted ./reuseaddr_ports_exhausted.sh
	if [[ $expect == stock ]]; then
		verdict reuseaddr_ports_exhausted rpe_stock_ok
	else
		# Expected change: test 3 binds from euids 10 and 20 on purpose, an overlap ddemux refuses.
		note="expected under ddemux: tests 1-2 pass, test 3 fails its 4 cross-euid binds"
		verdict reuseaddr_ports_exhausted --rc 1 rpe_ddemux_ok rpe_vetoes_ok
	fi
fi

# The cross-euid autobind of test 3 again, checking the errno and the
# counter: in a namespace set up like reuseaddr_ports_exhausted.sh's,
# socket 0 (euid 10) and socket 1 (euid 20) bind 127.0.0.1:0 with
# SO_REUSEADDR, in each SO_REUSEPORT combination.  Stock: socket 1 gets
# port 32768 too.  ddemux: bind() fails with EADDRINUSE, binds_vetoed of
# the namespace grows.
rpe_cross_euid() {
	local ns=ddemux-rpe-$$ before=0 after=0 out=0
	ip netns add "$ns" || return 1
	ip -netns "$ns" link set lo up
	ip netns exec "$ns" sysctl -qw net.ipv4.ip_local_port_range="32768 32768"
	ip netns exec "$ns" sysctl -qw net.ipv4.ip_autobind_reuse=1
	[[ $expect == ddemux ]] && before=$(ddemux_stat "$ns" binds_vetoed)
	ip netns exec "$ns" python3 - "$expect" <<-'EOF' || out=$?
	import errno, os, socket, sys
	expect = sys.argv[1]
	bad = 0
	for rp0, rp1 in ((0, 0), (0, 1), (1, 0), (1, 1)):
	    socks, got = [], []
	    for euid, rp in ((10, rp0), (20, rp1)):
	        os.seteuid(euid)
	        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
	        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
	        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, rp)
	        try:
	            s.bind(("127.0.0.1", 0))
	            got.append(s.getsockname()[1])
	        except OSError as e:
	            got.append(errno.errorcode.get(e.errno, e.errno))
	        os.seteuid(0)
	        socks.append(s)
	    want = [32768, 32768 if expect == "stock" else "EADDRINUSE"]
	    bad += got != want
	    print("SO_REUSEPORT %d/%d: bind as euid 10 -> %s, as euid 20 -> %s"
	          " (want %s): %s" % (rp0, rp1, got[0], got[1], want[1],
	                              "ok" if got == want else "WRONG"))
	    for s in socks:
	        s.close()
	sys.exit(1 if bad else 0)
	EOF
	if [[ $expect == ddemux ]]; then
		after=$(ddemux_stat "$ns" binds_vetoed)
		echo "binds_vetoed in the namespace: $before -> $after"
		((after > before)) || { echo "binds_vetoed did not grow"; out=1; }
	fi
	ip netns del "$ns"
	return "$out"
}
export -f rpe_cross_euid ddemux_stat
export expect

if selected reuseaddr_ports_exhausted; then
	run reuseaddr_ports_exhausted/cross-euid rpe_cross_euid
	if [[ $expect == stock ]]; then
		note="stock: euid 20 shares euid 10's port"
		verdict reuseaddr_ports_exhausted/cross-euid
	else
		note="expected under ddemux: EADDRINUSE, binds_vetoed grew"
		verdict reuseaddr_ports_exhausted/cross-euid rpe_vetoes_ok
	fi
fi

# -- bind_bhash ------------------------------------------------------------
#
# 24000 SO_REUSEPORT sockets of one uid (600 threads x 40) on [::1]:443 or
# 127.0.0.1:443 behind a listener, then a timed bind to the same port on
# another address (bind_bhash.sh adds it).  The script puts the IPv6
# address on eth0, which the VM lacks: run it in a namespace with a dummy
# eth0.  The program exits 0 even when a bind fails, so the verdict also
# needs its "time spent" line and no perror() line.
bhash_ok() {
	why="the final bind did not happen (no 'time spent' line)"
	grep -q '^time spent = ' "$log" || return 1
	why="a bind or setup step failed"
	! grep -qiE 'fail|error|answers' "$log"
}

bhash() {
	local ns=ddemux-bhash-$$ out=0
	ip netns add "$ns" || return 1
	ip -netns "$ns" link set lo up
	ip -netns "$ns" link add eth0 type dummy
	ip -netns "$ns" link set eth0 up
	ip netns exec "$ns" ./bind_bhash.sh "$@" || out=$?
	ip netns del "$ns"
	return "$out"
}
export -f bhash

for fam in 6 4; do
	name=bind_bhash/ipv$fam
	selected bind_bhash || selected "$name" || continue
	run "$name" bhash "-$fam"
	verdict "$name" bhash_ok
done

# -- fcnal-test.sh: the address-bind sections -----------------------------
#
# -t ipv4_bind and -t ipv6_bind (ipv4_addr_bind, ipv6_addr_bind): raw, TCP
# and ping-socket binds to local, nonlocal, broadcast, multicast and out of
# scope addresses, with and without a VRF and a device binding, in two
# namespaces joined by a veth pair.  nettest runs as root throughout.
fcnal_ok() {
	local bad
	bad=$(grep -c '\[FAIL\]' "$log" || true)
	why="$bad [FAIL] lines"
	((bad == 0)) || return 1
	why="no 'Tests failed:   0' line"
	grep -qE '^Tests failed: +0$' "$log"
}

for t in ipv4_bind ipv6_bind; do
	name=fcnal-test/$t
	selected fcnal-test || selected "$name" || continue
	run "$name" ./fcnal-test.sh -t "$t"
	note="$(grep -c '\[ OK \]' "$log" || true) checks ok"
	verdict "$name" fcnal_ok
done

if [[ $expect == ddemux ]]; then
	echo "ddemux, this namespace: $(tr '\n' ' ' </proc/net/ddemux/stats)"
fi
echo "selftests: $passed passed, $failed failed, $skipped skipped"
echo "(expectations: $expect; logs: $LOGS)"
((failed == 0))
