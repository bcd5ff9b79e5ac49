#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Build the kernel's own socket selftests (tools/testing/selftests/net of
# Debian's linux-source-6.1) for tests/selftests.sh, which runs them in the
# VM with and without ddemux.
#
#   scripts/build-selftests.sh
#
# Extracts the part of /usr/src/linux-source-6.1.tar.xz the tests need
# into $DDEMUX_CACHE/selftests/src (once per package version), builds the
# programs with the host's gcc, dynamically linked (the guest runs on the
# host's userland), and puts them, with the shell wrappers they run
# under, in $DDEMUX_CACHE/selftests/bin, the directory it prints last.
# Installs the Debian packages it needs when run as root.
set -euo pipefail
# shellcheck source=scripts/lib.sh disable=SC1091
. "$(dirname "$0")/lib.sh"

readonly TARBALL=/usr/src/linux-source-6.1.tar.xz
readonly TOP=linux-source-6.1
readonly BASE=$DDEMUX_CACHE/selftests
readonly SRC=$BASE/src
readonly BIN=$BASE/bin
readonly NET=$SRC/$TOP/tools/testing/selftests/net

# The programs, as the net Makefile builds them (its CFLAGS, its LDLIBS).
readonly PROGS=(
	reuseport_bpf reuseport_bpf_cpu reuseport_bpf_numa reuseport_dualstack
	reuseport_addr_any reuseaddr_conflict reuseaddr_ports_exhausted
	bind_bhash so_netns_cookie sk_bind_sendto_listen nettest
)
# shellcheck disable=SC2054	# -Wl,--no-as-needed is one argument
readonly CFLAGS=(-Wall -Wl,--no-as-needed -O2 -g)
declare -A LDLIBS=([reuseport_bpf_numa]=-lnuma [bind_bhash]=-lpthread)

# Wrappers run from the directory of the programs: *.sh call ./PROG.
# net_helper.sh is what newer fcnal-test.sh versions source.
readonly WRAPPERS=(
	reuseport_addr_any.sh in_netns.sh reuseaddr_ports_exhausted.sh
	bind_bhash.sh fcnal-test.sh net_helper.sh
)

# The uapi headers come from linux-libc-dev (Debian's 6.1 too), not from
# a headers_install of the tree.
need_pkgs gcc libc6-dev linux-libc-dev linux-source-6.1 xz-utils
numa=1
if ! (need_pkgs libnuma-dev); then
	log "libnuma-dev is not installable: reuseport_bpf_numa is not built"
	numa=0
fi

# ---- the sources, once per package version ----------------------------

version=$(dpkg-query -W -f='${Version}' linux-source-6.1)
if [[ ! -f $SRC/.version || $(<"$SRC/.version") != "$version" ]]; then
	log "extracting the net selftests of linux-source-6.1 $version"
	rm -rf "$SRC" "$SRC.tmp"
	mkdir -p "$SRC.tmp"
	tar -C "$SRC.tmp" -xJf "$TARBALL" --wildcards \
		"$TOP/tools/testing/selftests/net/*" \
		"$TOP/tools/testing/selftests/kselftest*.h" \
		"$TOP/tools/testing/selftests/lib.mk"
	echo "$version" >"$SRC.tmp/.version"
	mv "$SRC.tmp" "$SRC"
fi

# ---- the programs -------------------------------------------------------

rm -rf "$BIN.tmp"
mkdir -p "$BIN.tmp"
for prog in "${PROGS[@]}"; do
	if [[ $prog == reuseport_bpf_numa ]] && ((!numa)); then
		continue
	fi
	# LDLIBS: one word or none, by construction.
	# shellcheck disable=SC2086
	gcc "${CFLAGS[@]}" -o "$BIN.tmp/$prog" "$NET/$prog.c" ${LDLIBS[$prog]:-} ||
		die "cannot build $prog"
done
for w in "${WRAPPERS[@]}"; do
	install -m 0755 "$NET/$w" "$BIN.tmp/$w"
done

# Debian's 6.1 fcnal-test.sh (a stable backport) calls slowwait, from
# the upstream selftests' lib.sh, which neither it nor this tree has:
# every kill_procs would print "slowwait: command not found" and skip its
# wait for the killed processes.  tests/selftests.sh puts this directory
# on PATH, which gives it the upstream function as a command.
cat >"$BIN.tmp/slowwait" <<'EOF'
#!/bin/bash
# slowwait SECONDS CMD...: run CMD every 0.1 s until it succeeds or
# SECONDS have passed (upstream tools/testing/selftests/net/lib.sh).
timeout_ms=$(($1 * 1000))
shift
start=$(date +%s%3N)
while true; do
	out=$("$@") && { printf '%s' "$out"; exit 0; }
	if (($(date +%s%3N) - start > timeout_ms)); then
		printf '%s' "$out"
		exit 1
	fi
	sleep 0.1
done
EOF
chmod 0755 "$BIN.tmp/slowwait"
echo "$version" >"$BIN.tmp/.version"

rm -rf "$BIN"
mv "$BIN.tmp" "$BIN"
((numa)) || log "skipped: reuseport_bpf_numa (no libnuma-dev)"
log "built: $(cd "$BIN" && echo ./*)"
echo "$BIN"
