#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Guest-side init for scripts/vm.sh.  Do not run this on the host.
#
# The same file runs twice in every VM:
#
#  stage 1  As /init of the initramfs that vm.sh builds, under busybox.  It
#           loads the few modules needed to reach the host's root filesystem
#           over virtio-9p, stacks a tmpfs-backed overlay on top of it (so
#           the guest can write anywhere without touching the host),
#           prepares the new root completely and switch_root()s into it.
#
#  stage 2  As PID 1 of the new root, under the host's /bin/sh.  It runs the
#           requested command and hands its exit status and the kernel log
#           back to the host before powering the machine off.
#
# The command's output goes to the virtio console, hvc0, which vm.sh saves
# to $OUT/output.log: the serial port (ttyS0) is the kernel's console, but
# it is far too slow for bulk output under TCG (~80 KB/s).
#
# Nearly all the work happens in stage 1 for speed: under TCG every exec()
# of a dynamically linked host binary costs a good fraction of a second,
# while busybox runs its applets in-process.  Mounts made below /newroot
# move along with it, so the result is the same as mounting after the
# switch.
#
# vm.sh exports three 9p shares (mount tags):
#
#   host  the host's /, read-only: the overlay's lower layer.
#   ctl   a per-run scratch directory, holding
#           env     shell assignments: DDEMUX_OUT, DDEMUX_CWD, DDEMUX_HOSTNAME
#                   and DDEMUX_TAG (a random marker written to the kernel
#                   console when the command starts and ends), and
#                   DDEMUX_KMEMLEAK=1 for vm.sh --kmemleak;
#           cmd     "set -- 'arg0' 'arg1' ...", every argument single-quoted;
#         and receiving
#           uptime  the guest's /proc/uptime when the command started;
#           status  the command's exit status;
#           kmemleak-boot, kmemleak
#                   with --kmemleak, the leak reports of the scans before
#                   and after the command.
#   out   the caller's output directory, mounted at the same path as on the
#         host; dmesg.txt is written there.
#
# This must stay POSIX sh: stage 1 runs under busybox ash, stage 2 under
# dash.  No "set -e": if PID 1 exits, the kernel panics, so failures are
# handled explicitly and end in a power-off.

# msize=512000 is the largest payload the virtio transport accepts; the
# default (8 KiB on 6.1) makes every read of the host's files slow.
P9_OPTS=trans=virtio,version=9p2000.L,msize=512000

# Our own state lives on the tmpfs mounted at /run of the new root.
RUNDIR=/run/ddemux
CTL=$RUNDIR/ctl

# A static busybox: the initramfs copy in stage 1, then our copy of that.
BUSYBOX=/bin/busybox

KMEMLEAK=/sys/kernel/debug/kmemleak

PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export PATH

msg() {
	echo "vm-init: $*" >&2
}

# Power the VM off; qemu runs with -no-reboot, so it exits either way.
# A kernel without ACPI cannot power off, only halt: it reboots instead.
poweroff_now() {
	"$BUSYBOX" sync
	[ -d /sys/firmware/acpi ] || "$BUSYBOX" reboot -f
	"$BUSYBOX" poweroff -f
	echo o >/proc/sysrq-trigger
	while :; do sleep 1; done
}

die() {
	msg "FATAL: $*"
	poweroff_now
}

# mnt TYPE DIR OPTIONS [SOURCE]: mount a filesystem, creating DIR.
mnt() {
	mkdir -p "$2" && mount -t "$1" -o "$3" "${4:-$1}" "$2" && return
	msg "cannot mount $1 on $2"
	return 1
}

stage1() {
	"$BUSYBOX" --install -s /bin

	mnt proc /proc nosuid,nodev,noexec
	mnt sysfs /sys nosuid,nodev,noexec
	mnt devtmpfs /dev nosuid,mode=0755

	# vm.sh stored the modules in load order, already decompressed.
	for mod in /modules/*.ko; do
		[ -e "$mod" ] || continue	# none: everything is built in
		insmod "$mod" || die "cannot load $mod"
	done

	# The host root, read-only, under a tmpfs upper layer.  The host
	# is not expected to change it during the run, so let the guest
	# cache it: cache=none makes each exec() noticeably slower.
	mnt 9p /lower "$P9_OPTS,ro,cache=loose" host ||
		die "cannot mount the host root"
	mnt tmpfs /rw mode=0755
	mkdir -p /rw/upper /rw/work
	mnt overlay /newroot lowerdir=/lower,upperdir=/rw/upper,workdir=/rw/work ||
		die "cannot mount the overlay root"

	mnt tmpfs /newroot/run nosuid,nodev,mode=0755
	mnt 9p "/newroot$CTL" "$P9_OPTS" ctl || die "cannot mount the ctl share"
	# shellcheck source=/dev/null
	. "/newroot$CTL/env" || die "cannot read $CTL/env"
	cp /init "/newroot$RUNDIR/init"
	cp "$BUSYBOX" "/newroot$RUNDIR/busybox"

	# Carry the pseudo filesystems over, as util-linux switch_root does,
	# and keep the raw host view reachable.
	for fs in dev proc sys; do
		mount --move "/$fs" "/newroot/$fs"
	done
	mkdir -p "/newroot$RUNDIR/host"
	mount --move /lower "/newroot$RUNDIR/host"

	cd /newroot || die "cannot enter /newroot"
	mnt devpts dev/pts nosuid,noexec,gid=5,mode=0620,ptmxmode=0666
	mnt tmpfs dev/shm nosuid,nodev,mode=1777
	mnt tmpfs tmp nosuid,nodev,mode=1777
	mnt cgroup2 sys/fs/cgroup nosuid,nodev,noexec,nsdelegate
	mnt debugfs sys/kernel/debug nosuid,nodev,noexec
	if [ -d sys/kernel/tracing ]; then
		mnt tracefs sys/kernel/tracing nosuid,nodev,noexec
	fi
	# devtmpfs does not provide these; udev normally creates them.
	ln -sfn /proc/self/fd dev/fd
	ln -sf /proc/self/fd/0 dev/stdin
	ln -sf /proc/self/fd/1 dev/stdout
	ln -sf /proc/self/fd/2 dev/stderr

	# A working directory below /tmp or /run is hidden by the tmpfs
	# mounted there; show the host's copy instead (read-only).
	if [ ! -d "./$DDEMUX_CWD" ] && [ -d ".$RUNDIR/host/$DDEMUX_CWD" ]; then
		mkdir -p "./$DDEMUX_CWD"
		mount --bind ".$RUNDIR/host/$DDEMUX_CWD" "./$DDEMUX_CWD"
	fi
	# The output directory appears at the same path as on the host.
	mnt 9p "./$DDEMUX_OUT" "$P9_OPTS" out ||
		die "cannot mount the output directory"

	hostname "$DDEMUX_HOSTNAME"
	echo "$DDEMUX_HOSTNAME" >etc/hostname
	printf '127.0.1.1\t%s\n' "$DDEMUX_HOSTNAME" >>etc/hosts
	ip link set lo up || msg "cannot bring up lo"

	# The console port appears asynchronously, once the host has
	# answered the driver; usually long before this point.
	n=0
	while [ ! -c dev/hvc0 ]; do
		[ $((n += 1)) -le 100 ] || die "no /dev/hvc0"
		sleep 0.1
	done
	# Keep the output byte-exact: no CR before each LF.
	stty -F dev/hvc0 -opost

	cd / || die "cannot leave /newroot"
	exec switch_root /newroot /bin/sh "$RUNDIR/init" stage2
}

# shellcheck disable=SC2120	# "$@" is set by sourcing $CTL/cmd
stage2() {
	BUSYBOX=$RUNDIR/busybox
	# shellcheck source=/dev/null
	. "$CTL/env" || die "cannot read $CTL/env"
	export HOME=/root LANG=C.UTF-8 TERM=dumb PAGER=cat
	export DDEMUX_VM=1 DDEMUX_OUT

	# Leaks from before the command are the kernel's own: report them
	# apart, then have kmemleak forget them.
	if [ "${DDEMUX_KMEMLEAK-}" = 1 ]; then
		if [ -e "$KMEMLEAK" ]; then
			{ echo scan >"$KMEMLEAK" &&
				cat "$KMEMLEAK" >"$CTL/kmemleak-boot" &&
				echo clear >"$KMEMLEAK"; } ||
				msg "kmemleak: the scan before the command failed"
		else
			msg "no $KMEMLEAK: cannot look for leaks"
			DDEMUX_KMEMLEAK=
		fi
	fi

	read -r uptime _ </proc/uptime
	echo "$uptime" >"$CTL/uptime"
	echo "$DDEMUX_TAG BEGIN"
	# The subshell keeps PID 1 alive whatever the command does; "set --"
	# in $CTL/cmd recreates the caller's argv without quoting loss.
	# shellcheck source=/dev/null
	(cd "$DDEMUX_CWD" && . "$CTL/cmd" && exec "$@") </dev/null >/dev/hvc0 2>&1
	status=$?
	# An object counts as leaked if it is unreferenced in two scans 5 s
	# apart (kmemleak's minimum object age), not only in one.
	if [ "${DDEMUX_KMEMLEAK-}" = 1 ]; then
		{ echo scan >"$KMEMLEAK" && sleep 5 &&
			echo scan >"$KMEMLEAK" &&
			cat "$KMEMLEAK" >"$CTL/kmemleak.tmp" &&
			mv "$CTL/kmemleak.tmp" "$CTL/kmemleak"; } ||
			msg "kmemleak: the scan after the command failed"
	fi
	echo "$DDEMUX_TAG END"

	echo "$status" >"$CTL/status"
	"$BUSYBOX" dmesg >"$DDEMUX_OUT/dmesg.txt"
	poweroff_now
}

case "${1-}" in
stage2)
	# shellcheck disable=SC2119	# see above
	stage2
	;;
*)
	stage1
	;;
esac
